//! `aunsorm log ...`: the transparency log of the local store, or of the server named by
//! `--addr` (through its tlog-tiles endpoints). `verify` is what a witness runs: it
//! trusts nothing stored or served, only the verifier keys and a checkpoint it kept.

use crate::custody::{Remote, remote};
use crate::io::read_all;
use crate::local::{StoreArgs, unsealed};
use crate::{Failure, usage};
use aunsorm_log::tiles::{TILE_WIDTH, decode_bundle, entries_path};
use aunsorm_log::{
    LogError, NoteVerifier, audit, audit_bundles, find_entry, prove_inclusion, verified_checkpoint,
};
use aunsorm_server::node::{LOG_FILE, STORE_ORIGIN as LOCAL_ORIGIN};
use aunsorm_store::{LogStore, SqliteLogStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum LogCmd {
    /// Print the latest signed checkpoint (a C2SP signed note); save it to check the
    /// log later with `log verify --trusted`.
    Checkpoint,
    /// Print the checkpoint verifier keys (Ed25519, ML-DSA-44), one per line.
    Keys,
    /// Print an inclusion proof (JSON) of the entry at --index, or of the entry whose
    /// exact bytes are in --event, against the latest checkpoint.
    Prove {
        /// Entry index.
        #[arg(long, conflicts_with = "event", required_unless_present = "event")]
        index: Option<u64>,
        /// File holding the entry (one JSON event, as `log entries` prints it).
        #[arg(long)]
        event: Option<PathBuf>,
    },
    /// Print entries as JSON lines, from --start (default 0), at most --limit.
    Entries {
        /// First index.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Most entries to print.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Check the whole log: checkpoint signatures, every entry and tree node against
    /// the root; with --trusted, that the log extends a checkpoint you kept; with
    /// --event, that the event is included. Exit 0 valid, 1 invalid, 2 error.
    Verify {
        /// A checkpoint saved earlier (`log checkpoint`).
        #[arg(long)]
        trusted: Option<PathBuf>,
        /// File holding an event that must be in the log.
        #[arg(long)]
        event: Option<PathBuf>,
        /// Verifier keys (`log keys`); without it the store is unsealed to read them.
        #[arg(long)]
        keys: Option<PathBuf>,
    },
}

pub(crate) fn log(s: &StoreArgs, cmd: LogCmd) -> Result<(), Failure> {
    if let Some(r) = remote(s)? {
        return remote_log(&r, cmd);
    }
    match cmd {
        LogCmd::Checkpoint => {
            let k = unsealed(s)?;
            let log = attached(&k)?;
            // Covering every entry, including any made while opening.
            log.sync().map_err(log_err)?;
            let note = log.checkpoint().map_err(log_err)?;
            print!("{}", String::from_utf8_lossy(&note));
            Ok(())
        }
        LogCmd::Keys => {
            let k = unsealed(s)?;
            for v in attached(&k)?.verifiers() {
                println!("{}", v.encode());
            }
            Ok(())
        }
        LogCmd::Entries { start, limit } => {
            let store = log_store(s)?;
            for e in store
                .entries(start, start.saturating_add(limit))
                .map_err(|e| log_err(e.into()))?
            {
                println!("{}", String::from_utf8_lossy(&e));
            }
            Ok(())
        }
        LogCmd::Prove { index, event } => {
            let k = unsealed(s)?;
            let log = attached(&k)?;
            log.sync().map_err(log_err)?;
            let note = log.checkpoint().map_err(log_err)?;
            let cp = verified_checkpoint(&note, log.verifiers(), LOCAL_ORIGIN).map_err(log_err)?;
            let store = log_store(s)?;
            let index = match (index, event) {
                (Some(i), _) => i,
                (None, Some(f)) => {
                    let want = event_bytes(&f)?;
                    find_entry(&store, cp.size, &want)
                        .map_err(log_err)?
                        .ok_or_else(|| Failure::Invalid("the event is not in the log".into()))?
                }
                (None, None) => return Err(usage("give --index or --event")),
            };
            let proof = prove_inclusion(&store, &cp, index).map_err(log_err)?;
            let entry = store
                .entries(index, index + 1)
                .map_err(|e| log_err(e.into()))?
                .pop()
                .unwrap_or_default();
            print_proof(index, cp.size, &entry, &proof, &note);
            Ok(())
        }
        LogCmd::Verify {
            trusted,
            event,
            keys,
        } => {
            let verifiers = match keys {
                Some(f) => parse_keys(&keys_file(f)?)?,
                None => {
                    let k = unsealed(s)?;
                    attached(&k)?.verifiers().to_vec()
                }
            };
            let trusted = trusted
                .map(|f| read_all(&Some(f), "trusted checkpoint"))
                .transpose()?;
            let store = log_store(s)?;
            let report =
                audit(&store, &verifiers, LOCAL_ORIGIN, trusted.as_deref()).map_err(invalid)?;
            if let Some(f) = event {
                let want = event_bytes(&f)?;
                let index = find_entry(&store, report.checkpoint.size, &want)
                    .map_err(log_err)?
                    .ok_or_else(|| Failure::Invalid("the event is not in the log".into()))?;
                prove_inclusion(&store, &report.checkpoint, index).map_err(invalid)?;
                eprintln!("event included at index {index}");
            }
            print_valid(&report, trusted.is_some());
            Ok(())
        }
    }
}

/// The same commands against a server, through its tlog-tiles endpoints: what a remote
/// witness runs. Nothing the server says is trusted beyond the verifier keys (pin them
/// with `log keys > FILE` and pass `--keys FILE`; without it they are fetched).
fn remote_log(r: &Remote, cmd: LogCmd) -> Result<(), Failure> {
    match cmd {
        LogCmd::Checkpoint => {
            let note = r.run(async |c| c.checkpoint().await)?;
            print!("{}", String::from_utf8_lossy(&note));
            Ok(())
        }
        LogCmd::Keys => {
            print!("{}", r.run(async |c| c.log_keys().await)?);
            Ok(())
        }
        LogCmd::Entries { start, limit } => {
            let (_, cp) = remote_checkpoint(r, None)?;
            let end = start.saturating_add(limit).min(cp.size);
            let mut i = start;
            while i < end {
                let entries = bundle(r, i / TILE_WIDTH, cp.size)?;
                for e in &entries[usize::try_from(i % TILE_WIDTH).unwrap_or(0)..] {
                    if i >= end {
                        break;
                    }
                    println!("{}", String::from_utf8_lossy(e));
                    i += 1;
                }
            }
            Ok(())
        }
        LogCmd::Prove { index, event } => {
            let (note, cp) = remote_checkpoint(r, None)?;
            let index = match (index, event) {
                (Some(i), _) => i,
                (None, Some(f)) => {
                    let want = event_bytes(&f)?;
                    let mut found = None;
                    let mut n = 0;
                    while found.is_none() && n * TILE_WIDTH < cp.size {
                        found = bundle(r, n, cp.size)?
                            .iter()
                            .position(|e| *e == want)
                            .map(|p| n * TILE_WIDTH + p as u64);
                        n += 1;
                    }
                    found.ok_or_else(|| Failure::Invalid("the event is not in the log".into()))?
                }
                (None, None) => return Err(usage("give --index or --event")),
            };
            if index >= cp.size {
                return Err(usage(format!(
                    "index {index} is beyond the log size {}",
                    cp.size
                )));
            }
            let entries = bundle(r, index / TILE_WIDTH, cp.size)?;
            let entry = entries
                .get(usize::try_from(index % TILE_WIDTH).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_default();
            let p = r.run(async |c| c.inclusion_proof(index, Some(cp.size)).await)?;
            let proof: Vec<aunsorm_log::Hash> = p
                .hashes
                .iter()
                .map(|h| h.0.as_slice().try_into())
                .collect::<Result<_, _>>()
                .map_err(|_| Failure::Invalid("a proof hash is not 32 bytes".into()))?;
            let leaf = aunsorm_log::merkle::leaf_hash(&entry);
            aunsorm_log::merkle::verify_inclusion(index, cp.size, &leaf, &proof, &cp.root)
                .map_err(invalid)?;
            print_proof(index, cp.size, &entry, &proof, &note);
            Ok(())
        }
        LogCmd::Verify {
            trusted,
            event,
            keys,
        } => {
            let verifiers = verifier_keys(r, keys)?;
            let note = r.run(async |c| c.checkpoint().await)?;
            let origin = note_origin(&note)?;
            let trusted = trusted
                .map(|f| read_all(&Some(f), "trusted checkpoint"))
                .transpose()?;
            let want = event.map(|f| event_bytes(&f)).transpose()?;
            let mut found = None;
            let mut fetch_error = None;
            let result = audit_bundles(
                &note,
                &verifiers,
                &origin,
                trusted.as_deref(),
                |n, w| {
                    let path = entries_path(n, w);
                    let path = path.trim_start_matches("tile/");
                    match r.run(async |c| c.tile(path).await) {
                        Ok(b) => decode_bundle(&b),
                        Err(e) => {
                            fetch_error = Some(e);
                            Err(LogError::InvalidInput("fetch failed".into()))
                        }
                    }
                },
                |i, e| {
                    if found.is_none() && want.as_deref() == Some(e) {
                        found = Some(i);
                    }
                },
            );
            if let Some(e) = fetch_error {
                return Err(e);
            }
            let report = result.map_err(invalid)?;
            if want.is_some() {
                let i =
                    found.ok_or_else(|| Failure::Invalid("the event is not in the log".into()))?;
                eprintln!("event included at index {i}");
            }
            print_valid(&report, trusted.is_some());
            Ok(())
        }
    }
}

/// Verifier keys from `--keys`, else from the server (trust on first use).
fn verifier_keys(r: &Remote, keys: Option<PathBuf>) -> Result<Vec<NoteVerifier>, Failure> {
    let text = match keys {
        Some(f) => keys_file(f)?,
        None => {
            eprintln!(
                "note: verifier keys fetched from the server; pin them with `log keys` and --keys"
            );
            r.run(async |c| c.log_keys().await)?
        }
    };
    parse_keys(&text)
}

fn keys_file(f: PathBuf) -> Result<String, Failure> {
    String::from_utf8(read_all(&Some(f), "verifier keys")?).map_err(|_| usage("--keys: not UTF-8"))
}

/// Verifier keys, one per line (as `log keys` prints them).
fn parse_keys(text: &str) -> Result<Vec<NoteVerifier>, Failure> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(NoteVerifier::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(log_err)
}

/// An inclusion proof as `log prove` prints it.
fn print_proof(index: u64, size: u64, entry: &[u8], proof: &[aunsorm_log::Hash], note: &[u8]) {
    let out = serde_json::json!({
        "index": index,
        "size": size,
        "entry": String::from_utf8_lossy(entry),
        "leaf_hash": hex::encode(aunsorm_log::merkle::leaf_hash(entry)),
        "proof": proof.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        "checkpoint": String::from_utf8_lossy(note),
    });
    println!("{out:#}");
}

/// What `log verify` prints for a log that checks out.
fn print_valid(report: &aunsorm_log::AuditReport, trusted: bool) {
    println!(
        "valid: {} entries, root {}{}{}",
        report.entries,
        B64.encode(report.checkpoint.root),
        if trusted {
            ", consistent with the trusted checkpoint"
        } else {
            ""
        },
        if report.unsigned > 0 {
            format!(
                " ({} stored after the signed checkpoint of {}: the log stopped before \
                 the next one; opening it signs them)",
                report.unsigned, report.checkpoint.size
            )
        } else {
            String::new()
        }
    );
}

/// The origin line of a checkpoint note (checked by the signature verification after).
fn note_origin(note: &[u8]) -> Result<String, Failure> {
    let n = aunsorm_log::SignedNote::parse(note).map_err(log_err)?;
    Ok(aunsorm_log::Checkpoint::parse(&n.text)
        .map_err(log_err)?
        .origin)
}

/// The server's checkpoint, verified with the keys it serves.
fn remote_checkpoint(
    r: &Remote,
    keys: Option<PathBuf>,
) -> Result<(Vec<u8>, aunsorm_log::Checkpoint), Failure> {
    let verifiers = verifier_keys(r, keys)?;
    let note = r.run(async |c| c.checkpoint().await)?;
    let cp = verified_checkpoint(&note, &verifiers, &note_origin(&note)?).map_err(invalid)?;
    Ok((note, cp))
}

/// Entry bundle `n` of a log of `size` entries.
fn bundle(r: &Remote, n: u64, size: u64) -> Result<Vec<Vec<u8>>, Failure> {
    let width = size.saturating_sub(n * TILE_WIDTH).min(TILE_WIDTH);
    let path = entries_path(n, width);
    let bytes = r.run(async |c| c.tile(path.trim_start_matches("tile/")).await)?;
    let entries = decode_bundle(&bytes).map_err(log_err)?;
    if entries.len() as u64 != width {
        return Err(Failure::Invalid(format!(
            "entry bundle {n} holds {} entries, not {width}",
            entries.len()
        )));
    }
    Ok(entries)
}

fn attached(k: &aunsorm_kms::Kms) -> Result<std::sync::Arc<aunsorm_log::Log>, Failure> {
    k.log().ok_or(Failure::Error {
        code: "internal",
        message: "log not attached".into(),
    })
}

fn log_store(s: &StoreArgs) -> Result<SqliteLogStore, Failure> {
    let path = s.dir().join(LOG_FILE);
    if !path.exists() {
        return Err(Failure::Error {
            code: "no_such_log",
            message: format!("no log at {}", path.display()),
        });
    }
    SqliteLogStore::open(&path).map_err(|e| log_err(e.into()))
}

/// The event's bytes: the file as written, without a trailing newline.
fn event_bytes(f: &std::path::Path) -> Result<Vec<u8>, Failure> {
    let mut b = read_all(&Some(f.to_path_buf()), "event")?;
    while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
        b.pop();
    }
    Ok(b)
}

/// A failed check of the log's integrity: exit 1.
fn invalid(e: LogError) -> Failure {
    match e {
        LogError::InvalidSignature(_)
        | LogError::Corrupt(_)
        | LogError::Inconsistent(_)
        | LogError::InvalidProof(_) => Failure::Invalid(e.to_string()),
        other => log_err(other),
    }
}

fn log_err(e: LogError) -> Failure {
    let code = match &e {
        LogError::InvalidInput(_) => "invalid_input",
        LogError::Storage(_) => "storage",
        LogError::InvalidSignature(_) | LogError::InvalidProof(_) => "bad_signature",
        LogError::Inconsistent(_) => "rollback",
        LogError::Corrupt(_) => "log_corrupt",
        _ => "internal",
    };
    Failure::Error {
        code,
        message: e.to_string(),
    }
}
