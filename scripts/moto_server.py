"""Starts moto (the AWS API emulator) on 127.0.0.1 and prints `READY <endpoint>` once it
answers. With --until-stdin-closes it stops when its standard input reaches EOF, so an
emulator started by a test or by `secbench local` never outlives the process that started it.

moto 5.2 does not serve Lambda's provisioned-concurrency calls, which the runner makes on AWS
for a `concurrency_mode = "provisioned"` scenario: this launcher adds them, as the Lambda API
reference describes them (`Put`, `Get` and `DeleteProvisionedConcurrencyConfig` on
`/2019-09-30/functions/{FunctionName}/provisioned-concurrency?Qualifier=...`; moto runs no
code, so a config is `READY` at once).

moto 5.x executes Step Functions state machines with its ASL interpreter when its config says
so (`{"stepfunctions": {"execute_state_machine": true}}` posted to `/moto-api/config`); the
interpreter invokes a Lambda task through boto3 at moto's own endpoint, where moto's Lambda runs
no code without Docker. This launcher routes those invocations elsewhere when the config names
an endpoint (`{"lambda": {"use_docker": false, "secbench_invoke_endpoint": URL}}`): the local
Lambda platform running the driver of a run inside AWS (secbench's `in-aws` tests). Everything
else the interpreter calls (S3 for a Distributed Map's items, Step Functions for its child
executions) stays on moto, whose port it is told (MOTO_PORT). And it keeps a stopped execution
stopped: moto 5.2.5's interpreter fails an execution stopped while a Map state iterates (the
Map reads the stop's details as a failure's and its error replaces the stop), where
StopExecution makes it ABORTED on AWS. moto's request recorder (`/moto-api/recorder/`, which the
tests use to check the order of the runner's calls) records them like any call; each server
records into a file of its own: the one its caller names in MOTO_RECORDER_FILEPATH (and removes),
else one in a folder made here and removed when it stops.

Usage: .venv/bin/python scripts/moto_server.py [--port N] [--until-stdin-closes]
"""
import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import threading
import urllib.request
from datetime import datetime, timezone
from urllib.parse import unquote

# Read by moto's recorder when it is imported: one file per server, not one shared in the
# working directory. A caller that names the file (the local stage does, in a folder it removes)
# gets no folder from here: one made here is removed at exit, which a SIGKILL never reaches.
if "MOTO_RECORDER_FILEPATH" not in os.environ:
    _RECORDING_DIR = tempfile.mkdtemp(prefix="secbench-moto-recording-")
    atexit.register(shutil.rmtree, _RECORDING_DIR, ignore_errors=True)
    os.environ["MOTO_RECORDER_FILEPATH"] = os.path.join(_RECORDING_DIR, "recording.jsonl")

from moto.awslambda import urls as lambda_urls  # noqa: E402 - after the recorder setting
from moto.awslambda.responses import LambdaResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

_PROVISIONED = {}
_LOCK = threading.Lock()


def _provisioned_key(response):
    function = unquote(response.path.split("/")[-2])
    return function.split(":function:")[-1], response.querystring.get("Qualifier", [""])[0]


def _answer(status, body, headers=None):
    # moto takes the status from the headers' "status", not from the tuple's first element.
    return status, {**(headers or {}), "status": status}, body


def _not_found(qualifier):
    body = {"Type": "User", "message": f"No Provisioned Concurrency Config found for this function: {qualifier}"}
    return _answer(404, json.dumps(body), {"x-amzn-errortype": "ProvisionedConcurrencyConfigNotFoundException"})


def put_provisioned_concurrency_config(self):
    function, qualifier = _provisioned_key(self)
    self.backend.get_function(function, qualifier)  # 404 for an unknown function or qualifier
    requested = json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions", 0)
    config = {
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": requested,
        "AllocatedProvisionedConcurrentExecutions": requested,
        "Status": "READY",
        "LastModified": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }
    with _LOCK:
        _PROVISIONED[(function, qualifier)] = config
    return _answer(202, json.dumps(config))


def get_provisioned_concurrency_config(self):
    function, qualifier = _provisioned_key(self)
    with _LOCK:
        config = _PROVISIONED.get((function, qualifier))
    return _answer(200, json.dumps(config)) if config else _not_found(qualifier)


def delete_provisioned_concurrency_config(self):
    function, qualifier = _provisioned_key(self)
    with _LOCK:
        config = _PROVISIONED.pop((function, qualifier), None)
    return _answer(204, "") if config else _not_found(qualifier)


def route_state_machine_lambda_tasks():
    """Sends the ASL interpreter's Lambda invocations to the endpoint moto's config names."""
    from botocore.config import Config
    import boto3
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for

    def boto_client_for(region, service, state_credentials=None):
        endpoint = default_user_config.get("lambda", {}).get("secbench_invoke_endpoint")
        if service != "lambda" or not endpoint:
            return original(region, service, state_credentials)
        return boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # pragma: allowlist secret
            # One attempt (the state machine's Retry decides), and a slice's whole time.
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=10,
                read_timeout=900,
            ),
        )

    lambda_eval_utils.boto_client_for = boto_client_for


def keep_stopped_executions_stopped():
    """An error raised while a stopped execution unwinds does not turn it from ABORTED into
    FAILED (the Step Functions API reference: StopExecution aborts the execution)."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    set_error = Environment.set_error

    def set_error_unless_stopped(self, error):
        if isinstance(self._program_state, ProgramStopped):  # noqa: SLF001 - moto's own state
            return None
        return set_error(self, error)

    Environment.set_error = set_error_unless_stopped


def add_provisioned_concurrency():
    pattern = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency$"
    lambda_urls.url_paths[pattern] = LambdaResponse.dispatch
    LambdaResponse.put_provisioned_concurrency_config = put_provisioned_concurrency_config
    LambdaResponse.get_provisioned_concurrency_config = get_provisioned_concurrency_config
    LambdaResponse.delete_provisioned_concurrency_config = delete_provisioned_concurrency_config


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args()

    add_provisioned_concurrency()
    route_state_machine_lambda_tasks()
    keep_stopped_executions_stopped()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # The ASL interpreter reaches moto itself (S3, child executions) at localhost:MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    endpoint = f"http://{host}:{port}"
    # Answering HTTP, not just bound: ask moto for its own state.
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=30) as response:
        response.read()
    print(f"READY {endpoint}", flush=True)
    try:
        if args.until_stdin_closes:
            sys.stdin.read()
        else:
            server._thread.join()  # noqa: SLF001 - serve until killed
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
