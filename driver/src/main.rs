//! `secbench-driver`: the Lambda function a run inside AWS runs on (`scripts/template.yaml`'s
//! `DriverFunction`, invoked by the run's state machine). Each event is a
//! [`secbench::in_aws::driver::Request`]; the work is the library's
//! ([`secbench::in_aws::driver::handle`]), the same runner code `secbench run` runs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use secbench::in_aws::driver::{handle, DriverEnv, Request};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = DriverEnv::from_env().await;
    let env = &env;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        let deadline = UNIX_EPOCH.checked_add(Duration::from_millis(event.context.deadline));
        let deadline = deadline.filter(|d| *d > SystemTime::now());
        let response = handle(env, event.payload, deadline).await?;
        Ok::<serde_json::Value, Error>(serde_json::to_value(response)?)
    }))
    .await
}
