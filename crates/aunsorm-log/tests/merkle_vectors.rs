#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // tests may unwrap
//! transparency-dev/merkle's inclusion and consistency test data (tests/vectors), every
//! case including those that must fail, and its reference tree.

use aunsorm_log::merkle::{self, Frontier, NodeSource};
use aunsorm_log::{Hash, LogError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::path::{Path, PathBuf};

fn b64(v: &serde_json::Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or("")).unwrap()
}

/// Proof elements as the verifier receives them: an element that is not 32 bytes makes
/// the proof malformed, which must count as a failure.
fn proof(v: &serde_json::Value) -> Option<Vec<Hash>> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|p| b64(p).try_into().ok())
                .collect::<Option<Vec<Hash>>>()
        })
        .unwrap_or(Some(vec![]))
}

fn cases(dir: &str) -> Vec<(PathBuf, serde_json::Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/merkle")
        .join(dir);
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let v = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                out.push((p, v));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Runs every case under `dir` through `verify` and returns (valid, invalid) counts;
/// a proof element that is not 32 bytes makes the proof malformed, a failure.
fn run_cases(
    dir: &str,
    verify: impl Fn(&serde_json::Value, &[Hash]) -> aunsorm_log::Result<()>,
) -> (usize, usize) {
    let (mut pass, mut fail) = (0, 0);
    for (path, c) in cases(dir) {
        let want_err = c["wantErr"].as_bool().unwrap();
        let got = match proof(&c["proof"]) {
            Some(p) => verify(&c, &p),
            None => Err(LogError::InvalidInput("proof element not 32 bytes".into())),
        };
        assert_eq!(got.is_err(), want_err, "{}: {:?}", path.display(), got);
        if want_err { fail += 1 } else { pass += 1 }
    }
    (pass, fail)
}

#[test]
fn inclusion_cases() {
    let counts = run_cases("inclusion", |c, p| {
        merkle::verify_inclusion(
            c["leafIdx"].as_u64().unwrap(),
            c["treeSize"].as_u64().unwrap(),
            &b64(&c["leafHash"]),
            p,
            &b64(&c["root"]),
        )
    });
    assert_eq!(counts, (6, 92), "(valid, invalid) cases");
}

#[test]
fn consistency_cases() {
    let counts = run_cases("consistency", |c, p| {
        merkle::verify_consistency(
            c["size1"].as_u64().unwrap(),
            c["size2"].as_u64().unwrap(),
            p,
            &b64(&c["root1"]),
            &b64(&c["root2"]),
        )
    });
    assert_eq!(counts, (6, 92), "(valid, invalid) cases");
}

/// testonly/constants.go: leaves, node hashes of every level, and the roots of every
/// prefix of the eight-leaf reference tree.
#[test]
fn reference_tree() {
    let leaves: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect();
    let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let level1 = [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ];
    let mut f = Frontier::default();
    let mut nodes = std::collections::HashMap::new();
    assert_eq!(hex::encode(f.root()), roots[0]);
    for (i, l) in leaves.iter().enumerate() {
        f.push(merkle::leaf_hash(l), |lv, idx, h| {
            nodes.insert((lv, idx), *h);
        });
        assert_eq!(
            hex::encode(f.root()),
            roots[i + 1],
            "root of size {}",
            i + 1
        );
    }
    for (i, h) in level1.iter().enumerate() {
        assert_eq!(hex::encode(nodes[&(1, i as u64)]), *h);
    }
    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    assert_eq!(hex::encode(merkle::root_of(&refs)), roots[8]);

    // Proofs made from this tree verify against the reference roots.
    struct Src(std::collections::HashMap<(u8, u64), Hash>);
    impl NodeSource for Src {
        fn node(&self, level: u8, index: u64) -> aunsorm_log::Result<Hash> {
            Ok(self.0[&(level, index)])
        }
    }
    let src = Src(nodes);
    for size in 1..=8u64 {
        let root = hex::decode(roots[size as usize]).unwrap();
        for i in 0..size {
            let p = merkle::inclusion_proof(&src, i, size).unwrap();
            merkle::verify_inclusion(i, size, &merkle::leaf_hash(&leaves[i as usize]), &p, &root)
                .unwrap();
        }
        for s1 in 1..=size {
            let p = merkle::consistency_proof(&src, s1, size).unwrap();
            merkle::verify_consistency(
                s1,
                size,
                &p,
                &hex::decode(roots[s1 as usize]).unwrap(),
                &root,
            )
            .unwrap();
        }
    }
}
