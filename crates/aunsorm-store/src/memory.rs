//! The in-memory backend: for tests and amnesia mode. Nothing survives the process.

use crate::{Namespace, Record, Result, Store, StoreError, check_name};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// (namespace, name) -> (generation, value)
type Records = BTreeMap<(Namespace, String), (u64, Vec<u8>)>;

/// Records in a map under a lock.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<Records>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Storage("memory store lock poisoned".into())
}

impl Store for MemoryStore {
    fn get(&self, ns: Namespace, name: &str) -> Result<Option<Record>> {
        let map = self.map.read().map_err(poisoned)?;
        Ok(map.get(&(ns, name.to_string())).map(|(g, v)| Record {
            name: name.to_string(),
            generation: *g,
            value: v.clone(),
        }))
    }

    fn put(&self, ns: Namespace, name: &str, expected: Option<u64>, value: &[u8]) -> Result<u64> {
        check_name(name)?;
        let mut map = self.map.write().map_err(poisoned)?;
        let key = (ns, name.to_string());
        let found = map.get(&key).map(|(g, _)| *g);
        if found != expected {
            return Err(StoreError::Conflict {
                name: name.to_string(),
                expected,
                found,
            });
        }
        let generation = found.unwrap_or(0) + 1;
        map.insert(key, (generation, value.to_vec()));
        Ok(generation)
    }

    fn delete(&self, ns: Namespace, name: &str, expected: u64) -> Result<()> {
        let mut map = self.map.write().map_err(poisoned)?;
        let key = (ns, name.to_string());
        let found = map.get(&key).map(|(g, _)| *g);
        if found != Some(expected) {
            return Err(StoreError::Conflict {
                name: name.to_string(),
                expected: Some(expected),
                found,
            });
        }
        map.remove(&key);
        Ok(())
    }

    fn list(
        &self,
        ns: Namespace,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>> {
        let map = self.map.read().map_err(poisoned)?;
        let from = match after {
            Some(a) if a > prefix => a,
            _ => prefix,
        };
        let start = (ns, from.to_string());
        Ok(map
            .range(start..)
            .filter(|((n, name), _)| *n == ns && after.is_none_or(|a| name.as_str() > a))
            .take_while(|((n, name), _)| *n == ns && name.starts_with(prefix))
            .take(limit)
            .map(|((_, name), (g, v))| Record {
                name: name.clone(),
                generation: *g,
                value: v.clone(),
            })
            .collect())
    }
}
