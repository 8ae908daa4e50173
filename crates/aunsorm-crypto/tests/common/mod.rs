//! Vector loading and case accounting shared by the known-answer tests.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Loads `tests/vectors/<rel>` (gunzipped when it ends in .gz).
pub fn load(rel: &str) -> Value {
    let path = vectors_dir().join(rel);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = if rel.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    serde_json::from_str(&text).unwrap()
}

pub fn h(v: &Value) -> Vec<u8> {
    hex::decode(
        v.as_str()
            .unwrap_or_else(|| panic!("not a hex string: {v}")),
    )
    .unwrap()
}

pub fn hs(v: &Value, k: &str) -> Vec<u8> {
    h(&v[k])
}

pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// Every case lands in exactly one bucket; `finish` checks that none went missing.
#[derive(Default, Debug)]
pub struct Tally {
    pub name: String,
    pub total: usize,
    pub valid_passed: usize,
    pub invalid_rejected: usize,
    pub acceptable: usize,
    /// Cases whose parameters Aunsorm does not offer, where the test checked that the
    /// API refuses them with a typed error (or, for interfaces Aunsorm has no entry
    /// point for, counted by name in `unsupported_reasons`).
    pub unsupported: usize,
    pub unsupported_reasons: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    pub fn new(name: &str, total: usize) -> Self {
        Tally {
            name: name.into(),
            total,
            ..Default::default()
        }
    }
    pub fn valid(&mut self) {
        self.valid_passed += 1;
    }
    pub fn invalid(&mut self) {
        self.invalid_rejected += 1;
    }
    pub fn acceptable(&mut self) {
        self.acceptable += 1;
    }
    pub fn unsupported(&mut self, why: &str) {
        self.unsupported += 1;
        *self.unsupported_reasons.entry(why.into()).or_default() += 1;
    }
    pub fn finish(self) -> Self {
        let counted =
            self.valid_passed + self.invalid_rejected + self.acceptable + self.unsupported;
        println!(
            "{}: {} cases: {} valid passed, {} invalid rejected, {} acceptable, {} unsupported {:?}",
            self.name,
            self.total,
            self.valid_passed,
            self.invalid_rejected,
            self.acceptable,
            self.unsupported,
            self.unsupported_reasons
        );
        assert_eq!(counted, self.total, "{}: cases went uncounted", self.name);
        assert!(self.total > 0, "{}: no cases loaded", self.name);
        self
    }
}

/// Records a case with Wycheproof semantics: `valid` must succeed, `invalid` must fail,
/// `acceptable` may do either.
pub fn wycheproof_outcome(t: &mut Tally, result: &str, ok: bool, id: &Value) {
    match (result, ok) {
        ("valid", true) => t.valid(),
        ("invalid", false) => t.invalid(),
        ("acceptable", _) => t.acceptable(),
        (r, ok) => panic!(
            "{}: tcId {id}: expected {r}, implementation said ok={ok}",
            t.name
        ),
    }
}

pub fn tests_of(doc: &Value) -> Vec<(Value, Value)> {
    let mut v = Vec::new();
    for g in doc["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            v.push((g.clone(), t.clone()));
        }
    }
    v
}
