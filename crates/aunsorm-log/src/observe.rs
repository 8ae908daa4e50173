//! The log's metrics, through the `metrics` facade: its group commits (entries per
//! commit, the time of a commit's transaction and `fdatasync`, failures), the tree's
//! size after each commit, and the checkpoints signed. Commits per second and entries
//! per second are the rates of `aunsorm_log_batch_entries`' count and sum.
//!
//! A process that installs its global recorder for good says so with
//! [`global_metrics_installed`]; the log then keeps its metric handles instead of
//! asking the registry for each one at every commit (a hash of the name and a copy of
//! the key each time: about 1% of the committer's time at 12k commits a second). Before
//! that, each record asks the registry, so a recorder installed after the log opened,
//! or a thread-local one, still sees them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

const BATCH_ENTRIES: &str = "aunsorm_log_batch_entries";
const COMMIT_SECONDS: &str = "aunsorm_log_commit_seconds";
const TREE_SIZE: &str = "aunsorm_log_tree_size";
const COMMIT_FAILURES: &str = "aunsorm_log_commit_failures_total";
const CHECKPOINTS: &str = "aunsorm_log_checkpoints_total";

static GLOBAL_RECORDER: AtomicBool = AtomicBool::new(false);

/// Tells the log that the process has installed its global metrics recorder for good
/// (the server does, at start), so that the log may keep its metric handles.
pub fn global_metrics_installed() {
    GLOBAL_RECORDER.store(true, Ordering::Release);
}

struct Handles {
    batch_entries: metrics::Histogram,
    commit_seconds: metrics::Histogram,
    tree_size: metrics::Gauge,
    commit_failures: metrics::Counter,
    checkpoints: metrics::Counter,
}

/// The kept handles, once the global recorder is installed.
fn kept() -> Option<&'static Handles> {
    static KEPT: OnceLock<Handles> = OnceLock::new();
    GLOBAL_RECORDER.load(Ordering::Acquire).then(|| {
        KEPT.get_or_init(|| Handles {
            batch_entries: metrics::histogram!(BATCH_ENTRIES),
            commit_seconds: metrics::histogram!(COMMIT_SECONDS),
            tree_size: metrics::gauge!(TREE_SIZE),
            commit_failures: metrics::counter!(COMMIT_FAILURES),
            checkpoints: metrics::counter!(CHECKPOINTS),
        })
    })
}

/// A batch of `entries` committed in `seconds`; the tree now holds `size` entries.
pub(crate) fn commit(entries: usize, seconds: f64, size: u64) {
    // Exact below 2^53, far beyond any batch or tree.
    let (entries, size) = (entries as f64, size as f64);
    match kept() {
        Some(h) => {
            h.batch_entries.record(entries);
            h.commit_seconds.record(seconds);
            h.tree_size.set(size);
        }
        None => {
            metrics::histogram!(BATCH_ENTRIES).record(entries);
            metrics::histogram!(COMMIT_SECONDS).record(seconds);
            metrics::gauge!(TREE_SIZE).set(size);
        }
    }
}

/// A batch the storage refused (every entry of it failed; nothing of it was kept).
pub(crate) fn commit_failed() {
    match kept() {
        Some(h) => h.commit_failures.increment(1),
        None => metrics::counter!(COMMIT_FAILURES).increment(1),
    }
}

/// A checkpoint signed.
pub(crate) fn checkpoint_signed() {
    match kept() {
        Some(h) => h.checkpoints.increment(1),
        None => metrics::counter!(CHECKPOINTS).increment(1),
    }
}
