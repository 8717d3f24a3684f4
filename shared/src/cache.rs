//! One small cache type for every warm-function cache (registrations, connectors): entries
//! live for a TTL, and the map is bounded. Hand-written rather than a caching crate: it is
//! this page, it adds nothing to every Lambda's binary, and the eviction it needs is simple
//! (drop the expired, and if a flood still fills it, start over).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self { ttl, max: max.max(1), entries: Mutex::new(HashMap::new()) }
    }

    /// The value, if present and younger than the TTL.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_if(key, |_| true)
    }

    /// The value, if present, younger than the TTL and accepted by `fresh`.
    pub fn get_if(&self, key: &K, fresh: impl FnOnce(&V) -> bool) -> Option<V> {
        let entries = self.entries.lock().expect("cache");
        let (at, v) = entries.get(key)?;
        (at.elapsed() < self.ttl && fresh(v)).then(|| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock().expect("cache");
        if entries.len() >= self.max && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        self.entries.lock().expect("cache").remove(key);
    }

    pub fn clear(&self) {
        self.entries.lock().expect("cache").clear();
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("cache").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let c = TtlCache::new(Duration::from_secs(60), 3);
        for i in 0..3 {
            c.insert(i, i * 10);
        }
        assert_eq!(c.get(&1), Some(10));
        assert_eq!(c.get_if(&1, |v| *v == 11), None, "refused by the freshness check");
        c.insert(1, 11);
        assert_eq!(c.len(), 3, "replacing a key makes no room");
        c.insert(3, 30);
        assert!(c.len() <= 3, "bounded");
        assert_eq!(c.get(&3), Some(30));
        c.remove(&3);
        assert_eq!(c.get(&3), None);
        let expired = TtlCache::new(Duration::ZERO, 3);
        expired.insert("k", 1);
        assert_eq!(expired.get(&"k"), None, "older than a zero TTL");
    }
}
