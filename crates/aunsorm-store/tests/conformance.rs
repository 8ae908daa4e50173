#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! One behaviour, two backends: every test runs against MemoryStore and a real SQLite
//! file.

use aunsorm_store::{MemoryStore, Namespace, SCHEMA_VERSION, SqliteStore, Store, StoreError};
use std::sync::Arc;

fn backends() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    vec![
        ("memory", Arc::new(MemoryStore::new()), None),
        ("sqlite", Arc::new(sqlite), Some(dir)),
    ]
}

#[test]
fn put_get_compare_and_swap() {
    for (name, s, _d) in backends() {
        assert_eq!(s.get(Namespace::Keys, "a").unwrap(), None, "{name}");
        assert_eq!(s.put(Namespace::Keys, "a", None, b"one").unwrap(), 1);
        // A second create loses.
        assert!(matches!(
            s.put(Namespace::Keys, "a", None, b"x"),
            Err(StoreError::Conflict {
                expected: None,
                found: Some(1),
                ..
            })
        ));
        assert_eq!(s.put(Namespace::Keys, "a", Some(1), b"two").unwrap(), 2);
        // A stale update loses and changes nothing.
        assert!(matches!(
            s.put(Namespace::Keys, "a", Some(1), b"x"),
            Err(StoreError::Conflict { .. })
        ));
        let r = s.get(Namespace::Keys, "a").unwrap().unwrap();
        assert_eq!(
            (r.generation, r.value.as_slice()),
            (2, &b"two"[..]),
            "{name}"
        );
        // Namespaces are separate.
        assert_eq!(s.get(Namespace::Meta, "a").unwrap(), None);
        assert_eq!(s.put(Namespace::Meta, "a", None, b"meta").unwrap(), 1);
        // Delete needs the current generation.
        assert!(matches!(
            s.delete(Namespace::Keys, "a", 1),
            Err(StoreError::Conflict { .. })
        ));
        s.delete(Namespace::Keys, "a", 2).unwrap();
        assert_eq!(s.get(Namespace::Keys, "a").unwrap(), None);
        assert!(matches!(
            s.delete(Namespace::Keys, "a", 2),
            Err(StoreError::Conflict { found: None, .. })
        ));
        assert_eq!(s.get(Namespace::Meta, "a").unwrap().unwrap().value, b"meta");
        // Bad names are refused.
        assert!(matches!(
            s.put(Namespace::Keys, "", None, b""),
            Err(StoreError::InvalidName(_))
        ));
        assert!(matches!(
            s.put(Namespace::Keys, "a\0b", None, b""),
            Err(StoreError::InvalidName(_))
        ));
        assert!(matches!(
            s.put(Namespace::Keys, &"x".repeat(513), None, b""),
            Err(StoreError::InvalidName(_))
        ));
    }
}

#[test]
fn list_by_prefix_with_paging() {
    for (name, s, _d) in backends() {
        for n in ["t1/a", "t1/b", "t1/c", "t10/a", "t2/a", "u", "t1"] {
            s.put(Namespace::Keys, n, None, n.as_bytes()).unwrap();
        }
        s.put(Namespace::Meta, "t1/zzz", None, b"").unwrap();
        let names =
            |v: Vec<aunsorm_store::Record>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(
            names(s.list(Namespace::Keys, "t1/", None, 10).unwrap()),
            ["t1/a", "t1/b", "t1/c"],
            "{name}"
        );
        assert_eq!(
            names(s.list(Namespace::Keys, "t1/", None, 2).unwrap()),
            ["t1/a", "t1/b"]
        );
        assert_eq!(
            names(s.list(Namespace::Keys, "t1/", Some("t1/b"), 2).unwrap()),
            ["t1/c"]
        );
        assert_eq!(
            names(s.list(Namespace::Keys, "t1", None, 10).unwrap()),
            ["t1", "t1/a", "t1/b", "t1/c", "t10/a"]
        );
        assert_eq!(
            names(s.list(Namespace::Keys, "", Some("t2/a"), 10).unwrap()),
            ["u"]
        );
        assert_eq!(
            names(s.list(Namespace::Keys, "t2/", Some("a"), 10).unwrap()),
            ["t2/a"],
            "{name}"
        );
        assert_eq!(s.list(Namespace::Keys, "", None, 100).unwrap().len(), 7);
        // Paging through everything visits each record once.
        let mut seen = vec![];
        let mut after: Option<String> = None;
        loop {
            let page = s.list(Namespace::Keys, "", after.as_deref(), 3).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|r| r.name.clone());
            seen.extend(names(page));
        }
        assert_eq!(seen.len(), 7, "{name}");
    }
}

#[test]
fn concurrent_compare_and_swap_loses_no_update() {
    for (name, s, _d) in backends() {
        s.put(Namespace::Keys, "counter", None, &0u64.to_be_bytes())
            .unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    let mut done = 0;
                    let mut conflicts = 0;
                    while done < 50 {
                        let r = s.get(Namespace::Keys, "counter").unwrap().unwrap();
                        let v = u64::from_be_bytes(r.value.try_into().unwrap()) + 1;
                        match s.put(
                            Namespace::Keys,
                            "counter",
                            Some(r.generation),
                            &v.to_be_bytes(),
                        ) {
                            Ok(_) => done += 1,
                            Err(StoreError::Conflict { .. }) => conflicts += 1,
                            Err(e) => panic!("{e}"),
                        }
                        assert!(conflicts < 100_000);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let r = s.get(Namespace::Keys, "counter").unwrap().unwrap();
        assert_eq!(
            u64::from_be_bytes(r.value.try_into().unwrap()),
            400,
            "{name}"
        );
        assert_eq!(r.generation, 401, "{name}");
    }
}

#[test]
fn sqlite_survives_reopen_and_refuses_newer_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        s.put(Namespace::Keys, "k", None, b"v").unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.get(Namespace::Keys, "k").unwrap().unwrap().value, b"v");
    drop(s);
    let c = rusqlite_version_bump(&path);
    assert!(c.is_ok());
    assert!(
        matches!(SqliteStore::open(&path), Err(StoreError::SchemaTooNew { found, .. }) if found == SCHEMA_VERSION + 1)
    );
}

fn rusqlite_version_bump(path: &std::path::Path) -> Result<(), String> {
    // Simulate a file written by a future Aunsorm with the sqlite3 shell's equivalent.
    let db = std::fs::read(path).map_err(|e| e.to_string())?;
    // user_version is the big-endian u32 at offset 60 of the database header.
    let mut db = db;
    let v = u32::try_from(SCHEMA_VERSION + 1).unwrap();
    db[60..64].copy_from_slice(&v.to_be_bytes());
    std::fs::write(path, db).map_err(|e| e.to_string())
}
