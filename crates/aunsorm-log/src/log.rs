//! The log: group commit of entries into an RFC 6962 tree, signed checkpoints, proofs,
//! tiles, and a full audit of stored state.

use crate::checkpoint::Checkpoint;
use crate::event::{Event, KeyEvent};
use crate::merkle::{self, Frontier, NodeSource};
use crate::note::{NoteSigner, NoteVerifier, SignedNote};
use crate::pacing;
use crate::ticket::{self, Completer, Ticket};
use crate::tiles::{self, TILE_HEIGHT, TILE_WIDTH};
use crate::{Hash, LogError, Result};
use aunsorm_store::{KeyGeneration, LogBatch, LogStore};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most entries in one batch (one transaction, one fsync).
pub const MAX_BATCH: usize = 8192;
/// How often, at most, a checkpoint is signed while entries keep coming. Entries are
/// acknowledged once durable, before any checkpoint covers them. A checkpoint covering
/// them is published after the first batch committed once this interval has passed
/// since the last one (or after this interval, if no batch comes), at once when asked
/// for ([`Log::sync`]), and when the log closes or reopens; it is stored with the next
/// batch's transaction (or its own after this interval of quiet). Signing one per
/// batch (two signatures, ML-DSA-44 most of the cost), inside the acknowledgement
/// path, took a third of the committer's time under load; one every 10 ms still took a
/// sixth. A tenth of a second keeps checkpoints ten times fresher than the shortest
/// interval Tessera allows on its cloud backends, and whoever needs one covering an
/// operation just acknowledged asks for it (the server's checkpoint endpoint does).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// Entries that may wait for the committer before callers block (back-pressure).
pub const QUEUE_CAPACITY: usize = 65_536;

/// The two keys that sign every checkpoint: Ed25519, and the ML-DSA-44 cosigner.
#[derive(Debug)]
pub struct CheckpointSigners {
    /// The Ed25519 signer (C2SP signed-note type 0x01).
    pub ed25519: NoteSigner,
    /// The ML-DSA-44 cosigner (provisional type, see [`crate::note`]).
    pub ml_dsa_44: NoteSigner,
}

impl CheckpointSigners {
    /// The verifier keys of both signers.
    #[must_use]
    pub fn verifiers(&self) -> Vec<NoteVerifier> {
        vec![self.ed25519.verifier(), self.ml_dsa_44.verifier()]
    }

    fn sign(&self, cp: &Checkpoint) -> Result<Vec<u8>> {
        let text = cp.to_text();
        let note = SignedNote {
            signatures: vec![self.ed25519.sign(&text)?, self.ml_dsa_44.sign(&text)?],
            text,
        };
        Ok(note.to_bytes())
    }
}

/// The latest published state.
#[derive(Debug, Clone)]
struct Published {
    size: u64,
    root: Hash,
    note: Vec<u8>,
}

enum Msg {
    Entry(Pending),
    /// Asks for a checkpoint covering every entry queued before it.
    Sync(Completer),
}

struct Pending {
    entry: Vec<u8>,
    generation: Option<(String, GenerationUpdate)>,
    reply: Completer,
}

#[derive(Debug, Clone, Copy)]
enum GenerationUpdate {
    /// A new key (create, import): the generation starts over.
    Set(u64),
    /// The key was deleted at this generation.
    Delete(u64),
    /// Any other change: keep the highest.
    Max(u64),
}

/// An open log. Appends from any number of threads are grouped by one committer thread.
pub struct Log {
    origin: String,
    store: Arc<dyn LogStore>,
    published: Arc<RwLock<Published>>,
    verifiers: Vec<NoteVerifier>,
    tx: Option<SyncSender<Msg>>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Log({})", self.origin)
    }
}

