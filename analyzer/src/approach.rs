//! An approach: a source × a cache mode × when it fetches × how the environments start. The
//! one list of the approaches secbench prices and plots, their names, and the approach a
//! measured group belongs to.

use crate::group::GroupKey;
use secbench_record::{CacheMode, ConcurrencyMode, FetchAt, Runtime, Source};

/// One way to get secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Approach {
    /// Source.
    pub source: Source,
    /// Cache mode in the function.
    pub cache: CacheMode,
    /// When it fetches.
    pub fetch_at: FetchAt,
    /// How its environments start: on demand, or provisioned ahead (for a fetch at INIT, whose
    /// cold fetch provisioned concurrency takes out of the invocations' way).
    pub concurrency: ConcurrencyMode,
    /// The runtime the function is written for (its SDK, its caching library, its INIT).
    pub runtime: Runtime,
    /// The TTL cache coalesces concurrent misses into one fetch (single flight): what an
    /// environment serving many invocations at once (Managed Instances) needs.
    pub single_flight: bool,
}

impl Approach {
    /// Every approach the model prices, the plaintext baseline first.
    pub fn all() -> Vec<Approach> {
        use CacheMode as C;
        use FetchAt as A;
        use Source as S;
        let a = |source, cache, fetch_at| Approach {
            source,
            cache,
            fetch_at,
            concurrency: ConcurrencyMode::OnDemand,
            runtime: Runtime::Rust,
            single_flight: false,
        };
        let mut v = vec![a(S::PlainEnv, C::None, A::Handler)];
        for s in [S::KmsEnv, S::Ssm, S::SecretsManager] {
            v.push(a(s, C::None, A::Handler));
            v.push(a(s, C::Ttl, A::Handler));
            if s == S::SecretsManager {
                v.push(a(s, C::AwsCachingLibrary, A::Handler));
            }
            v.push(a(s, C::None, A::Init));
        }
        v.push(a(S::AgentSecretsManager, C::None, A::Handler));
        v.push(a(S::AgentSsm, C::None, A::Handler));
        // Provisioned concurrency, for the fetches at INIT it takes out of the invocations' way
        // (placed last, so every other approach keeps its colour).
        for s in [S::KmsEnv, S::Ssm, S::SecretsManager] {
            v.push(Approach {
                concurrency: ConcurrencyMode::Provisioned,
                ..a(s, C::None, A::Init)
            });
        }
        v
    }

    /// The approach of a measured group, when its records named one. Groups that read several
    /// secrets per fetch are not one of these approaches (they are compared by mode and count).
    pub fn of(key: &GroupKey) -> Option<Approach> {
        if key.multi.is_some() {
            return None;
        }
        Some(Approach {
            source: key.source?,
            cache: key.cache?,
            fetch_at: key.fetch_at?,
            concurrency: key.concurrency,
            runtime: key.runtime,
            single_flight: key.single_flight,
        })
    }

    /// The approach's name in every output: `source`, `source+cache` or `source@init`, and
    /// `+provisioned` for provisioned concurrency; in another runtime than Rust, the runtime
    /// in brackets (`ssm+powertools [python3.13]`).
    pub fn name(&self) -> String {
        match self.runtime {
            Runtime::Rust => self.rust_name(),
            r => format!("{} [{r}]", self.rust_name()),
        }
    }

    /// The same approach in the Rust probe (what keeps its colour: one colour per approach,
    /// the runtimes of one approach told apart by line style).
    pub fn in_rust(&self) -> Approach {
        Approach {
            runtime: Runtime::Rust,
            ..*self
        }
    }

    /// The same approach on demand (Managed Instances' and SnapStart's rows take their
    /// on-demand twin's colour; `@restore` has none and keeps its own).
    pub fn on_demand(&self) -> Approach {
        match self.concurrency {
            ConcurrencyMode::SnapStart if self.fetch_at == FetchAt::Restore => *self,
            ConcurrencyMode::ManagedInstances | ConcurrencyMode::SnapStart => Approach {
                concurrency: ConcurrencyMode::OnDemand,
                single_flight: false,
                ..*self
            },
            _ => *self,
        }
    }

