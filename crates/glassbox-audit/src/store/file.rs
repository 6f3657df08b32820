//! The file store: a directory of append-only segment files `seg-NNNNNN.gba`, each a 16-byte
//! header and frames `len (u32 BE) | canonical record | sha256`. One writer per directory
//! (an exclusive lock on `.lock`); a torn last frame is cut at open, saved aside and recorded.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Encoded, Item, Location, Store};
use crate::record::{self, Hash, RecoveredBody};
use crate::AuditError;

/// Magic at the start of a segment file.
pub const SEGMENT_MAGIC: &[u8; 8] = b"GBAUDSEG";
/// Segment format version.
pub const SEGMENT_VERSION: u32 = 1;
/// Segment header length.
pub const SEGMENT_HEADER: usize = 16;
/// Largest canonical record accepted in a frame.
pub const MAX_RECORD: usize = 16 << 20;
/// Default size at which a segment is rotated.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// File name of segment `n`.
pub fn segment_name(n: u32) -> String {
    format!("seg-{n:06}.gba")
}

fn segment_header(n: u32) -> [u8; SEGMENT_HEADER] {
    let mut h = [0u8; SEGMENT_HEADER];
    h[..8].copy_from_slice(SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_be_bytes());
    h[12..16].copy_from_slice(&n.to_be_bytes());
    h
}

/// Segment numbers present in `dir`, sorted.
fn list_segments(dir: &Path) -> Result<Vec<u32>, AuditError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| AuditError::io(dir, e))? {
        let entry = entry.map_err(|e| AuditError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix("seg-")
            .and_then(|r| r.strip_suffix(".gba"))
            .and_then(|n| n.parse::<u32>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// A frame found in a segment buffer.
struct Frame<'a> {
    offset: usize,
    bytes: &'a [u8],
    stored_hash: Hash,
}

/// Why parsing stopped before the end of a segment.
struct Stop {
    offset: usize,
    what: String,
}

/// Splits a segment (after its header) into frames; stops at the first frame that is not
/// complete.
fn frames(buf: &[u8]) -> (Vec<Frame<'_>>, Option<Stop>) {
    let mut out = Vec::new();
    let mut o = SEGMENT_HEADER.min(buf.len());
    while o < buf.len() {
        let rest = buf.len() - o;
        if rest < 4 {
            return (
                out,
                Some(Stop {
                    offset: o,
                    what: format!(
                        "truncated record: {rest} bytes where a 4-byte frame length belongs"
                    ),
                }),
            );
        }
        let len = u32::from_be_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]) as usize;
        if !(record::FIXED_HEADER..=MAX_RECORD).contains(&len) {
            return (
                out,
                Some(Stop {
                    offset: o,
                    what: format!(
                        "bad frame length {len} (a record is {}..={MAX_RECORD} bytes)",
                        record::FIXED_HEADER
                    ),
                }),
            );
        }
        if rest < 4 + len + 32 {
            return (
                out,
                Some(Stop {
                    offset: o,
                    what: format!(
                        "truncated record: frame needs {} bytes, only {rest} present",
                        4 + len + 32
                    ),
                }),
            );
        }
        let bytes = &buf[o + 4..o + 4 + len];
        let mut stored_hash = [0u8; 32];
        stored_hash.copy_from_slice(&buf[o + 4 + len..o + 4 + len + 32]);
        out.push(Frame {
            offset: o,
            bytes,
            stored_hash,
        });
        o += 4 + len + 32;
    }
    (out, None)
}