impl Log {
    /// Opens the log in `store` under `origin`, checking that the stored checkpoint
    /// matches the stored tree and is signed by `signers`. An empty log publishes a
    /// checkpoint of size 0.
    ///
    /// # Errors
    /// [`LogError::Corrupt`] when the stored state does not match itself;
    /// [`LogError::InvalidSignature`] for a checkpoint not signed by these keys;
    /// [`LogError::InvalidInput`] for an origin that is not a valid key name;
    /// [`LogError::Storage`].
    pub fn open(
        store: Arc<dyn LogStore>,
        origin: &str,
        signers: CheckpointSigners,
    ) -> Result<Self> {
        let verifiers = signers.verifiers();
        let size = store.size()?;
        let hashes = Frontier::positions(size)
            .into_iter()
            .map(|(l, i)| StoreNodes(&*store).node(l, i))
            .collect::<Result<Vec<_>>>()?;
        let frontier = Frontier::from_parts(size, hashes)?;
        let note = match store.checkpoint()? {
            Some(note) => {
                let cp = verified_checkpoint(&note, &verifiers, origin)?;
                if cp.size > size || root_at(&*store, cp.size)? != cp.root {
                    return Err(LogError::Corrupt(
                        "stored checkpoint does not match the tree",
                    ));
                }
                if cp.size == size {
                    note
                } else {
                    // Entries made durable after the last checkpoint (the process
                    // stopped before the next one was due): sign them now.
                    let note = signers.sign(&Checkpoint {
                        origin: origin.to_owned(),
                        size,
                        root: frontier.root(),
                        extensions: vec![],
                    })?;
                    store.append(&LogBatch {
                        start: size,
                        entries: &[],
                        nodes: &[],
                        checkpoint: Some(&note),
                        generations: &[],
                    })?;
                    note
                }
            }
            None if size == 0 => {
                let note = signers.sign(&Checkpoint {
                    origin: origin.to_owned(),
                    size: 0,
                    root: merkle::EMPTY_ROOT,
                    extensions: vec![],
                })?;
                store.append(&LogBatch {
                    start: 0,
                    entries: &[],
                    nodes: &[],
                    checkpoint: Some(&note),
                    generations: &[],
                })?;
                note
            }
            None => return Err(LogError::Corrupt("log has entries but no checkpoint")),
        };
        let published = Arc::new(RwLock::new(Published {
            size,
            root: frontier.root(),
            note,
        }));
        let (tx, rx) = sync_channel(QUEUE_CAPACITY);
        let worker = {
            let committer = Committer {
                origin: origin.to_owned(),
                store: Arc::clone(&store),
                signers,
                frontier,
                published: Arc::clone(&published),
                due: Instant::now(),
                unsaved: None,
            };
            std::thread::Builder::new()
                .name("aunsorm-log-commit".into())
                .spawn(move || committer.run(&rx))
                .map_err(|e| LogError::Storage(aunsorm_store::StoreError::Storage(Box::new(e))))?
        };
        Ok(Log {
            origin: origin.to_owned(),
            store,
            published,
            verifiers,
            tx: Some(tx),
            worker: Some(worker),
        })
    }

    /// Appends `event` and returns its index once it is durable. A checkpoint covering
    /// it follows within [`CHECKPOINT_INTERVAL`]; [`Log::sync`] waits for one. Blocks
    /// while the queue is full.
    ///
    /// # Errors
    /// [`LogError::Closed`]; [`LogError::Storage`] when the batch could not be written
    /// (then nothing of it was written).
    pub fn append(&self, event: &Event) -> Result<u64> {
        self.submit(event)?.wait()
    }

    /// Queues `event` and returns at once with a [`Ticket`] that resolves to its index
    /// when it is durable: a thread blocks on
    /// [`Ticket::wait`], an async task awaits the ticket. Blocks only while the queue is
    /// full (back-pressure).
    ///
    /// # Errors
    /// [`LogError::Closed`].
    pub fn submit(&self, event: &Event) -> Result<Ticket> {
        let generation = match event {
            Event::Key(k) => Some((k.key.clone(), update_for(k))),
            Event::Op(_) => None,
        };
        self.send(event.to_bytes(), generation)
    }

    /// [`Self::submit`] for an operation's audit entry, from borrowed fields.
    ///
    /// # Errors
    /// [`LogError::Closed`].
    pub fn submit_op(&self, op: &crate::OpRecord<'_>) -> Result<Ticket> {
        self.send(op.to_bytes(), None)
    }

