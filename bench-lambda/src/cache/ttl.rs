//! The in-process TTL cache (like Powertools' `max_age`): an entry younger than the TTL is
//! served without calling AWS; an older one is fetched again. With a stale bound
//! (`ignore_transient_errors`), a refresh that fails with a transient error serves the value
//! held, if it is younger than the bound, and the entry is fresh for another TTL, as the
//! caching library re-ups an entry it serves through a transient error. With single flight,
//! the fetches of an environment that serves several invocations at once take turns at a
//! refresh lock ([`TtlCache::refresh_lock`]): the first fetches, the others find its value.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<V> {
    /// A fresh entry.
    Hit(V),
    /// An entry older than the TTL.
    Expired,
    /// No entry.
    Missing,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    /// When the value was fetched (its age, which the stale bound limits).
    fetched: Instant,
    /// When it was last fetched or served through a failed refresh (the TTL runs from here).
    fresh_from: Instant,
}

/// A map from secret id to value with a time to live.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    max_stale: Option<Duration>,
    entries: RwLock<HashMap<String, Entry<V>>>,
    /// Single flight: held by the one fetch of a miss while the others wait.
    single_flight: Option<tokio::sync::Mutex<()>>,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache that fails closed (a failed refresh is an error).
    pub fn new(ttl: Duration) -> TtlCache<V> {
        TtlCache {
            ttl,
            max_stale: None,
            entries: RwLock::new(HashMap::new()),
            single_flight: None,
        }
    }

    /// The same cache coalescing concurrent misses into one fetch when `on`.
    pub fn single_flight(mut self, on: bool) -> TtlCache<V> {
        self.single_flight = on.then(|| tokio::sync::Mutex::new(()));
        self
    }

    /// With single flight, the lock a miss holds while it fetches (look the key up again once
    /// it is held: the fetch before may have filled it); `None` without.
    pub async fn refresh_lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.single_flight {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// The same cache serving a value up to `max_stale` old through a transient failure
    /// (`None`: fail closed).
    pub fn serving_stale(mut self, max_stale: Option<Duration>) -> TtlCache<V> {
        self.max_stale = max_stale;
        self
    }

    /// The configured TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Looks `key` up as of `now`.
    pub fn get(&self, key: &str, now: Instant) -> Lookup<V> {
        let entries = match self.entries.read() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        match entries.get(key) {
            Some(e) if now.saturating_duration_since(e.fresh_from) < self.ttl => {
                Lookup::Hit(e.value.clone())
            }
            Some(_) => Lookup::Expired,
            None => Lookup::Missing,
        }
    }

    /// Stores `value` as fetched at `now`.
    pub fn put(&self, key: &str, value: V, now: Instant) {
        let mut entries = match self.entries.write() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.insert(
            key.to_owned(),
            Entry {
                value,
                fetched: now,
                fresh_from: now,
            },
        );
    }

    /// After a refresh of `key` failed at `now`: the value held, when the cache serves stale,
    /// the failure is `transient` and the value is younger than the bound; the entry is then
    /// fresh for another TTL (its age still counts from its fetch). `None`: the failure
    /// stands.
    pub fn stale(&self, key: &str, transient: bool, now: Instant) -> Option<V> {
        let max = self.max_stale.filter(|_| transient)?;
        let mut entries = match self.entries.write() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let e = entries.get_mut(key)?;
        if now.saturating_duration_since(e.fetched) >= max {
            return None;
        }
        e.fresh_from = now;
        Some(e.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_before_the_ttl_expired_after() {
        let cache = TtlCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(cache.get("k", t0), Lookup::Missing);
        cache.put("k", 7, t0);
        assert_eq!(
            cache.get("k", t0 + Duration::from_millis(4999)),
            Lookup::Hit(7)
        );
        assert_eq!(cache.get("k", t0 + Duration::from_secs(5)), Lookup::Expired);
        cache.put("k", 8, t0 + Duration::from_secs(5));
        assert_eq!(cache.get("k", t0 + Duration::from_secs(6)), Lookup::Hit(8));
    }

    #[test]
    fn a_failing_cache_serves_nothing_stale() {
        let cache = TtlCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        cache.put("k", 7, t0);
        assert_eq!(cache.stale("k", true, t0 + Duration::from_secs(6)), None);
    }

    #[test]
    fn stale_is_served_through_transient_failures_up_to_the_bound() {
        let s = Duration::from_secs;
        let cache = TtlCache::new(s(5)).serving_stale(Some(s(60)));
        let t0 = Instant::now();
        assert_eq!(cache.stale("k", true, t0), None, "nothing held");
        cache.put("k", 7, t0);
        // A throttle or a not-found is not transient: the failure stands.
        assert_eq!(cache.stale("k", false, t0 + s(6)), None);
        assert_eq!(cache.get("k", t0 + s(6)), Lookup::Expired);
        // A transient failure serves the value, and the entry is fresh for another TTL.
        assert_eq!(cache.stale("k", true, t0 + s(6)), Some(7));
        assert_eq!(cache.get("k", t0 + s(10)), Lookup::Hit(7));
        assert_eq!(cache.get("k", t0 + s(11)), Lookup::Expired);
        // Up to the bound, counted from the fetch, not from the last serve.
        assert_eq!(cache.stale("k", true, t0 + s(59)), Some(7));
        assert_eq!(cache.stale("k", true, t0 + s(60)), None);
        // A successful fetch starts the age again.
        cache.put("k", 8, t0 + s(61));
        assert_eq!(cache.stale("k", true, t0 + s(70)), Some(8));
    }
}
