#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod checkpoint;
mod error;
pub mod event;
#[doc(hidden)]
pub mod fuzzing;
mod log;
pub mod merkle;
pub mod note;
mod observe;
pub mod pacing;
mod ticket;
pub mod tiles;

pub use checkpoint::Checkpoint;
pub use error::{LogError, Result};
pub use event::{Event, KeyEvent, OpEvent, OpRecord};
pub use log::{
    AuditReport, CHECKPOINT_INTERVAL, CheckpointSigners, Log, MAX_BATCH, QUEUE_CAPACITY, audit,
    audit_bundles, find_entry, prove_inclusion, verified_checkpoint,
};
pub use note::{NoteSigner, NoteVerifier, SignedNote};
pub use observe::global_metrics_installed;
pub use ticket::Ticket;

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];
