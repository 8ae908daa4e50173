//! A claim on a submitted entry: it resolves to the entry's index once the entry is
//! durable. A thread can block on it ([`Ticket::wait`]) and an async task can await
//! it, without tying the log to one async runtime.

use crate::{LogError, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

type Outcome = std::result::Result<u64, String>;

#[derive(Default)]
struct State {
    outcome: Option<Outcome>,
    waker: Option<Waker>,
    /// The committer side was dropped without an outcome (the log closed).
    abandoned: bool,
    /// A thread is blocked in [`Ticket::wait`]: only then is the condition variable
    /// notified (a notification is a system call even with nobody waiting, and async
    /// callers, the server's, never wait on it).
    blocked: bool,
}

#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    ready: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned slot can only come from a panic while holding this small lock;
        // its data is still whole.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Resolves to the index of a submitted entry once it is durable.
#[must_use = "an entry is acknowledged only once its ticket resolves"]
pub struct Ticket(Arc<Slot>);

/// The committer's half of a [`Ticket`].
pub(crate) struct Completer(Arc<Slot>);

pub(crate) fn ticket() -> (Ticket, Completer) {
    let slot = Arc::new(Slot::default());
    (Ticket(Arc::clone(&slot)), Completer(slot))
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket")
    }
}

fn resolve(state: &mut State) -> Option<Result<u64>> {
    match state.outcome.take() {
        Some(Ok(index)) => Some(Ok(index)),
        Some(Err(why)) => Some(Err(LogError::Storage(aunsorm_store::StoreError::Storage(
            why.into(),
        )))),
        None if state.abandoned => Some(Err(LogError::Closed)),
        None => None,
    }
}

impl Ticket {
    /// Blocks until the entry is durable and returns its index.
    ///
    /// # Errors
    /// [`LogError::Storage`] when its batch could not be written (then nothing of it
    /// was); [`LogError::Closed`] when the log closed first.
    pub fn wait(self) -> Result<u64> {
        let mut state = self.0.lock();
        loop {
            if let Some(r) = resolve(&mut state) {
                return r;
            }
            state.blocked = true;
            state = self
                .0
                .ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Future for Ticket {
    type Output = Result<u64>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.lock();
        if let Some(r) = resolve(&mut state) {
            return Poll::Ready(r);
        }
        match &mut state.waker {
            Some(w) => w.clone_from(cx.waker()),
            None => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Completer {
    pub(crate) fn complete(self, outcome: Outcome) {
        let (waker, blocked) = {
            let mut state = self.0.lock();
            state.outcome = Some(outcome);
            (state.waker.take(), state.blocked)
        };
        if blocked {
            self.0.ready.notify_all();
        }
        if let Some(w) = waker {
            w.wake();
        }
        // Drop sees the outcome set and does nothing more.
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.0.lock();
            if state.outcome.is_some() {
                return;
            }
            state.abandoned = true;
            state.waker.take()
        };
        // Rare (the log closed): no need to spare the notification.
        self.0.ready.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Flag(std::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn wait_across_threads() {
        let (t, c) = ticket();
        let h = std::thread::spawn(move || c.complete(Ok(7)));
        assert_eq!(t.wait().unwrap(), 7);
        h.join().unwrap();
        let (t, c) = ticket();
        c.complete(Err("disk full".into()));
        assert!(matches!(t.wait(), Err(LogError::Storage(_))));
        let (t, c) = ticket();
        drop(c);
        assert!(matches!(t.wait(), Err(LogError::Closed)));
    }

    #[test]
    fn a_blocked_waiter_is_woken() {
        let (t, c) = ticket();
        let slot = Arc::clone(&t.0);
        let waiter = std::thread::spawn(move || t.wait());
        // Complete only once the waiter is blocked on the condition variable, so that
        // the notification is what wakes it.
        while !slot.lock().blocked {
            std::thread::yield_now();
        }
        c.complete(Ok(11));
        assert_eq!(waiter.join().unwrap().unwrap(), 11);
    }

    #[test]
    fn poll_registers_the_waker_and_is_woken() {
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let (mut t, c) = ticket();
        assert!(Pin::new(&mut t).poll(&mut cx).is_pending());
        assert!(!flag.0.load(std::sync::atomic::Ordering::SeqCst));
        c.complete(Ok(3));
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(matches!(Pin::new(&mut t).poll(&mut cx), Poll::Ready(Ok(3))));
        // A dropped committer wakes a pending task too.
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let (mut t, c) = ticket();
        assert!(Pin::new(&mut t).poll(&mut cx).is_pending());
        drop(c);
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(matches!(
            Pin::new(&mut t).poll(&mut cx),
            Poll::Ready(Err(LogError::Closed))
        ));
    }
}