fn check_header(buf: &[u8], n: u32) -> Result<(), String> {
    if buf.len() < SEGMENT_HEADER {
        return Err(format!(
            "segment header truncated: {} of {SEGMENT_HEADER} bytes",
            buf.len()
        ));
    }
    if &buf[..8] != SEGMENT_MAGIC {
        return Err(format!("bad segment magic {:02x?}", &buf[..8]));
    }
    let v = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    if v != SEGMENT_VERSION {
        return Err(format!("unsupported segment version {v}"));
    }
    let m = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]);
    if m != n {
        return Err(format!(
            "header says segment {m} but the file is {}",
            segment_name(n)
        ));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, AuditError> {
    std::fs::read(path).map_err(|e| AuditError::io(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AuditError::io(dir, e))?;
    let _ = dir;
    Ok(())
}

/// Scans the chain of the file store in `dir`.
pub(crate) fn scan(
    dir: &Path,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    if !dir.is_dir() {
        return Err(AuditError::BadStore {
            store: dir.display().to_string(),
            reason:
                "not a directory (a file store is a directory; PostgreSQL needs a postgres:// URL)"
                    .into(),
        });
    }
    let segs = list_segments(dir)?;
    visit(Item::Chain(dir.display().to_string()))?;
    let mut buf = Vec::with_capacity(SCAN_CHUNK);
    if segs.is_empty() {
        return Ok(());
    }
    if segs[0] != 1 {
        visit(Item::Fault {
            loc: Location::File {
                segment: segs[0],
                offset: 0,
            },
            what: format!("segments 000001..{:06} are missing", segs[0] - 1),
        })?;
    }
    for (i, &n) in segs.iter().enumerate() {
        if i > 0 && n != segs[i - 1] + 1 {
            visit(Item::Fault {
                loc: Location::File {
                    segment: n,
                    offset: 0,
                },
                what: format!(
                    "segment(s) {:06}..{:06} missing before this one",
                    segs[i - 1] + 1,
                    n - 1
                ),
            })?;
        }
        scan_segment(&dir.join(segment_name(n)), n, &mut buf, visit)?;
    }
    Ok(())
}

/// How much of a segment a scan reads at a time.
const SCAN_CHUNK: usize = 4 << 20;

/// Streams one segment's frames to `visit`, reading it in chunks into `buf` (reused across
/// segments, so a scan never holds a whole segment in memory).
fn scan_segment(
    path: &Path,
    n: u32,
    buf: &mut Vec<u8>,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let io = |e| AuditError::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    let fault = |offset: usize, what: String| Item::Fault {
        loc: Location::File {
            segment: n,
            offset: offset as u64,
        },
        what,
    };
    buf.clear();
    // `base` is the file offset of buf[0]; frames are parsed from buf[pos..].
    let mut base = 0usize;
    let mut pos = 0usize;
    let mut eof = false;
    let mut header_checked = false;
    loop {
        // Top up the buffer: at least one chunk beyond what is unparsed.
        if !eof {
            if pos > 0 {
                buf.drain(..pos);
                base += pos;
                pos = 0;
            }
            let want = buf.len() + SCAN_CHUNK;
            while buf.len() < want {
                let old = buf.len();
                buf.resize(want, 0);
                let got = f.read(&mut buf[old..]).map_err(io)?;
                buf.truncate(old + got);
                if got == 0 {
                    eof = true;
                    break;
                }
            }
        }
        if !header_checked {
            if buf.len() < SEGMENT_HEADER && !eof {
                continue;
            }
            if let Err(what) = check_header(buf, n) {
                return visit(fault(0, what));
            }
            header_checked = true;
            pos = SEGMENT_HEADER;
        }
        // Parse every complete frame in the buffer.
        loop {
            let rest = buf.len() - pos;
            if rest < 4 {
                break;
            }
            let len =
                u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as usize;
            if !(record::FIXED_HEADER..=MAX_RECORD).contains(&len) {
                return visit(fault(
                    base + pos,
                    format!(
                        "bad frame length {len} (a record is {}..={MAX_RECORD} bytes)",
                        record::FIXED_HEADER
                    ),
                ));
            }
            if rest < 4 + len + 32 {
                break;
            }
            let mut stored_hash = [0u8; 32];
            stored_hash.copy_from_slice(&buf[pos + 4 + len..pos + 4 + len + 32]);
            visit(Item::Record {
                loc: Location::File {
                    segment: n,
                    offset: (base + pos) as u64,
                },
                bytes: &buf[pos + 4..pos + 4 + len],
                stored_hash,
            })?;
            pos += 4 + len + 32;
        }
        if eof {
            let rest = buf.len() - pos;
            if rest == 0 {
                return Ok(());
            }
            let what = if rest < 4 {
                format!("truncated record: {rest} bytes where a 4-byte frame length belongs")
            } else {
                let len = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]])
                    as usize;
                format!(
                    "truncated record: frame needs {} bytes, only {rest} present",
                    4 + len + 32
                )
            };
            return visit(fault(base + pos, what));
        }
    }
}

