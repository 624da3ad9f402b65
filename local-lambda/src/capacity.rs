//! Lambda Managed Instances' configuration as the local platform keeps it: a function's
//! `CapacityProviderConfig` (what an `UpdateFunctionConfiguration` does to it) and where a
//! managed-instances version's environments stand. Plain data: [`crate::managed`] acts on it.

/// The environments a managed-instances version starts with when no scaling config says
/// otherwise. AWS starts three (one per Availability Zone); the local stage, on one machine,
/// starts one so that the plan's concurrency meets one environment.
pub(crate) const ENVIRONMENTS_AT_PUBLISH: u32 = 1;

/// A function's `LambdaManagedInstancesCapacityProviderConfig`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ManagedInstances {
    /// `CapacityProviderArn`.
    pub(crate) capacity_provider_arn: String,
    /// `PerExecutionEnvironmentMaxConcurrency` and `ExecutionEnvironmentMemoryGiBPerVCpu`.
    pub(crate) shape: secbench_record::lambda::ManagedInstances,
}

/// What an `UpdateFunctionConfiguration` does to the capacity provider config.
pub(crate) enum Change {
    /// Leaves it (the body does not name it).
    Keep,
    /// Sets it.
    Set(ManagedInstances),
    /// Removes it: `"CapacityProviderConfig": {}`. On AWS a function stays on (or off) a
    /// capacity provider for its life (the template makes a function of each kind); the local
    /// platform's one function takes this so that the scenarios after a managed-instances one
    /// run on demand again.
    Clear,
}

impl ManagedInstances {
    /// Reads `CapacityProviderConfig` from an `UpdateFunctionConfiguration` body.
    pub(crate) fn from_request(request: &serde_json::Value) -> Result<Change, String> {
        use secbench_record::lambda::{MANAGED_MAX_CONCURRENCY, MANAGED_MEMORY_GIB_PER_VCPU};
        let Some(config) = request.get("CapacityProviderConfig") else {
            return Ok(Change::Keep);
        };
        let Some(lmi) = config.get("LambdaManagedInstancesCapacityProviderConfig") else {
            return Ok(Change::Clear);
        };
        let arn = lmi["CapacityProviderArn"]
            .as_str()
            .filter(|a| a.contains(":capacity-provider:"))
            .ok_or("CapacityProviderArn must be a capacity provider's ARN")?;
        let max_concurrency = match lmi.get("PerExecutionEnvironmentMaxConcurrency") {
            None => {
                return Err("the local platform needs PerExecutionEnvironmentMaxConcurrency (AWS's default depends on the runtime)".into())
            }
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| MANAGED_MAX_CONCURRENCY.contains(n))
                .ok_or("PerExecutionEnvironmentMaxConcurrency must be between 1 and 1600")?,
        };
        let memory_gib_per_vcpu = match lmi.get("ExecutionEnvironmentMemoryGiBPerVCpu") {
            None => *MANAGED_MEMORY_GIB_PER_VCPU.start(),
            Some(v) => v
                .as_f64()
                .filter(|r| MANAGED_MEMORY_GIB_PER_VCPU.contains(r))
                .ok_or("ExecutionEnvironmentMemoryGiBPerVCpu must be between 2.0 and 8.0")?,
        };
        Ok(Change::Set(ManagedInstances {
            capacity_provider_arn: arn.to_owned(),
            shape: secbench_record::lambda::ManagedInstances {
                max_concurrency,
                memory_gib_per_vcpu,
            },
        }))
    }

    /// `CapacityProviderConfig` as `GetFunctionConfiguration` returns it.
    pub(crate) fn document(&self) -> serde_json::Value {
        serde_json::json!({
            "LambdaManagedInstancesCapacityProviderConfig": {
                "CapacityProviderArn": self.capacity_provider_arn,
                "PerExecutionEnvironmentMaxConcurrency": self.shape.max_concurrency,
                "ExecutionEnvironmentMemoryGiBPerVCpu": self.shape.memory_gib_per_vcpu,
            }
        })
    }

    /// The vCPUs an environment of `memory_mb` gets.
    pub(crate) fn vcpus(&self, memory_mb: u32) -> f64 {
        self.shape.vcpus(memory_mb)
    }

    /// `PerExecutionEnvironmentMaxConcurrency`.
    pub(crate) fn max_concurrency(&self) -> u32 {
        self.shape.max_concurrency
    }
}

/// A managed-instances version's environments: asked for, initialised, and why not.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionEnvironments {
    /// `MinExecutionEnvironments` (or [`ENVIRONMENTS_AT_PUBLISH`]).
    pub(crate) wanted: u32,
    /// `MaxExecutionEnvironments` as asked (reported, not otherwise used).
    pub(crate) max: Option<u32>,
    /// Initialised and serving.
    pub(crate) ready: u32,
    /// Why one did not start.
    pub(crate) failure: Option<String>,
}

impl VersionEnvironments {
    /// The version's `State` and `StateReason`.
    pub(crate) fn state(&self) -> (&'static str, Option<&str>) {
        match (&self.failure, self.ready >= self.wanted) {
            (Some(reason), _) => ("Failed", Some(reason.as_str())),
            (None, true) => ("Active", None),
            (None, false) => ("Pending", None),
        }
    }
}