    fn rust_name(&self) -> String {
        let base = match (self.cache, self.fetch_at) {
            (CacheMode::None, FetchAt::Handler) => self.source.as_str().to_owned(),
            (CacheMode::None, at) => format!("{}@{at}", self.source),
            (c, FetchAt::Handler) => format!("{}+{}", self.source, c),
            (c, at) => format!("{}+{}@{at}", self.source, c),
        };
        let base = if self.single_flight {
            format!("{base}+single-flight")
        } else {
            base
        };
        match self.concurrency {
            ConcurrencyMode::OnDemand => base,
            ConcurrencyMode::Provisioned => format!("{base}+provisioned"),
            ConcurrencyMode::ManagedInstances => format!("{base}+lmi"),
            ConcurrencyMode::SnapStart => format!("{base}+snapstart"),
        }
    }

    /// Parses a name made by [`Approach::name`].
    pub fn parse(name: &str) -> Option<Approach> {
        let (base, runtime) = match name.strip_suffix(']').and_then(|n| n.rsplit_once(" [")) {
            Some((base, r)) => (base, r.parse().ok()?),
            None => (name, Runtime::Rust),
        };
        let (base, concurrency) = match (base.strip_suffix("+lmi"), base.strip_suffix("+snapstart"))
        {
            (Some(b), _) => (b, Some(ConcurrencyMode::ManagedInstances)),
            (None, Some(b)) => (b, Some(ConcurrencyMode::SnapStart)),
            (None, None) => (base, None),
        };
        let (base, single_flight) = match base.strip_suffix("+single-flight") {
            Some(b) if concurrency.is_some() => (b, true),
            _ => (base, false),
        };
        Approach::all()
            .into_iter()
            .chain(Approach::other_runtimes())
            .find(|a| a.rust_name() == base)
            .map(|a| Approach {
                runtime,
                concurrency: concurrency.unwrap_or(a.concurrency),
                single_flight,
                ..a
            })
    }

    /// Its place in [`Approach::all`] (what keeps its colour in every chart); an approach in
    /// another runtime takes its Rust twin's place, or one after the list for the caches only
    /// those runtimes have.
    pub fn index(&self) -> Option<usize> {
        let rust = self.on_demand().in_rust();
        Approach::all().iter().position(|a| *a == rust).or_else(|| {
            Approach::other_runtimes()
                .iter()
                .position(|a| a.in_rust() == rust)
                .map(|i| Approach::all().len() + i)
        })
    }

    /// The approaches only the Node.js and Python probes have (Powertools' cache), in Rust's
    /// clothes (their runtime is set by the group measured).
    /// and the fetch in SnapStart's after-restore hook (`@restore`, Python's).
    fn other_runtimes() -> Vec<Approach> {
        let powertools = [Source::Ssm, Source::SecretsManager]
            .into_iter()
            .map(|source| Approach {
                source,
                cache: CacheMode::Powertools,
                fetch_at: FetchAt::Handler,
                concurrency: ConcurrencyMode::OnDemand,
                runtime: Runtime::Rust,
                single_flight: false,
            });
        let restore = [Source::KmsEnv, Source::Ssm, Source::SecretsManager]
            .into_iter()
            .map(|source| Approach {
                source,
                cache: CacheMode::None,
                fetch_at: FetchAt::Restore,
                concurrency: ConcurrencyMode::SnapStart,
                runtime: Runtime::Rust,
                single_flight: false,
            });
        powertools.chain(restore).collect()
    }

    /// The uncached approach of the same service (whose warm fetch is a cache miss here).
    pub fn miss_twin(&self) -> Approach {
        let source = match self.source {
            Source::AgentSecretsManager => Source::SecretsManager,
            Source::AgentSsm => Source::Ssm,
            s => s,
        };
        Approach {
            source,
            cache: CacheMode::None,
            fetch_at: FetchAt::Handler,
            concurrency: match self.concurrency {
                ConcurrencyMode::ManagedInstances => ConcurrencyMode::ManagedInstances,
                _ => ConcurrencyMode::OnDemand,
            },
            runtime: self.runtime,
            single_flight: false,
        }
    }
}