    fn send(
        &self,
        entry: Vec<u8>,
        generation: Option<(String, GenerationUpdate)>,
    ) -> Result<Ticket> {
        let (ticket, reply) = ticket::ticket();
        self.tx
            .as_ref()
            .ok_or(LogError::Closed)?
            .send(Msg::Entry(Pending {
                entry,
                generation,
                reply,
            }))
            .map_err(|_| LogError::Closed)?;
        Ok(ticket)
    }

    /// Publishes a checkpoint covering every entry submitted so far (signing one now
    /// unless the published one already covers them) and returns its size.
    ///
    /// # Errors
    /// [`LogError::Closed`]; [`LogError::Storage`] when the checkpoint could not be
    /// written.
    pub fn sync(&self) -> Result<u64> {
        let (ticket, reply) = ticket::ticket();
        self.tx
            .as_ref()
            .ok_or(LogError::Closed)?
            .send(Msg::Sync(reply))
            .map_err(|_| LogError::Closed)?;
        ticket.wait()
    }

    /// The log's origin line.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The verifier keys of the checkpoint signers.
    #[must_use]
    pub fn verifiers(&self) -> &[NoteVerifier] {
        &self.verifiers
    }

    /// The latest signed checkpoint, as a note.
    ///
    /// # Errors
    /// [`LogError::Corrupt`] if the state lock was poisoned.
    pub fn checkpoint(&self) -> Result<Vec<u8>> {
        Ok(self.published()?.note)
    }

    /// Entries covered by the latest checkpoint.
    ///
    /// # Errors
    /// As [`Log::checkpoint`].
    pub fn size(&self) -> Result<u64> {
        Ok(self.published()?.size)
    }

    /// The root hash of the latest checkpoint.
    ///
    /// # Errors
    /// As [`Log::checkpoint`].
    pub fn root(&self) -> Result<Hash> {
        Ok(self.published()?.root)
    }

    /// The entry at `index`.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] beyond the published size; storage errors.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        let size = self.size()?;
        if index >= size {
            return Err(beyond(index, size));
        }
        self.store
            .entries(index, index + 1)?
            .pop()
            .ok_or(LogError::Corrupt("missing entry"))
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] when `index >= size` or `size` is beyond the
    /// published tree.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        merkle::inclusion_proof(&StoreNodes(&*self.store), index, size)
    }

    /// The consistency proof from `size1` to `size2`.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] unless `0 < size1 <= size2 <=` the published size.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>> {
        self.check_size(size2)?;
        merkle::consistency_proof(&StoreNodes(&*self.store), size1, size2)
    }

    /// The hash tile at tile level `level`, index `index`, `width` hashes wide, as
    /// tlog-tiles serves it (concatenated hashes).
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for a tile the published tree does not have.
    pub fn tile(&self, level: u8, index: u64, width: u64) -> Result<Vec<u8>> {
        let size = self.size()?;
        let tree_level = u32::from(level) * u32::from(TILE_HEIGHT);
        let available = size.checked_shr(tree_level).unwrap_or(0);
        let (start, end) = tile_range(index, width, available)?;
        let tree_level = u8::try_from(tree_level)
            .map_err(|_| LogError::InvalidInput("tile level out of range".into()))?;
        Ok(level_hashes(&*self.store, tree_level, start, end)?.concat())
    }

    /// The entry bundle `index`, `width` entries wide.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for a bundle the published log does not have.
    pub fn entry_bundle(&self, index: u64, width: u64) -> Result<Vec<u8>> {
        let (start, end) = tile_range(index, width, self.size()?)?;
        let entries = self.store.entries(start, end)?;
        if entries.len() as u64 != end - start {
            return Err(LogError::Corrupt("missing entries"));
        }
        tiles::encode_bundle(&entries)
    }

    /// What the log has recorded for the key `name` (for rollback checks).
    ///
    /// # Errors
    /// [`LogError::Storage`].
    pub fn key_generation(&self, name: &str) -> Result<Option<KeyGeneration>> {
        Ok(self.store.key_generation(name)?)
    }

    /// Checks that the published log is a consistent extension of `trusted`, a signed
    /// checkpoint kept outside the log (by a witness, or by the server beside its
    /// configuration).
    ///
    /// # Errors
    /// [`LogError::InvalidSignature`] or [`LogError::InvalidInput`] for a checkpoint
    /// that is not this log's; [`LogError::Inconsistent`] when the log is shorter than
    /// it or does not extend it (the log was rolled back or forked).
    pub fn check_extends(&self, trusted: &[u8]) -> Result<()> {
        let old = verified_checkpoint(trusted, &self.verifiers, &self.origin)?;
        let now = self.published()?;
        if old.size > now.size {
            return Err(LogError::Inconsistent(format!(
                "the log has {} entries, fewer than the trusted checkpoint's {}",
                now.size, old.size
            )));
        }
        if old.size == 0 {
            return Ok(());
        }
        let proof = merkle::consistency_proof(&StoreNodes(&*self.store), old.size, now.size)?;
        merkle::verify_consistency(old.size, now.size, &proof, &old.root, &now.root).map_err(|_| {
            LogError::Inconsistent("the log is not an extension of the trusted checkpoint".into())
        })
    }

    /// The index of the first entry equal to `entry`, searching the published log.
    ///
    /// # Errors
    /// Storage errors.
    pub fn find_entry(&self, entry: &[u8]) -> Result<Option<u64>> {
        find_entry(&*self.store, self.size()?, entry)
    }

    /// Stops accepting entries, commits every queued one, and waits for the committer.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }

    fn published(&self) -> Result<Published> {
        Ok(self
            .published
            .read()
            .map_err(|_| LogError::Corrupt("log state lock poisoned"))?
            .clone())
    }

    fn check_size(&self, size: u64) -> Result<()> {
        let published = self.size()?;
        if size > published {
            return Err(LogError::InvalidInput(format!(
                "tree size {size} is beyond the published size {published}"
            )));
        }
        Ok(())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}

