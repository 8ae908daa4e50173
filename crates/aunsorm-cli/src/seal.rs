//! `aunsorm seal` / `aunsorm open`: streaming file encryption to a KEM public key, in
//! constant memory, with the format of `aunsorm_crypto::envelope` (docs/formats.md).

use crate::io::{AtomicFile, is_std};
use crate::pkey::{load_private, load_public};
use crate::{Failure, usage};
use aunsorm_crypto::{Algorithm, envelope};
use clap::Args;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct SealArgs {
    /// Recipient public key (SubjectPublicKeyInfo, PEM or DER).
    #[arg(long)]
    to: PathBuf,
    /// Input file (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Output file (`-` or absent: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Payload AEAD: aes-256-gcm or chacha20-poly1305.
    #[arg(long, default_value = "aes-256-gcm")]
    aead: String,
    /// Chunk size as a power of two, 12 (4 KiB) to 24 (16 MiB).
    #[arg(long, default_value_t = envelope::DEFAULT_CHUNK_LOG2)]
    chunk_log2: u8,
}

#[derive(Args)]
pub(crate) struct OpenArgs {
    /// Private key (PKCS#8, PEM or DER).
    #[arg(long)]
    key: PathBuf,
    /// Sealed input (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Output file (`-` or absent: stdout). A file appears only once the whole input
    /// has been authenticated.
    #[arg(long)]
    out: Option<PathBuf>,
}

enum Sink {
    Stdout(BufWriter<std::io::Stdout>),
    File(AtomicFile, Option<BufWriter<std::fs::File>>),
}

impl Sink {
    fn new(out: &Option<PathBuf>, secret: bool) -> Result<Self, Failure> {
        if is_std(out) {
            return Ok(Sink::Stdout(BufWriter::with_capacity(
                1 << 20,
                std::io::stdout(),
            )));
        }
        let path = out.as_deref().ok_or_else(|| usage("no output"))?;
        let mut f = AtomicFile::create(path, secret)?;
        let w = BufWriter::with_capacity(1 << 20, f.file().try_clone()?);
        Ok(Sink::File(f, Some(w)))
    }

    fn write(&mut self, b: &[u8]) -> Result<(), Failure> {
        match self {
            Sink::Stdout(w) => w.write_all(b)?,
            Sink::File(_, Some(w)) => w.write_all(b)?,
            Sink::File(_, None) => return Err(usage("output closed")),
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Failure> {
        match self {
            Sink::Stdout(mut w) => Ok(w.flush()?),
            Sink::File(f, Some(mut w)) => {
                w.flush()?;
                drop(w);
                f.commit()
            }
            Sink::File(_, None) => Err(usage("output closed")),
        }
    }
}

fn source(input: &Option<PathBuf>) -> Result<(Box<dyn Read>, Option<u64>), Failure> {
    if is_std(input) {
        return Ok((
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            None,
        ));
    }
    let path = input.as_deref().ok_or_else(|| usage("no input"))?;
    let f = std::fs::File::open(path).map_err(|e| Failure::Error {
        code: "io",
        message: format!("cannot open {}: {e}", path.display()),
    })?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 20, f)), len))
}

/// Reads until `buf` holds `n` bytes or the input ends.
fn read_up_to(r: &mut dyn Read, buf: &mut Vec<u8>, n: usize) -> Result<(), Failure> {
    buf.clear();
    let mut taken = r.take(n as u64);
    taken.read_to_end(buf)?;
    Ok(())
}

fn progress(len: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len?);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .ok()?,
    );
    Some(pb)
}

pub(crate) fn seal(a: SealArgs) -> Result<(), Failure> {
    let recipient = load_public(&a.to)?;
    let aead: Algorithm = a.aead.parse()?;
    let (header, mut sealer) = envelope::seal_start(&recipient, aead, a.chunk_log2)?;
    let (mut input, len) = source(&a.input)?;
    let mut sink = Sink::new(&a.out, false)?;
    sink.write(&header)?;
    let cs = sealer.chunk_size();
    pump(&mut input, &mut sink, cs, len, |buf, last| {
        Ok(sealer.seal_chunk(buf, last)?)
    })?;
    sink.finish()
}

pub(crate) fn open(a: OpenArgs) -> Result<(), Failure> {
    let key = load_private(&Some(a.key))?;
    let (mut input, len) = source(&a.input)?;
    let mut header = vec![0u8; envelope::FIXED_HEADER_LEN];
    input
        .read_exact(&mut header)
        .map_err(|_| usage("not an Aunsorm sealed file (too short)"))?;
    let total = envelope::SealHeader::total_len(&header)?;
    header.resize(total, 0);
    input
        .read_exact(&mut header[envelope::FIXED_HEADER_LEN..])
        .map_err(|_| usage("truncated sealed-file header"))?;
    let mut opener = envelope::open_start(&key, &header)?;
    let scs = opener.sealed_chunk_size();
    let mut sink = Sink::new(&a.out, false)?;
    pump(&mut input, &mut sink, scs, len, |buf, last| {
        opener.open_chunk(buf, last).map_err(|_| Failure::Error {
            code: "decryption_failed",
            message: "the sealed file is corrupt, truncated or was modified; no output written"
                .into(),
        })
    })?;
    sink.finish()
}

/// Moves the input through `step` in chunks of `chunk` bytes, telling `step` which
/// chunk is the last: a chunk is last when nothing follows it, so one chunk is read
/// ahead. Two buffers, whatever the input's size.
fn pump(
    input: &mut dyn Read,
    sink: &mut Sink,
    chunk: usize,
    len: Option<u64>,
    mut step: impl FnMut(&mut Vec<u8>, bool) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let pb = progress(len);
    let (mut cur, mut next) = (
        Vec::with_capacity(chunk + 16),
        Vec::with_capacity(chunk + 16),
    );
    read_up_to(input, &mut cur, chunk)?;
    loop {
        read_up_to(input, &mut next, chunk)?;
        let last = next.is_empty();
        let n = cur.len() as u64;
        step(&mut cur, last)?;
        sink.write(&cur)?;
        if let Some(p) = &pb {
            p.inc(n);
        }
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    if let Some(p) = pb {
        p.finish_and_clear();
    }
    Ok(())
}