/// What bounds how long an approach can serve a value after it changed. The one rule the
/// staleness analysis and the cost model's "longest possible staleness" share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StalenessBound {
    /// Every fetch asks the service: the next fetch gets the new value (the service's own
    /// consistency lag aside).
    NextFetch,
    /// The probe's cache (in-process TTL or the caching library) serves it until its TTL.
    CacheTtl,
    /// The agent serves it until its TTL (the extension takes at most 300 s).
    AgentTtl,
    /// The probe's own TTL cache in front of the agent: the probe can keep a value the agent
    /// served just before its TTL ran out for its own whole TTL, so the worst case is the sum.
    AgentAndCacheTtl,
    /// Fetched once at INIT and kept: stale until the environment is retired.
    EnvironmentLifetime,
    /// SnapStart: fetched once at INIT, into the version's snapshot, and served by every
    /// environment restored from it: stale until the version is republished (a new snapshot).
    VersionLifetime,
    /// The value is in the function's configuration: a rotation is a configuration change,
    /// which retires every environment (its cost is the forced cold starts).
    ConfigurationChange,
}

impl StalenessBound {
    /// The longest a value can be served after it changed, for a TTL and an environment
    /// lifetime.
    pub fn longest(
        self,
        ttl: std::time::Duration,
        lifetime: std::time::Duration,
    ) -> std::time::Duration {
        match self {
            StalenessBound::NextFetch | StalenessBound::ConfigurationChange => {
                std::time::Duration::ZERO
            }
            StalenessBound::CacheTtl => ttl,
            StalenessBound::AgentTtl => ttl.min(secbench_record::plan::AGENT_MAX_TTL),
            StalenessBound::AgentAndCacheTtl => ttl + ttl.min(secbench_record::plan::AGENT_MAX_TTL),
            StalenessBound::EnvironmentLifetime => lifetime,
            // At least an environment's life (a restore made just before the version goes
            // serves the frozen value for its own life too); the version's own life is the
            // team's release cadence, which the workload does not set.
            StalenessBound::VersionLifetime => lifetime,
        }
    }

    /// In words, for tables.
    pub fn describe(self) -> &'static str {
        match self {
            StalenessBound::NextFetch => "next fetch",
            StalenessBound::CacheTtl => "cache TTL",
            StalenessBound::AgentTtl => "agent TTL",
            StalenessBound::AgentAndCacheTtl => "agent TTL + cache TTL",
            StalenessBound::EnvironmentLifetime => "environment lifetime",
            StalenessBound::VersionLifetime => "version lifetime (SnapStart's snapshot)",
            StalenessBound::ConfigurationChange => "configuration change (retires environments)",
        }
    }
}

impl Approach {
    /// What bounds its staleness after a rotation.
    pub fn staleness_bound(&self) -> StalenessBound {
        match (self.source, self.cache, self.fetch_at) {
            (Source::PlainEnv | Source::KmsEnv, _, _) => StalenessBound::ConfigurationChange,
            (s, CacheMode::Ttl | CacheMode::AwsCachingLibrary | CacheMode::Powertools, _)
                if s.is_agent() =>
            {
                StalenessBound::AgentAndCacheTtl
            }
            (s, _, _) if s.is_agent() => StalenessBound::AgentTtl,
            (_, CacheMode::Ttl | CacheMode::AwsCachingLibrary | CacheMode::Powertools, _) => {
                StalenessBound::CacheTtl
            }
            // SnapStart: INIT's value is in the snapshot, every restore's until the version goes.
            (_, CacheMode::None, FetchAt::Init)
                if self.concurrency == ConcurrencyMode::SnapStart =>
            {
                StalenessBound::VersionLifetime
            }
            (_, CacheMode::None, FetchAt::Init | FetchAt::Restore) => {
                StalenessBound::EnvironmentLifetime
            }
            (_, CacheMode::None, FetchAt::Handler) => StalenessBound::NextFetch,
        }
    }
}

/// Every output writes an approach by its name.
impl std::fmt::Display for Approach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl serde::Serialize for Approach {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The name of a group's approach (with its cold-start remedy, if any: `ssm (prewarm
/// entropy)`), or its scenario's name when its records named none.
pub fn name_of(key: &GroupKey) -> String {
    match (Approach::of(key), key.remedy()) {
        (Some(a), None) => a.name(),
        (Some(a), Some(r)) => format!("{} ({r})", a.name()),
        (None, _) => key.scenario.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let all = Approach::all();
        for a in &all {
            assert_eq!(Approach::parse(&a.name()), Some(*a));
        }
        let mut names: Vec<String> = all.iter().map(Approach::name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(all[0].name(), "plain-env");
        assert!(names.contains(&"secrets-manager+aws-caching-library".to_owned()));
        assert!(names.contains(&"ssm@init".to_owned()));
    }
}