struct Committer {
    origin: String,
    store: Arc<dyn LogStore>,
    signers: CheckpointSigners,
    frontier: Frontier,
    published: Arc<RwLock<Published>>,
    /// When the next checkpoint is due (if entries are waiting for one) or the
    /// published one is due to be stored (if it is not yet).
    due: Instant,
    /// The published checkpoint, when it is not yet stored: it goes into the next
    /// batch's transaction, or its own after [`CHECKPOINT_INTERVAL`] of quiet.
    unsaved: Option<Vec<u8>>,
}

/// Adds a message to the batch being formed.
fn take(m: Msg, batch: &mut Vec<Pending>, syncs: &mut Vec<Completer>) {
    match m {
        Msg::Entry(p) => batch.push(p),
        Msg::Sync(reply) => syncs.push(reply),
    }
}

/// Takes what is queued, up to a full batch.
fn drain(rx: &Receiver<Msg>, batch: &mut Vec<Pending>, syncs: &mut Vec<Completer>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(m) => take(m, batch, syncs),
            Err(_) => return,
        }
    }
}

/// With pacing on: while every worker is busy (each may be about to submit), keeps
/// taking entries, until a worker is idle, [`pacing::GATHER_LIMIT`] has passed or the
/// batch is full.
fn gather(rx: &Receiver<Msg>, batch: &mut Vec<Pending>, syncs: &mut Vec<Completer>) {
    let deadline = Instant::now() + pacing::GATHER_LIMIT;
    while batch.len() < MAX_BATCH && !pacing::any_idle_or_notify() {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Woken early by the next worker to go idle.
        std::thread::park_timeout(deadline - now);
        drain(rx, batch, syncs);
    }
    pacing::stop_gathering();
}

impl Committer {
    fn run(mut self, rx: &Receiver<Msg>) {
        pacing::register();
        self.run_loop(rx);
        pacing::unregister();
    }

