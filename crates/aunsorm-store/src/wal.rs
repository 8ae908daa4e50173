//! WAL checkpoints off the commit path.
//!
//! SQLite's own policy (`wal_autocheckpoint`) copies the WAL back into the database
//! inside the COMMIT that crosses 1,000 pages: some 4 MiB of page writes and a sync of
//! the database file, a stall of several milliseconds for whoever waits on that commit,
//! several times a second under load. Here a thread of its own, on its own connection,
//! runs those copies (PASSIVE checkpoints, which never block the writer) as the WAL
//! grows. That alone cannot restart the WAL: it restarts only when a write transaction
//! begins with every frame copied, and under steady writes new frames always arrive
//! during a pass. So once the WAL is long enough, the writer itself copies what the
//! last pass left, a few pages, before its next transaction, which then restarts the
//! WAL from its start. If the thread falls behind, the writer copies everything itself
//! past a hard limit, as SQLite would: the WAL stays bounded either way.
//!
//! Durability does not change: checkpoints only move committed pages from the WAL to
//! the database file, and SQLite keeps that crash-safe whichever connection runs it.

use crate::Result;
use crate::sqlite::configure;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// Pages written to the WAL and not yet copied to the database before a background
/// pass starts (SQLite's default autocheckpoint threshold).
pub(crate) const PASS_PAGES: u32 = 1000;
/// WAL length, in pages, from which the writer restarts the WAL after a pass.
pub(crate) const RESTART_PAGES: u32 = 4000;
/// WAL length, in pages, from which the writer copies whatever is left itself.
pub(crate) const HARD_PAGES: u32 = 4 * RESTART_PAGES;

