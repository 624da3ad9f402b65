//! The in-process TTL cache (like Powertools' `max_age`): an entry younger than the TTL is
//! served without calling AWS; an older one is fetched again.

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

/// A map from secret id to value with a time to live.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    entries: RwLock<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache.
    pub fn new(ttl: Duration) -> TtlCache<V> {
        TtlCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
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
            Some((value, stored)) if now.saturating_duration_since(*stored) < self.ttl => {
                Lookup::Hit(value.clone())
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
        entries.insert(key.to_owned(), (value, now));
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
}