    fn run_loop(&mut self, rx: &Receiver<Msg>) {
        loop {
            let first = if self.unsigned() || self.unsaved.is_some() {
                match rx.recv_timeout(self.due.saturating_duration_since(Instant::now())) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => {
                        self.settle();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            };
            let mut batch = Vec::new();
            let mut syncs = Vec::new();
            take(first, &mut batch, &mut syncs);
            drain(rx, &mut batch, &mut syncs);
            if pacing::enabled() && !batch.is_empty() {
                gather(rx, &mut batch, &mut syncs);
            }
            self.batch(batch, syncs);
        }
        // Closing: the last entries get their checkpoint, and it is stored.
        self.settle();
    }

    /// Whether durable entries are not yet covered by the published checkpoint.
    fn unsigned(&self) -> bool {
        self.published
            .read()
            .map_or(true, |p| p.size < self.frontier.size())
    }

    /// Signs a checkpoint if entries wait for one, and stores the published checkpoint
    /// if it is not yet stored.
    fn settle(&mut self) {
        self.due = Instant::now() + CHECKPOINT_INTERVAL;
        if self.unsigned() && self.sign().is_err() {
            return;
        }
        if let Some(note) = self.unsaved.take()
            && self
                .store
                .append(&LogBatch {
                    start: self.frontier.size(),
                    entries: &[],
                    nodes: &[],
                    checkpoint: Some(&note),
                    generations: &[],
                })
                .is_err()
        {
            // Tried again with the next batch or after the next quiet interval.
            self.unsaved = Some(note);
        }
    }

    /// Commits `batch` in one transaction (with the published checkpoint if it is not
    /// yet stored) and acknowledges it; then publishes a checkpoint if one is due or
    /// asked for, and answers those who asked.
    fn batch(&mut self, mut batch: Vec<Pending>, syncs: Vec<Completer>) {
        if !batch.is_empty() {
            let start = self.frontier.size();
            let began = Instant::now();
            let committed = self.commit(&mut batch);
            match &committed {
                Ok(()) => crate::observe::commit(
                    batch.len(),
                    began.elapsed().as_secs_f64(),
                    self.frontier.size(),
                ),
                Err(_) => crate::observe::commit_failed(),
            }
            match committed {
                Ok(()) => {
                    for (i, p) in batch.into_iter().enumerate() {
                        p.reply.complete(Ok(start + i as u64));
                    }
                }
                Err(e) => {
                    let why = e.to_string();
                    for p in batch {
                        p.reply.complete(Err(why.clone()));
                    }
                }
            }
        }
        if !self.unsigned() || (syncs.is_empty() && Instant::now() < self.due) {
            for s in syncs {
                s.complete(self.published.read().map_or_else(
                    |_| Err("log state lock poisoned".to_owned()),
                    |p| Ok(p.size),
                ));
            }
            return;
        }
        let signed = self.sign();
        for s in syncs {
            s.complete(signed.as_ref().map(|n| *n).map_err(ToString::to_string));
        }
    }

    /// Signs a checkpoint of every durable entry and publishes it (to be stored with
    /// the next transaction). Returns its size.
    fn sign(&mut self) -> Result<u64> {
        self.due = Instant::now() + CHECKPOINT_INTERVAL;
        let size = self.frontier.size();
        let root = self.frontier.root();
        let note = self.signers.sign(&Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: vec![],
        })?;
        self.unsaved = Some(note.clone());
        crate::observe::checkpoint_signed();
        let mut p = self
            .published
            .write()
            .map_err(|_| LogError::Corrupt("log state lock poisoned"))?;
        *p = Published { size, root, note };
        Ok(size)
    }

    fn commit(&mut self, batch: &mut [Pending]) -> Result<()> {
        let start = self.frontier.size();
        let mut frontier = self.frontier.clone();
        let mut nodes = Vec::new();
        for p in batch.iter() {
            frontier.push(merkle::leaf_hash(&p.entry), |l, i, h| {
                if is_stored_level(l) {
                    nodes.push((l, i, *h));
                }
            });
        }
        let mut generations: HashMap<String, KeyGeneration> = HashMap::new();
        for p in batch.iter() {
            let Some((name, update)) = &p.generation else {
                continue;
            };
            let current = match generations.get(name) {
                Some(g) => Some(*g),
                None => self.store.key_generation(name)?,
            };
            let next = match (*update, current) {
                (GenerationUpdate::Set(g), _) => KeyGeneration {
                    generation: g,
                    deleted: false,
                },
                (GenerationUpdate::Delete(g), _) => KeyGeneration {
                    generation: g,
                    deleted: true,
                },
                (GenerationUpdate::Max(g), Some(c)) if c.generation >= g => c,
                (GenerationUpdate::Max(g), _) => KeyGeneration {
                    generation: g,
                    deleted: false,
                },
            };
            generations.insert(name.clone(), next);
        }
        let generations: Vec<(String, KeyGeneration)> = generations.into_iter().collect();
        let entries: Vec<Vec<u8>> = batch
            .iter_mut()
            .map(|p| std::mem::take(&mut p.entry))
            .collect();
        self.store.append(&LogBatch {
            start,
            entries: &entries,
            nodes: &nodes,
            checkpoint: self.unsaved.as_deref(),
            generations: &generations,
        })?;
        self.unsaved = None;
        self.frontier = frontier;
        Ok(())
    }
}