#[derive(Debug, Default)]
struct State {
    /// Pages in the WAL after the last commit (as SQLite's WAL hook reports them).
    pages: u32,
    /// Of those, pages known to be copied into the database.
    copied: u32,
    /// A pass is wanted.
    pass: bool,
    /// The writer should finish a checkpoint before its next transaction.
    restart: bool,
    closing: bool,
    /// Background passes run, and WAL restarts the writer prepared (for tests).
    passes: u64,
    restarts: u64,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is plain counters; a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The background checkpointer of one SQLite file, and what its writer needs to work
/// with it. Dropping it stops the thread (after the pass in progress, if any).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`, whose writer is `writer`: replaces
    /// the writer's automatic checkpoints (through its WAL hook) with this policy.
    ///
    /// # Errors
    /// [`crate::StoreError::Storage`] when the checkpointer's connection cannot be
    /// opened or its thread started.
    pub(crate) fn start(path: &Path, writer: &mut Connection) -> Result<Self> {
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let shared = Arc::new(Shared::default());
        let hook = Arc::clone(&shared);
        // Setting a WAL hook turns off SQLite's own autocheckpoint (which is one).
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
            committed(&hook, u32::try_from(pages).unwrap_or(u32::MAX));
            Ok(())
        }))?;
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("aunsorm-wal".into())
            .spawn(move || run(&s, &conn))
            .map_err(|e| crate::StoreError::Storage(e.to_string().into()))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Called by the writer before it begins a transaction, on its connection: when a
    /// restart is due, copies what the background passes left and syncs the database,
    /// so that the transaction begins the WAL again from its start.
    pub(crate) fn before_write(&self, writer: &Connection) {
        if !self.shared.lock().restart {
            return;
        }
        let Ok((busy, log, copied)) = checkpoint(writer) else {
            return; // Tried again before the next transaction.
        };
        let mut st = self.shared.lock();
        if busy == 0 && log >= 0 && copied == log {
            st.restart = false;
            // The next transaction restarts the WAL (unless a reader still holds a
            // snapshot in it; then a later one does).
            st.copied = 0;
            st.pages = 0;
            st.restarts += 1;
        }
    }

    /// Background passes run, and WAL restarts the writer prepared, so far.
    #[cfg(test)]
    fn counts(&self) -> (u64, u64) {
        let st = self.shared.lock();
        (st.passes, st.restarts)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer's WAL hook: `pages` are in the WAL after a commit.
fn committed(shared: &Shared, pages: u32) {
    let mut st = shared.lock();
    if pages < st.pages {
        // The WAL began again from its start.
        st.copied = 0;
    }
    st.pages = pages;
    if pages >= HARD_PAGES {
        st.restart = true;
    }
    if !st.pass && pages.saturating_sub(st.copied) >= PASS_PAGES {
        st.pass = true;
        drop(st);
        shared.wake.notify_one();
    }
}

/// The thread: a PASSIVE checkpoint whenever enough pages wait for one.
fn run(shared: &Shared, conn: &Connection) {
    loop {
        {
            let mut st = shared.lock();
            while !st.pass && !st.closing {
                st = shared.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
            if st.closing {
                return;
            }
        }
        let done = checkpoint(conn);
        let mut st = shared.lock();
        st.pass = false;
        st.passes += 1;
        if let Ok((0, log, copied)) = done
            && log >= 0
        {
            // A restart by the writer in the meantime shows as fewer pages than this
            // pass copied; the next commit's hook sets the count right.
            st.copied = u32::try_from(copied).unwrap_or(0).min(st.pages);
            if u32::try_from(log).unwrap_or(u32::MAX) >= RESTART_PAGES {
                st.restart = true;
            }
        }
        // On failure (busy, or an I/O error) nothing is lost: the next commit asks for
        // another pass, and the writer's hard limit keeps the WAL bounded.
    }
}

/// A PASSIVE checkpoint on `c`: (busy, pages in the WAL, pages copied), as SQLite's
/// `PRAGMA wal_checkpoint` reports them.
fn checkpoint(c: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    /// A real file under steady writes: passes run in the background, the writer
    /// restarts the WAL, the WAL stays bounded, and every row is there on reopening.
    #[test]
    fn the_wal_is_copied_in_the_background_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut w = Connection::open(&path).unwrap();
        configure(&w).unwrap();
        w.execute_batch("CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB NOT NULL)")
            .unwrap();
        let cp = Checkpointer::start(&path, &mut w).unwrap();
        let rows: i64 = 20_000;
        let wal = dir.path().join("db-wal");
        let mut longest = 0;
        for i in 0..rows {
            cp.before_write(&w);
            // About one page per row, one transaction each: 20,000 WAL frames.
            w.execute("INSERT INTO t (i, b) VALUES (?1, zeroblob(3000))", [i])
                .unwrap();
            longest = longest.max(std::fs::metadata(&wal).unwrap().len());
        }
        let (passes, restarts) = cp.counts();
        assert!(passes >= 1, "no background pass ran");
        assert!(restarts >= 1, "the writer never restarted the WAL");
        // Without restarts the WAL would hold every frame (20,000 frames, about
        // 80 MiB); with them it stays within the hard limit plus one pass (frames of a
        // page plus a 24-byte header: 17,000 frames, about 67 MiB).
        let bound = u64::from(HARD_PAGES + PASS_PAGES) * (PAGE + 24);
        assert!(
            longest <= bound,
            "WAL grew to {longest} bytes (bound {bound})"
        );
        drop(cp);
        drop(w);
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, rows);
    }

    /// Dropping the checkpointer just after asking for a pass stops its thread: the drop
    /// (which joins it) returns. Bounded, so that a thread that never stops fails the
    /// test instead of hanging it (a minute: not a measure of speed).
    #[test]
    fn dropping_stops_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut w = Connection::open(&path).unwrap();
        configure(&w).unwrap();
        let cp = Checkpointer::start(&path, &mut w).unwrap();
        committed(&cp.shared, PASS_PAGES);
        let (done, dropped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(cp);
            let _ = done.send(());
        });
        dropped
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the checkpointer's thread did not stop");
        // The writer still works without it.
        w.execute_batch("CREATE TABLE t (i INTEGER)").unwrap();
    }
}
