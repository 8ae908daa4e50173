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

/// The workers' and committers' shared state. One per process ([`PACE`]); a type of its
/// own so that its rules can be tested without touching the process-wide instance.
struct Pace {
    /// Workers that report; 0: pacing is off.
    workers: AtomicUsize,
    /// Workers idle now.
    idle: AtomicUsize,
    /// A committer is gathering and waits to hear that a worker is idle. Set only while
    /// one is: a worker that goes idle and finds it set wakes the committers, which
    /// costs a system call on each side, so a flag left set would cost every request
    /// two more at low load, when workers go idle twice per request.
    gathering: AtomicBool,
}

impl Pace {
    const fn new() -> Pace {
        Pace {
            workers: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            gathering: AtomicBool::new(false),
        }
    }

    fn enable(&self, workers: usize) {
        self.idle.store(0, Ordering::SeqCst);
        self.gathering.store(false, Ordering::SeqCst);
        self.workers.store(workers, Ordering::SeqCst);
    }

    /// A worker goes idle; returns whether the committers must be woken.
    fn worker_idle(&self) -> bool {
        self.idle.fetch_add(1, Ordering::SeqCst);
        self.gathering.swap(false, Ordering::SeqCst)
    }

    fn worker_busy(&self) {
        // Saturating: a worker that was idle before pacing was enabled.
        let _ = self
            .idle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    fn any_idle_or_notify(&self) -> bool {
        if self.workers.load(Ordering::SeqCst) == 0 {
            return true;
        }
        // Announce first, then look: a worker going idle after the look sees the flag.
        self.gathering.store(true, Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) > 0 {
            // Not gathering after all. A worker that went idle in between may have
            // taken the flag and woken the committer already: that wake is spurious
            // and harmless (a park returns early once).
            self.gathering.store(false, Ordering::SeqCst);
            return true;
        }
        false
    }

    fn stop_gathering(&self) {
        self.gathering.store(false, Ordering::SeqCst);
    }
}

static PACE: Pace = Pace::new();
/// The committers that gather (one per open log, usually one).
static COMMITTERS: Mutex<Vec<Thread>> = Mutex::new(Vec::new());

/// Turns pacing on for this process: its entries are submitted by `workers` threads
/// that call [`worker_idle`] and [`worker_busy`]. Call it before those threads start.
/// `0` turns pacing off.
pub fn enable(workers: usize) {
    PACE.enable(workers);
}

/// A worker has no more work and is about to wait for some.
pub fn worker_idle() {
    if PACE.worker_idle() {
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
    PACE.worker_busy();
}

/// Whether pacing is on.
pub(crate) fn enabled() -> bool {
    PACE.workers.load(Ordering::Relaxed) > 0
}

/// Whether a worker is idle (or pacing is off). When none is, sets the flag that makes
/// the next worker to go idle wake the gathering committers: a worker going idle after
/// this check sees it. When one is, leaves the flag clear.
pub(crate) fn any_idle_or_notify() -> bool {
    PACE.any_idle_or_notify()
}

/// The committer stopped gathering (its batch is full or the limit passed) while no
/// worker went idle: the next one to go idle need not wake it.
pub(crate) fn stop_gathering() {
    PACE.stop_gathering();
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

#[cfg(test)]
mod tests {
    use super::Pace;

    #[test]
    fn a_worker_going_idle_wakes_the_committer_only_while_it_gathers() {
        let p = Pace::new();
        // Off: never gather.
        assert!(p.any_idle_or_notify());
        p.enable(2);
        // Both workers busy: the committer gathers, and the first worker to go idle
        // wakes it, once.
        assert!(!p.any_idle_or_notify());
        assert!(p.worker_idle());
        p.worker_busy();
        assert!(!p.worker_idle(), "woken twice for one gathering");
        // A worker is idle now: commit at once, and leave nobody to wake.
        assert!(p.any_idle_or_notify());
        p.worker_busy();
        assert!(
            !p.worker_idle(),
            "woken though the committer did not gather"
        );
        // The committer gives up gathering (limit or full batch): no wake either.
        p.worker_busy();
        assert!(!p.any_idle_or_notify());
        p.stop_gathering();
        assert!(!p.worker_idle());
        // Idle counts never go below zero.
        p.worker_busy();
        p.worker_busy();
        p.worker_busy();
        assert!(!p.any_idle_or_notify());
    }
}
