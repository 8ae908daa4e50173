//! Commit pacing: lets the committer tell an idle machine from a busy one, so that it
//! commits at once when there is spare CPU time, and gathers a larger batch while the
//! threads that submit entries are all busy.
//!
//! Without pacing (the default), the committer takes whatever is queued as soon as the
//! previous batch is durable. That gives the lowest latency, and under load batches of
//! only a few entries: each batch costs a transaction and an fsync, which in an HTTP
//! server at a few tens of thousands of operations a second was about a fifth of the
//! CPU time of an audited request (BENCHMARKS.md).
//!
//! With pacing, a process whose submitting threads are the workers of one async runtime
//! reports when each worker goes idle ([`worker_idle`]) and when it starts work again
//! ([`worker_busy`]); Tokio's `on_thread_park` and `on_thread_unpark` hooks are the
//! places to call them. A committer holding entries then commits:
//! - at once when any worker is idle: the CPU time the commit takes is to spare, and at
//!   low load this keeps the unpaced latency;
//! - otherwise as soon as a worker goes idle, or [`GATHER_LIMIT`] after it began to
//!   gather, whichever comes first;
//! - or when the batch is full.
//!
//! Waiting for every worker to be idle instead gathered whole waves of requests and left
//! the CPU idle during their fsync: at 16 connections it cost the cheapest operation
//! about 8% of its throughput, where committing when the first worker runs out of work
//! lets the fsync overlap the end of the wave (BENCHMARKS.md, "Commit pacing").
//!
//! Durability is unchanged: an entry is still acknowledged only once its batch is
//! durable; pacing only chooses when a batch starts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::Thread;
use std::time::Duration;

/// The longest a committer holds entries while workers are busy.
pub const GATHER_LIMIT: Duration = Duration::from_micros(500);

/// Workers that report; 0: pacing is off.
static WORKERS: AtomicUsize = AtomicUsize::new(0);
/// Workers idle now.
static IDLE: AtomicUsize = AtomicUsize::new(0);
/// A committer is gathering and waits to hear that a worker is idle.
static GATHERING: AtomicBool = AtomicBool::new(false);
/// The committers that gather (one per open log, usually one).
static COMMITTERS: Mutex<Vec<Thread>> = Mutex::new(Vec::new());

/// Turns pacing on for this process: its entries are submitted by `workers` threads
/// that call [`worker_idle`] and [`worker_busy`]. Call it before those threads start.
/// `0` turns pacing off.
pub fn enable(workers: usize) {
    IDLE.store(0, Ordering::SeqCst);
    WORKERS.store(workers, Ordering::SeqCst);
}

/// A worker has no more work and is about to wait for some.
pub fn worker_idle() {
    IDLE.fetch_add(1, Ordering::SeqCst);
    if GATHERING.swap(false, Ordering::SeqCst) {
        for t in COMMITTERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            t.unpark();
        }
    }
}

/// A worker is running again.
pub fn worker_busy() {
    // Saturating: a worker that was idle before pacing was enabled.
    let _ = IDLE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
}

/// Whether pacing is on.
pub(crate) fn enabled() -> bool {
    WORKERS.load(Ordering::Relaxed) > 0
}

/// Whether a worker is idle (or pacing is off). Sets the flag that makes the next
/// worker to go idle wake the gathering committers: a worker going idle after this
/// check sees it.
pub(crate) fn any_idle_or_notify() -> bool {
    GATHERING.store(true, Ordering::SeqCst);
    WORKERS.load(Ordering::SeqCst) == 0 || IDLE.load(Ordering::SeqCst) > 0
}

/// Registers the calling thread as a committer that may gather.
pub(crate) fn register() {
    COMMITTERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(std::thread::current());
}

/// Removes the calling thread from the committers.
pub(crate) fn unregister() {
    let me = std::thread::current().id();
    COMMITTERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|t| t.id() != me);
}