/// The writer side of a file store.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    _lock: File,
    segment: u32,
    segment_bytes: u64,
    max_segment_bytes: u64,
    out: BufWriter<File>,
    tail: Option<(u64, Hash)>,
    instance: Option<String>,
    pending: Option<(usize, String)>,
}

impl FileStore {
    /// Opens (creating if needed) the store in `dir`, takes its lock and finds the tail. A torn
    /// last frame is noted; [`Store::take_recovery`] cuts it (saving the bytes to
    /// `torn-<segment>-<offset>.bin`) and describes the cut for the `recovered` record.
    ///
    /// # Errors
    /// The directory cannot be created or locked, or the last segment is damaged in a way a
    /// crash cannot explain (a complete frame whose hash is wrong, followed by more frames).
    pub fn open(dir: &Path, max_segment_bytes: u64) -> Result<FileStore, AuditError> {
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| AuditError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    store: dir.display().to_string(),
                    reason: format!("{} is locked", lock_path.display()),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(AuditError::io(&lock_path, e)),
        }
        let corrupt = |reason: String| AuditError::Corrupt {
            store: dir.display().to_string(),
            reason,
        };
        let segs = list_segments(dir)?;
        let mut tail = None;
        let mut instance = None;
        // A torn tail found in the last segment: (offset, why). It is cut only when the writer
        // is about to record the cut (`take_recovery`), so a cut is never left unrecorded.
        let mut pending: Option<(usize, String)> = None;
        // Find the tail: the last frame of the last segment that has one.
        for &n in segs.iter().rev() {
            let path = dir.join(segment_name(n));
            let buf = read_file(&path)?;
            let is_last = Some(&n) == segs.last();
            if let Err(what) = check_header(&buf, n) {
                if is_last
                    && buf.len() < SEGMENT_HEADER
                    && SEGMENT_MAGIC.starts_with(&buf[..buf.len().min(8)])
                {
                    // A crash while creating the segment: its header is rewritten after the cut.
                    pending = Some((0, what));
                    continue;
                }
                return Err(corrupt(format!("{}: {what}", segment_name(n))));
            }
            let (mut fs, stop) = frames(&buf);
            if is_last {
                if let Some(s) = stop {
                    pending = Some((s.offset, s.what));
                } else if let Some(last) = fs.last() {
                    if record::hash(last.bytes) != last.stored_hash {
                        // A complete last frame whose bytes do not match its hash: a crash that
                        // left garbage. Cut it, keeping the bytes.
                        let what = "last record's bytes do not match its stored hash";
                        pending = Some((last.offset, what.to_string()));
                        fs.pop();
                    }
                }
            } else if let Some(s) = stop {
                return Err(corrupt(format!(
                    "{} byte {}: {}",
                    segment_name(n),
                    s.offset,
                    s.what
                )));
            }
            if let Some(f) = fs.last() {
                let h = record::decode(f.bytes)
                    .map_err(|e| corrupt(format!("{} byte {}: {e}", segment_name(n), f.offset)))?;
                tail = Some((h.seq, f.stored_hash));
                instance = Some(h.instance.to_string());
                break;
            }
        }
        let segment = segs.last().copied().unwrap_or(1);
        let path = dir.join(segment_name(segment));
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        let mut len = f.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        if let Some((offset, _)) = &pending {
            len = (*offset).max(SEGMENT_HEADER) as u64;
        } else if len == 0 {
            f.write_all(&segment_header(segment))
                .and_then(|()| f.sync_data())
                .map_err(|e| AuditError::io(&path, e))?;
            sync_dir(dir)?;
            len = SEGMENT_HEADER as u64;
        }
        Ok(FileStore {
            dir: dir.to_path_buf(),
            _lock: lock,
            segment,
            segment_bytes: len,
            max_segment_bytes: max_segment_bytes.max(SEGMENT_HEADER as u64 + 1),
            out: BufWriter::with_capacity(256 << 10, f),
            tail,
            instance,
            pending,
        })
    }

    fn rotate(&mut self) -> Result<(), AuditError> {
        self.sync()?;
        let next = self.segment + 1;
        let path = self.dir.join(segment_name(next));
        let mut f = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        f.write_all(&segment_header(next))
            .and_then(|()| f.sync_data())
            .map_err(|e| AuditError::io(&path, e))?;
        sync_dir(&self.dir)?;
        self.out = BufWriter::with_capacity(256 << 10, f);
        self.segment = next;
        self.segment_bytes = SEGMENT_HEADER as u64;
        Ok(())
    }

    fn segment_path(&self) -> PathBuf {
        self.dir.join(segment_name(self.segment))
    }
}