fn update_for(k: &KeyEvent) -> GenerationUpdate {
    match k.op.as_str() {
        "create" | "import" => GenerationUpdate::Set(k.generation),
        "delete" => GenerationUpdate::Delete(k.generation),
        _ => GenerationUpdate::Max(k.generation),
    }
}

/// Whether the tree's complete nodes at `level` are stored: those of the tile levels
/// above the leaves (tree levels 8, 16, ...), which tlog-tiles serves as hash tiles.
/// Leaf hashes are the entries' hashes and every other node is computed from the
/// stored level below it (at most 128 hashes), so a batch writes one node row per 256
/// entries instead of about two per entry: node rows at every level dirtied a page per
/// level in each transaction.
fn is_stored_level(level: u8) -> bool {
    level > 0 && level.is_multiple_of(TILE_HEIGHT)
}

/// The hashes at tree `level` for indexes `start..end` of the stored tree: leaf hashes
/// from the entries at level 0, stored nodes at the other tile levels. `level` must be
/// a tile level.
fn level_hashes(store: &dyn LogStore, level: u8, start: u64, end: u64) -> Result<Vec<Hash>> {
    let hashes: Vec<Hash> = if level == 0 {
        store
            .entries(start, end)?
            .iter()
            .map(|e| merkle::leaf_hash(e))
            .collect()
    } else {
        store.nodes(level, start, end)?
    };
    if hashes.len() as u64 != end.saturating_sub(start) {
        return Err(LogError::Corrupt("missing tree nodes"));
    }
    Ok(hashes)
}

/// Complete nodes of the stored tree: read at the tile levels, computed from the tile
/// level below otherwise.
struct StoreNodes<'a>(&'a dyn LogStore);

impl NodeSource for StoreNodes<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        let base = level - level % TILE_HEIGHT;
        let up = level - base;
        let start = index
            .checked_shl(u32::from(up))
            .filter(|s| s >> up == index)
            .ok_or(LogError::Corrupt("missing tree node"))?;
        let mut hashes = level_hashes(self.0, base, start, start + (1 << up))?;
        for _ in 0..up {
            hashes = hashes
                .chunks_exact(2)
                .map(|pair| merkle::node_hash(&pair[0], &pair[1]))
                .collect();
        }
        hashes.pop().ok_or(LogError::Corrupt("missing tree node"))
    }
}

/// The root of the first `size` stored entries, from the stored nodes.
fn root_at(store: &dyn LogStore, size: u64) -> Result<Hash> {
    let hashes = Frontier::positions(size)
        .into_iter()
        .map(|(l, i)| StoreNodes(store).node(l, i))
        .collect::<Result<Vec<_>>>()?;
    Ok(Frontier::from_parts(size, hashes)?.root())
}

fn tile_range(index: u64, width: u64, available: u64) -> Result<(u64, u64)> {
    if width == 0 || width > TILE_WIDTH {
        return Err(LogError::InvalidInput("tile width out of range".into()));
    }
    let start = index
        .checked_mul(TILE_WIDTH)
        .ok_or_else(|| LogError::InvalidInput("tile index out of range".into()))?;
    let end = start + width;
    // A full tile must be complete; a partial tile must be exactly what exists.
    let exists = available.saturating_sub(start).min(TILE_WIDTH);
    if exists == 0
        || (width == TILE_WIDTH && exists < TILE_WIDTH)
        || (width < TILE_WIDTH && width > exists)
    {
        return Err(LogError::InvalidInput(format!(
            "tile {index} of width {width} is beyond the tree"
        )));
    }
    Ok((start, end))
}

fn beyond(index: u64, size: u64) -> LogError {
    LogError::InvalidInput(format!("index {index} is beyond the log size {size}"))
}