/// Cuts `buf[offset..]` from the segment file at `path`, saving the bytes aside.
fn cut(
    dir: &Path,
    n: u32,
    path: &Path,
    buf: &[u8],
    offset: usize,
    why: &str,
) -> Result<RecoveredBody, AuditError> {
    let torn = &buf[offset..];
    let saved = format!("torn-{n:06}-{offset}.bin");
    let saved_path = dir.join(&saved);
    std::fs::write(&saved_path, torn)
        .and_then(|()| File::open(&saved_path)?.sync_all())
        .map_err(|e| AuditError::io(&saved_path, e))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| AuditError::io(path, e))?;
    f.set_len(offset as u64)
        .and_then(|()| f.sync_all())
        .map_err(|e| AuditError::io(path, e))?;
    sync_dir(dir)?;
    Ok(RecoveredBody {
        location: format!("segment {n:06}, byte {offset}"),
        bytes: torn.len() as u64,
        sha256: hex::encode(Sha256::digest(torn)),
        reason: why.to_string(),
        saved_as: Some(saved),
    })
}

impl Store for FileStore {
    fn label(&self) -> String {
        self.dir.display().to_string()
    }

    fn existing_instance(&self) -> Option<String> {
        self.instance.clone()
    }

    fn tail(&self) -> Option<(u64, Hash)> {
        self.tail
    }

    fn take_recovery(&mut self) -> Result<Option<RecoveredBody>, AuditError> {
        let Some((offset, why)) = self.pending.take() else {
            return Ok(None);
        };
        let path = self.segment_path();
        let buf = read_file(&path)?;
        let body = cut(
            &self.dir,
            self.segment,
            &path,
            &buf,
            offset.min(buf.len()),
            &why,
        )?;
        if offset == 0 {
            // The header itself was torn: write it again (the file is empty, opened for append).
            let f = self.out.get_mut();
            f.write_all(&segment_header(self.segment))
                .and_then(|()| f.sync_data())
                .map_err(|e| AuditError::io(&path, e))?;
        }
        self.segment_bytes = offset.max(SEGMENT_HEADER) as u64;
        Ok(Some(body))
    }

    fn append(&mut self, rec: &Encoded) -> Result<(), AuditError> {
        let frame_len = 4 + rec.bytes.len() as u64 + 32;
        if rec.bytes.len() > MAX_RECORD {
            return Err(AuditError::Encode(format!(
                "record seq {} is {} bytes, over the {MAX_RECORD}-byte limit",
                rec.seq,
                rec.bytes.len()
            )));
        }
        if self.segment_bytes > SEGMENT_HEADER as u64
            && self.segment_bytes + frame_len > self.max_segment_bytes
        {
            self.rotate()?;
        }
        let path_err = |s: &Self, e| AuditError::io(s.segment_path(), e);
        // The length fits: MAX_RECORD < u32::MAX.
        let len = (rec.bytes.len() as u32).to_be_bytes();
        if let Err(e) = self
            .out
            .write_all(&len)
            .and_then(|()| self.out.write_all(&rec.bytes))
            .and_then(|()| self.out.write_all(&rec.hash))
        {
            return Err(path_err(self, e));
        }
        self.segment_bytes += frame_len;
        self.tail = Some((rec.seq, rec.hash));
        Ok(())
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        let r = self
            .out
            .flush()
            .and_then(|()| self.out.get_ref().sync_data());
        r.map_err(|e| AuditError::io(self.segment_path(), e))
    }
}

/// Reads the raw bytes of every segment (tests and tools that look for content in the store).
///
/// # Errors
/// I/O errors.
pub fn read_all_bytes(dir: &Path) -> Result<Vec<u8>, AuditError> {
    let mut all = Vec::new();
    for n in list_segments(dir)? {
        let p = dir.join(segment_name(n));
        File::open(&p)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(0))?;
                f.read_to_end(&mut all)
            })
            .map_err(|e| AuditError::io(&p, e))?;
    }
    Ok(all)
}