/// Parses a signed checkpoint note, checks every verifier signed it and (if given) its
/// origin.
///
/// # Errors
/// [`LogError::InvalidInput`] for malformed notes or checkpoints or another origin;
/// [`LogError::InvalidSignature`].
pub fn verified_checkpoint(
    note: &[u8],
    verifiers: &[NoteVerifier],
    origin: &str,
) -> Result<Checkpoint> {
    let n = SignedNote::parse(note)?;
    n.verify_all(verifiers)?;
    let cp = Checkpoint::parse(&n.text)?;
    if cp.origin != origin {
        return Err(LogError::InvalidInput(format!(
            "checkpoint of origin {:?}, expected {origin:?}",
            cp.origin
        )));
    }
    Ok(cp)
}

/// The index of the first of the first `size` entries of `store` equal to `entry`.
///
/// # Errors
/// Storage errors.
pub fn find_entry(store: &dyn LogStore, size: u64, entry: &[u8]) -> Result<Option<u64>> {
    const CHUNK: u64 = 4096;
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        if let Some(i) = store.entries(start, end)?.iter().position(|e| e == entry) {
            return Ok(Some(start + i as u64));
        }
        start = end;
    }
    Ok(None)
}

/// An inclusion proof of the entry at `index` against the stored checkpoint, checked.
///
/// # Errors
/// [`LogError::InvalidInput`] for an index beyond the log; [`LogError::InvalidProof`]
/// when the entry is not in the tree the checkpoint commits to.
pub fn prove_inclusion(store: &dyn LogStore, cp: &Checkpoint, index: u64) -> Result<Vec<Hash>> {
    if index >= cp.size {
        return Err(beyond(index, cp.size));
    }
    let entry = store
        .entries(index, index + 1)?
        .pop()
        .ok_or(LogError::Corrupt("missing entry"))?;
    let proof = merkle::inclusion_proof(&StoreNodes(store), index, cp.size)?;
    merkle::verify_inclusion(index, cp.size, &merkle::leaf_hash(&entry), &proof, &cp.root)?;
    Ok(proof)
}

/// What [`audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The verified checkpoint of the stored log.
    pub checkpoint: Checkpoint,
    /// Entries checked.
    pub entries: u64,
    /// Of those, entries stored after the checkpoint (durable, checked against the
    /// stored tree, but not yet under a signature: the log stopped before the next
    /// checkpoint was due; opening it signs one).
    pub unsigned: u64,
}

/// Checks a stored log from scratch, trusting nothing in it: the checkpoint's
/// signatures, every entry (rehashed), every stored node against the rehashed tree, the
/// root, and — given a checkpoint the caller kept — that the log is a consistent
/// extension of it.
///
/// # Errors
/// [`LogError::InvalidSignature`] for a forged checkpoint; [`LogError::Corrupt`] for an
/// edited, removed or reordered entry or node; [`LogError::Inconsistent`] when the log
/// does not extend `trusted`; storage errors.
pub fn audit(
    store: &dyn LogStore,
    verifiers: &[NoteVerifier],
    origin: &str,
    trusted: Option<&[u8]>,
) -> Result<AuditReport> {
    let note = store
        .checkpoint()?
        .ok_or(LogError::Corrupt("log has no checkpoint"))?;
    let cp = verified_checkpoint(&note, verifiers, origin)?;
    let size = store.size()?;
    if cp.size > size {
        return Err(LogError::Corrupt(
            "the checkpoint covers more entries than are stored",
        ));
    }
    const CHUNK: u64 = 4096;
    let mut frontier = Frontier::default();
    let mut signed_root = (cp.size == 0).then_some(merkle::EMPTY_ROOT);
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        let entries = store.entries(start, end)?;
        if entries.len() as u64 != end - start {
            return Err(LogError::Corrupt("an entry is missing"));
        }
        let mut computed: Vec<(u8, u64, Hash)> = Vec::new();
        for e in &entries {
            Event::parse(e).map_err(|_| LogError::Corrupt("an entry is not an event"))?;
            frontier.push(merkle::leaf_hash(e), |l, i, h| {
                if is_stored_level(l) {
                    computed.push((l, i, *h));
                }
            });
            if frontier.size() == cp.size {
                signed_root = Some(frontier.root());
            }
        }
        computed.sort_unstable_by_key(|(l, i, _)| (*l, *i));
        for level_nodes in computed.chunk_by(|a, b| a.0 == b.0) {
            let (level, first, _) = level_nodes[0];
            let last = level_nodes[level_nodes.len() - 1].1;
            let stored = store.nodes(level, first, last + 1)?;
            let want: Vec<Hash> = level_nodes.iter().map(|n| n.2).collect();
            if stored != want {
                return Err(LogError::Corrupt(
                    "stored tree nodes do not match the entries",
                ));
            }
        }
        start = end;
    }
    if signed_root != Some(cp.root) {
        return Err(LogError::Corrupt(
            "entries do not match the checkpoint's root",
        ));
    }
    if let Some(t) = trusted {
        let old = verified_checkpoint(t, verifiers, origin)?;
        if old.size > size {
            return Err(LogError::Inconsistent(format!(
                "the log has {size} entries, fewer than the trusted checkpoint's {}",
                old.size
            )));
        }
        if old.size > 0 {
            let root = frontier.root();
            let proof = merkle::consistency_proof(&StoreNodes(store), old.size, size)?;
            merkle::verify_consistency(old.size, size, &proof, &old.root, &root).map_err(|_| {
                LogError::Inconsistent(
                    "the log is not an extension of the trusted checkpoint".into(),
                )
            })?;
        }
    }
    Ok(AuditReport {
        unsigned: size - cp.size,
        checkpoint: cp,
        entries: size,
    })
}

/// Checks a log through its entry bundles, as a remote witness does over tlog-tiles:
/// the checkpoint's signatures, every entry (rehashed) against the checkpoint's root,
/// and — given a checkpoint the caller kept — that the log extends it (the root of the
/// first `trusted.size` entries must be the trusted root). `bundle(n, width)` fetches
/// entry bundle `n` holding `width` entries; `each(index, entry)` sees every entry.
///
/// # Errors
/// As [`audit`]: [`LogError::InvalidSignature`], [`LogError::Corrupt`] (a bundle of
/// the wrong size, an entry that is not an event, entries that do not hash to the
/// root), [`LogError::Inconsistent`]; and whatever `bundle` fails with.
pub fn audit_bundles(
    note: &[u8],
    verifiers: &[NoteVerifier],
    origin: &str,
    trusted: Option<&[u8]>,
    mut bundle: impl FnMut(u64, u64) -> Result<Vec<Vec<u8>>>,
    mut each: impl FnMut(u64, &[u8]),
) -> Result<AuditReport> {
    let cp = verified_checkpoint(note, verifiers, origin)?;
    let old = trusted
        .map(|t| verified_checkpoint(t, verifiers, origin))
        .transpose()?;
    if let Some(o) = old.as_ref().filter(|o| o.size > cp.size) {
        return Err(LogError::Inconsistent(format!(
            "the log has {} entries, fewer than the trusted checkpoint's {}",
            cp.size, o.size
        )));
    }
    let mut frontier = Frontier::default();
    let mut old_root = None;
    let mut index = 0;
    while index < cp.size {
        let n = index / TILE_WIDTH;
        let width = (cp.size - n * TILE_WIDTH).min(TILE_WIDTH);
        let entries = bundle(n, width)?;
        if entries.len() as u64 != width {
            return Err(LogError::Corrupt(
                "an entry bundle holds the wrong number of entries",
            ));
        }
        for e in &entries {
            Event::parse(e).map_err(|_| LogError::Corrupt("an entry is not an event"))?;
            frontier.push(merkle::leaf_hash(e), |_, _, _| {});
            each(index, e);
            index += 1;
            if old.as_ref().is_some_and(|o| o.size == index) {
                old_root = Some(frontier.root());
            }
        }
    }
    if frontier.root() != cp.root {
        return Err(LogError::Corrupt(
            "entries do not match the checkpoint's root",
        ));
    }
    if let Some(o) = old.filter(|o| o.size > 0)
        && old_root != Some(o.root)
    {
        return Err(LogError::Inconsistent(
            "the log is not an extension of the trusted checkpoint".into(),
        ));
    }
    Ok(AuditReport {
        checkpoint: cp,
        entries: index,
        unsigned: 0,
    })
}
