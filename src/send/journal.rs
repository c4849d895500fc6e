//! The send journal: an append-only JSON Lines file of what was handed to a
//! server. It is what makes a re-run safe: a letter recorded as sent is
//! never sent again unless the user asks, and a letter whose message may
//! have left without a definite reply is uncertain and never resent on its
//! own.
//!
//! Durability: an `attempt` record is written and synced to disk
//! (`fdatasync`) before the message goes out; workers share one sync when
//! they are ready together (group commit, see [`Journal::written_to`]).
//! `sent`, `failed` and `uncertain` records follow with one `write` each;
//! if they are lost to a power cut, the letter reads as uncertain, never as
//! unsent. Only one run uses a journal at a time: [`Journal::open`] takes an
//! exclusive lock on the file for the whole run.
//!
//! Flat memory and fast start-up at any size: the journal is never loaded
//! whole. Beside it, `JOURNAL.index` holds one sorted 16-byte entry per key
//! (a hash of the key, where its deciding record is and what it says);
//! a lookup reads one 4 KiB block of it and the record it points to, and
//! compares the key itself, so a hash collision cannot mislead it. Records
//! written since the index was made (a killed run, a line added by hand) are
//! read from the journal's tail at start-up. The index is only a cache: it
//! names how much of the journal it covers and a checksum of the bytes just
//! before that point, and is rebuilt from the journal when missing, stale or
//! damaged. Deleting it is always safe.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fs_err as fs;
use serde::{Deserialize, Serialize};

use crate::error::runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// About to hand the message over (synced before it leaves).
    Attempt,
    /// A definite 2xx: the server took it.
    Sent,
    /// A definite refusal (or the run gave up before the message left).
    Failed,
    /// The message left and no definite reply came.
    Uncertain,
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub time: String,
    pub event: Event,
    /// Letter, recipient, address and signer: what "the same letter" means.
    pub key: String,
    pub message_id: String,
    /// The server's reply (sent, failed, uncertain).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply: String,
    /// Envelope recipients (sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
}

impl Record {
    fn new(event: Event, key: &str, message_id: &str, reply: &str, to: &[&str]) -> Record {
        Record {
            time: now(),
            event,
            key: key.to_string(),
            message_id: message_id.to_string(),
            reply: reply.to_string(),
            to: to.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The record as one journal line, newline included.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// What earlier runs did with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    Nothing,
    /// Accepted by a server at this time, with this Message-ID.
    Sent {
        time: String,
        message_id: String,
    },
    /// Handed over, but no definite answer is known: the run ended, the
    /// connection dropped after the message or the reply never came. The
    /// Message-ID of that attempt, to use again if it is resent.
    Uncertain {
        message_id: String,
    },
}

/// What the journal says about one key, packed with where it says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Offset of the deciding record: the `sent` one once sent, else the
    /// latest (every record of a key carries its Message-ID).
    offset: u64,
    flags: u8,
}

const SENT: u8 = 1;
/// Sticky until sent: a resend refused later does not make it unsent.
const UNCERTAIN: u8 = 2;
/// An attempt with no outcome yet: uncertain to any later run.
const PENDING: u8 = 4;

impl Entry {
    fn pack(self) -> u64 {
        (self.offset << 8) | u64::from(self.flags)
    }

    fn unpack(v: u64) -> Entry {
        Entry {
            offset: v >> 8,
            flags: (v & 0xff) as u8,
        }
    }

    /// The state after `event` (a record at `offset`) on top of `prev`.
    fn then(prev: Option<Entry>, event: Event, offset: u64) -> Entry {
        let flags = prev.map_or(0, |p| p.flags);
        let sent = flags & SENT != 0;
        let flags = match event {
            Event::Sent => SENT,
            Event::Attempt => flags | PENDING,
            Event::Uncertain => (flags & SENT) | UNCERTAIN,
            Event::Failed => flags & (SENT | UNCERTAIN),
        };
        let offset = match prev {
            Some(p) if sent && event != Event::Sent => p.offset,
            _ => offset,
        };
        Entry { offset, flags }
    }
}

/// Version 2 ends with the fence table (see `Index::fences`); an index of
/// another version is rebuilt.
const INDEX_MAGIC: &[u8; 8] = b"PLJIDX02";
const HEADER: u64 = 32;
const ENTRY: u64 = 16;
/// Entries per block read at once (4 KiB).
const BLOCK: u64 = 256;
/// Keys kept in memory before they are merged into the index file.
const DELTA_LIMIT: usize = 8_192;
/// Keys past the index at the end of a run that make it worth rewriting:
/// every later run reads them again at start-up (about 5 µs each, against
/// a one-letter send's 5 ms), and a rewrite costs one pass over the index.
const TAIL_LIMIT: usize = 512;

/// The index's entries in order, each (hash, entry).
type Entries<'a> = Box<dyn Iterator<Item = Result<(u64, Entry)>> + 'a>;

/// The sorted index file, read a block at a time.
struct Index {
    file: Option<File>,
    count: u64,
    /// The first hash of every block, for the binary search.
    fences: Vec<u64>,
    /// Journal bytes the index covers.
    covered: u64,
}

impl Index {
    fn empty() -> Index {
        Index {
            file: None,
            count: 0,
            fences: Vec::new(),
            covered: 0,
        }
    }

    /// The index at `path` if it matches the journal, else an empty one.
    fn open(path: &Path, journal: &File, journal_len: u64) -> Index {
        Index::try_open(path, journal, journal_len).unwrap_or_else(Index::empty)
    }

    fn try_open(path: &Path, journal: &File, journal_len: u64) -> Option<Index> {
        let mut file = File::open(path).ok()?;
        let mut header = [0u8; HEADER as usize];
        file.read_exact(&mut header).ok()?;
        if &header[..8] != INDEX_MAGIC {
            return None;
        }
        let word = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().unwrap_or_default());
        let (covered, count, check) = (word(8), word(16), word(24));
        let size = file.metadata().ok()?.len();
        let blocks = count.div_ceil(BLOCK);
        if size != HEADER + count * ENTRY + blocks * 8 || covered > journal_len {
            return None;
        }
        if tail_check(journal, covered).ok()? != check {
            return None;
        }
        // The fences are stored after the entries, so that opening the index
        // of a million letters reads 31 KB at once, not the first hash of
        // each of its 3,900 blocks one at a time (6 ms).
        let mut table = vec![0u8; usize::try_from(blocks * 8).ok()?];
        read_exact_at(&file, &mut table, HEADER + count * ENTRY).ok()?;
        let fences: Vec<u64> = table
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect();
        Some(Index {
            file: Some(file),
            count,
            fences,
            covered,
        })
    }

    /// Every entry with this hash.
    fn get(&self, hash: u64) -> Result<Vec<Entry>> {
        let Some(file) = &self.file else {
            return Ok(Vec::new());
        };
        // The last block whose first hash is below `hash`: equal hashes may
        // start at the end of the block before the first one equal to it.
        let mut block = self.fences.partition_point(|&f| f < hash).saturating_sub(1) as u64;
        let mut found = Vec::new();
        let mut buf = vec![0u8; (BLOCK * ENTRY) as usize];
        while block * BLOCK < self.count {
            let n = (self.count - block * BLOCK).min(BLOCK);
            let bytes = &mut buf[..(n * ENTRY) as usize];
            read_exact_at(file, bytes, HEADER + block * BLOCK * ENTRY)
                .context("cannot read the journal's index")?;
            let mut past = false;
            for e in bytes.chunks_exact(ENTRY as usize) {
                let h = u64::from_le_bytes(e[..8].try_into().unwrap_or_default());
                if h == hash {
                    found.push(Entry::unpack(u64::from_le_bytes(
                        e[8..].try_into().unwrap_or_default(),
                    )));
                } else if h > hash {
                    past = true;
                    break;
                }
            }
            if past {
                break;
            }
            block += 1;
        }
        Ok(found)
    }

    /// Every entry in order, for a merge.
    fn entries(&self) -> Result<Entries<'_>> {
        let Some(file) = &self.file else {
            return Ok(Box::new(std::iter::empty()));
        };
        let mut reader = BufReader::with_capacity(1 << 16, file.try_clone()?);
        reader.seek(SeekFrom::Start(HEADER))?;
        Ok(Box::new((0..self.count).map(move |_| {
            let mut e = [0u8; ENTRY as usize];
            reader
                .read_exact(&mut e)
                .context("cannot read the journal's index")?;
            Ok((
                u64::from_le_bytes(e[..8].try_into().unwrap_or_default()),
                Entry::unpack(u64::from_le_bytes(e[8..].try_into().unwrap_or_default())),
            ))
        })))
    }
}

/// A checksum of the journal's bytes just before `offset`: an index made
/// for another (rewritten) journal does not match it.
fn tail_check(journal: &File, offset: u64) -> std::io::Result<u64> {
    let start = offset.saturating_sub(64);
    let mut buf = vec![0u8; (offset - start) as usize];
    read_exact_at(journal, &mut buf, start)?;
    if offset > 0 && buf.last() != Some(&b'\n') {
        return Ok(0);
    }
    let mut h = crate::signers::fingerprint::Fnv::default();
    std::hash::Hasher::write(&mut h, &buf);
    Ok(std::hash::Hasher::finish(&h) ^ offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

fn hash(key: &str) -> u64 {
    crate::signers::fingerprint::of([key])
}

pub struct Journal {
    path: PathBuf,
    /// Appending handle, locked for the whole run (`None` when read-only).
    file: Option<File>,
    /// Reading handle, for records found through the index.
    reader: File,
    index: Index,
    /// Keys whose records came after what the index covers.
    delta: HashMap<u64, Vec<Entry>>,
    /// The journal's length: where the next record goes.
    len: u64,
    /// Where this run's records start.
    run_start: u64,
    /// Set once a write failed: nothing more is written.
    broken: bool,
    /// The index was rewritten during this run (it was built or brought up
    /// to date at start-up): then the rest is merged at the end too, so
    /// the next run does not read it again.
    merged: bool,
}

/// How to open the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only look (a dry run): no lock, nothing written.
    Read,
    /// Send: lock it, or stop at once if another run has it.
    Write,
    /// Send: lock it, waiting for another run to finish (`--wait`).
    WriteWait,
}

impl Journal {
    /// Opens (creating if needed) the journal, locks it, and reads its index
    /// and whatever came after the index. A torn last line, left by a crash
    /// while writing, is ignored (and ended, so the next record starts on a
    /// line of its own).
    pub fn open(path: &Path, access: Access) -> Result<Self> {
        if access == Access::Read && !path.exists() {
            let reader = File::open("/dev/null").or_else(|_| tempfile::tempfile())?;
            return Ok(Journal {
                path: path.to_path_buf(),
                file: None,
                reader,
                index: Index::empty(),
                delta: HashMap::new(),
                len: 0,
                run_start: 0,
                broken: false,
                merged: false,
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).context("cannot create the journal's folder")?;
        }
        let file = if access == Access::Read {
            None
        } else {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the send journal {}", path.display()))?;
            lock(&file, path, access == Access::WriteWait)?;
            Some(file)
        };
        let reader = File::open(path)
            .with_context(|| format!("cannot read the send journal {}", path.display()))?;
        let mut len = reader.metadata()?.len();
        let mut journal = Journal {
            path: path.to_path_buf(),
            index: Index::open(&index_path(path), &reader, len),
            file,
            reader,
            delta: HashMap::new(),
            len,
            run_start: len,
            broken: false,
            merged: false,
        };
        let torn = journal.read_tail()?;
        if torn && let Some(file) = &mut journal.file {
            file.write_all(b"\n")
                .with_context(|| format!("cannot write the send journal {}", path.display()))?;
            len += 1;
            journal.len = len;
            journal.run_start = len;
        }
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the records the index does not cover; true if the last line
    /// is torn.
    fn read_tail(&mut self) -> Result<bool> {
        let mut reader = BufReader::with_capacity(1 << 16, self.reader.try_clone()?);
        let mut offset = self.index.covered;
        reader.seek(SeekFrom::Start(offset))?;
        let mut line = Vec::new();
        let mut torn = false;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .context("cannot read the send journal")?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                // Cut short by a crash mid-write: it can only be the record
                // in flight, whose `attempt` line makes the letter uncertain.
                torn = true;
                break;
            }
            if let Ok(record) = serde_json::from_slice::<Record>(&line) {
                self.note(&record.key, record.event, offset)?;
                if self.delta.len() >= DELTA_LIMIT && self.file.is_some() {
                    self.index.covered = offset + n as u64;
                    self.merge()?;
                }
            }
            offset += n as u64;
        }
        if !torn {
            self.index.covered = self.index.covered.max(offset);
        }
        Ok(torn)
    }

    /// The current entry of `key`, from memory or the index.
    fn entry(&self, key: &str) -> Result<Option<Entry>> {
        let h = hash(key);
        if let Some(entries) = self.delta.get(&h) {
            for e in entries {
                if self.record_at(e.offset)?.is_some_and(|r| r.key == key) {
                    return Ok(Some(*e));
                }
            }
        }
        for e in self.index.get(h)? {
            if self.record_at(e.offset)?.is_some_and(|r| r.key == key) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Applies a record at `offset` to what is known about `key`.
    fn note(&mut self, key: &str, event: Event, offset: u64) -> Result<()> {
        let prev = self.entry(key)?;
        let next = Entry::then(prev, event, offset);
        let h = hash(key);
        let mut replace = None;
        if let Some(entries) = self.delta.get(&h) {
            for (i, e) in entries.iter().enumerate() {
                if self.record_at(e.offset)?.is_some_and(|r| r.key == key) {
                    replace = Some(i);
                    break;
                }
            }
        }
        let entries = self.delta.entry(h).or_default();
        match replace {
            Some(i) => entries[i] = next,
            None => entries.push(next),
        }
        Ok(())
    }

    /// The record starting at `offset`; `None` if there is none.
    fn record_at(&self, offset: u64) -> Result<Option<Record>> {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 1024];
        let mut at = offset;
        while at < self.len.max(self.index.covered) || buf.is_empty() {
            let n = match read_at(&self.reader, &mut chunk, at) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    return Err(e).context(format!(
                        "cannot read the send journal {}",
                        self.path.display()
                    ));
                }
            };
            if let Some(end) = chunk[..n].iter().position(|&b| b == b'\n') {
                buf.extend_from_slice(&chunk[..end]);
                return Ok(serde_json::from_slice(&buf).ok());
            }
            buf.extend_from_slice(&chunk[..n]);
            at += n as u64;
        }
        Ok(None)
    }

    /// What earlier runs (and this one) did with the letter of this key.
    pub fn previous(&self, key: &str) -> Result<Previous> {
        let Some(entry) = self.entry(key)? else {
            return Ok(Previous::Nothing);
        };
        if entry.flags & (SENT | UNCERTAIN | PENDING) == 0 {
            return Ok(Previous::Nothing);
        }
        let Some(record) = self.record_at(entry.offset)? else {
            return Ok(Previous::Nothing);
        };
        Ok(if entry.flags & SENT != 0 {
            Previous::Sent {
                time: record.time,
                message_id: record.message_id,
            }
        } else {
            Previous::Uncertain {
                message_id: record.message_id,
            }
        })
    }

    /// Whether this run already wrote a record for the key.
    pub fn touched_in_this_run(&self, key: &str) -> Result<bool> {
        Ok(self.entry(key)?.is_some_and(|e| e.offset >= self.run_start))
    }

    /// Records that a message is about to be handed over; returns the
    /// journal length to be synced (see [`Journal::written_to`]) before the
    /// message may leave.
    pub fn attempt(&mut self, key: &str, message_id: &str) -> Result<u64> {
        self.append(Record::new(Event::Attempt, key, message_id, "", &[]))?;
        Ok(self.len)
    }

    /// Records that the server accepted a message.
    pub fn sent(&mut self, key: &str, message_id: &str, reply: &str, to: &[&str]) -> Result<()> {
        self.append(Record::new(Event::Sent, key, message_id, reply, to))
    }

    /// The record [`Journal::sent`] writes, for a user to add by hand when
    /// the journal cannot be written.
    pub fn sent_line(key: &str, message_id: &str, reply: &str, to: &[&str]) -> String {
        String::from_utf8_lossy(&Record::new(Event::Sent, key, message_id, reply, to).line())
            .trim_end()
            .to_string()
    }

    /// Records that a message left without a definite reply.
    pub fn uncertain(&mut self, key: &str, message_id: &str, reply: &str) -> Result<()> {
        self.append(Record::new(Event::Uncertain, key, message_id, reply, &[]))
    }

    /// Records that a message was refused for good or given up on.
    pub fn failed(&mut self, key: &str, message_id: &str, reply: &str) -> Result<()> {
        self.append(Record::new(Event::Failed, key, message_id, reply, &[]))
    }

    fn append(&mut self, record: Record) -> Result<()> {
        let path = self.path.display().to_string();
        if self.broken {
            bail!(runtime(anyhow::anyhow!(
                "the send journal {path} could not be written earlier"
            )));
        }
        let Some(file) = &mut self.file else {
            bail!("the send journal {path} is open read-only");
        };
        let line = record.line();
        if let Err(e) = file.write_all(&line) {
            self.broken = true;
            // A partial line may be left: the next run ends it.
            return Err(runtime(
                anyhow::Error::new(e).context(format!("cannot write the send journal {path}")),
            ));
        }
        let offset = self.len;
        self.len += line.len() as u64;
        self.note(&record.key, record.event, offset)?;
        if self.delta.len() >= DELTA_LIMIT {
            // A failed merge costs only start-up time: the index is a cache.
            self.index.covered = self.len;
            if self.merge().is_err() {
                self.index.covered = offset;
            }
        }
        Ok(())
    }

    /// A handle that syncs the journal, for group commit: the caller syncs
    /// once for every record written so far, outside the journal's lock.
    pub fn sync_handle(&self) -> Result<File> {
        match &self.file {
            Some(f) => Ok(f.try_clone()?),
            None => bail!("the send journal is open read-only"),
        }
    }

    /// How far the journal has been written (sync up to here).
    pub fn written_to(&self) -> u64 {
        self.len
    }

    /// Records from here on are this run's (for [`Journal::touched_in_this_run`]).
    pub fn mark_run_start(&mut self) {
        self.run_start = self.len;
    }

    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Syncs the journal and, once enough records are past the index, folds
    /// them into it, so that the next run reads only a short tail. (A
    /// one-letter run does not rewrite a big index for its one record.)
    pub fn finish(&mut self) -> Result<()> {
        if let Some(file) = &self.file {
            file.sync_data()
                .with_context(|| format!("cannot write the send journal {}", self.path.display()))
                .map_err(runtime)?;
        }
        let worth_it = self.delta.len() >= TAIL_LIMIT || self.index.count == 0 || self.merged;
        if !self.broken && self.file.is_some() && !self.delta.is_empty() && worth_it {
            self.index.covered = self.len;
            // The index is only a cache; failing to write it loses nothing.
            let _ = self.merge();
        }
        Ok(())
    }

    /// Writes a new index: the old one merged with the keys in memory.
    fn merge(&mut self) -> Result<()> {
        let path = index_path(&self.path);
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut delta: Vec<(u64, Entry)> = self
            .delta
            .iter()
            .flat_map(|(h, es)| es.iter().map(move |e| (*h, *e)))
            .collect();
        delta.sort_unstable_by_key(|(h, e)| (*h, e.offset));
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut out = BufWriter::with_capacity(1 << 16, tmp.as_file());
        out.write_all(&[0u8; HEADER as usize])?;
        let mut count = 0u64;
        let mut fences: Vec<u64> = Vec::new();
        let mut write = |out: &mut BufWriter<&File>, h: u64, e: Entry| -> Result<()> {
            if count.is_multiple_of(BLOCK) {
                fences.push(h);
            }
            out.write_all(&h.to_le_bytes())?;
            out.write_all(&e.pack().to_le_bytes())?;
            count += 1;
            Ok(())
        };
        let mut new = delta.into_iter().peekable();
        for old in self.index.entries()? {
            let (h, e) = old?;
            while let Some(&(nh, ne)) = new.peek()
                && nh < h
            {
                write(&mut out, nh, ne)?;
                new.next();
            }
            // The same hash in memory: superseded if it is the same key.
            let superseded = match new.peek() {
                Some(&(nh, _)) if nh == h => {
                    let old_key = self.record_at(e.offset)?.map(|r| r.key);
                    let mut same = false;
                    for (_, ne) in self.delta.get(&h).into_iter().flatten().map(|ne| (h, ne)) {
                        if self.record_at(ne.offset)?.map(|r| r.key) == old_key {
                            same = true;
                        }
                    }
                    same
                }
                _ => false,
            };
            if !superseded {
                write(&mut out, h, e)?;
            }
        }
        for (nh, ne) in new {
            write(&mut out, nh, ne)?;
        }
        for f in &fences {
            out.write_all(&f.to_le_bytes())?;
        }
        out.flush()?;
        drop(out);
        let check = tail_check(&self.reader, self.index.covered)?;
        let mut header = Vec::with_capacity(HEADER as usize);
        header.extend_from_slice(INDEX_MAGIC);
        header.extend_from_slice(&self.index.covered.to_le_bytes());
        header.extend_from_slice(&count.to_le_bytes());
        header.extend_from_slice(&check.to_le_bytes());
        let mut file = tmp.as_file();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
        let covered = self.index.covered;
        tmp.persist(&path).map_err(|e| e.error)?;
        self.index = Index::try_open(&path, &self.reader, self.len.max(covered))
            .context("the journal's new index does not read back")?;
        self.delta.clear();
        self.merged = true;
        Ok(())
    }
}

fn index_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".index");
    PathBuf::from(name)
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// Takes the run's exclusive lock on the journal.
fn lock(file: &File, path: &Path, wait: bool) -> Result<()> {
    if wait {
        return file
            .lock()
            .with_context(|| format!("cannot lock the send journal {}", path.display()));
    }
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another send is using the journal {}: nothing was sent. Let it finish (or stop it) and \
             run again, or pass --wait to wait for it",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock the send journal {}", path.display()))
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Journal {
        Journal::open(path, Access::Write).unwrap()
    }

    #[test]
    fn remembers_sent_and_in_flight_letters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = open(&path);
        j.attempt("a", "<1@x>").unwrap();
        j.sent("a", "<1@x>", "250 ok", &["to@x.org"]).unwrap();
        j.attempt("b", "<2@x>").unwrap();
        j.finish().unwrap();
        drop(j);
        // A crash while writing leaves a torn line at the end.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":")
            .unwrap();
        let mut j = open(&path);
        assert!(matches!(j.previous("a").unwrap(), Previous::Sent { .. }));
        assert_eq!(
            j.previous("b").unwrap(),
            Previous::Uncertain {
                message_id: "<2@x>".into()
            }
        );
        assert_eq!(j.previous("c").unwrap(), Previous::Nothing);
        j.sent("b", "<2@x>", "250 ok", &[]).unwrap();
        drop(j);
        let j = open(&path);
        assert!(matches!(j.previous("b").unwrap(), Previous::Sent { .. }));
    }

    #[test]
    fn uncertain_stays_uncertain_until_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = open(&path);
        j.attempt("a", "<1@x>").unwrap();
        j.uncertain("a", "<1@x>", "dropped").unwrap();
        j.attempt("a", "<1@x>").unwrap();
        j.failed("a", "<1@x>", "451 later").unwrap();
        j.attempt("b", "<2@x>").unwrap();
        j.failed("b", "<2@x>", "550 no").unwrap();
        drop(j);
        let j = open(&path);
        assert!(matches!(
            j.previous("a").unwrap(),
            Previous::Uncertain { .. }
        ));
        assert_eq!(j.previous("b").unwrap(), Previous::Nothing);
    }

    #[test]
    fn a_second_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let _first = open(&path);
        let err = Journal::open(&path, Access::Write).err().unwrap();
        assert!(format!("{err:#}").contains("another send"), "{err:#}");
        // Looking is fine.
        Journal::open(&path, Access::Read).unwrap();
    }

    /// Many keys, merged into the index in several rounds, then some more
    /// in the journal's tail: every one is found, the rest are not.
    #[test]
    fn a_run_that_builds_the_index_leaves_no_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let n = DELTA_LIMIT + 300;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&Journal::sent_line(
                &format!("letter|r{i}|"),
                &format!("<{i}@x>"),
                "250",
                &[],
            ));
            text.push('\n');
        }
        std::fs::write(&path, &text).unwrap();
        // The first run builds the index (merging every DELTA_LIMIT keys);
        // what is left when it ends is merged too, or every later run would
        // read those 300 keys again (the 1,000,000-letter bench case: 576
        // keys, 6 ms of a 5 ms send).
        let mut j = open(&path);
        j.finish().unwrap();
        drop(j);
        let j = open(&path);
        assert_eq!(j.delta.len(), 0, "nothing past the index");
        assert_eq!(j.index.count, n as u64);
        drop(j);
        // An index of the older layout (no fence table) is not read: the
        // journal is, and the index is made again.
        let index = index_path(&path);
        let mut bytes = std::fs::read(&index).unwrap();
        bytes[..8].copy_from_slice(b"PLJIDX01");
        let blocks = (n as u64).div_ceil(BLOCK) as usize;
        bytes.truncate(bytes.len() - blocks * 8);
        std::fs::write(&index, &bytes).unwrap();
        let mut j = open(&path);
        assert_eq!(
            &std::fs::read(&index).unwrap()[..8],
            INDEX_MAGIC,
            "made again"
        );
        assert_eq!(
            j.delta.len() + j.index.count as usize,
            n,
            "every letter known"
        );
        j.finish().unwrap();
        drop(j);
        assert_eq!(open(&path).delta.len(), 0);
    }

    #[test]
    fn the_index_covers_what_the_journal_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let n = DELTA_LIMIT * 2 + 100;
        let mut j = open(&path);
        for i in 0..n {
            let key = format!("letter|r{i}|");
            j.attempt(&key, &format!("<{i}@x>")).unwrap();
            if i % 3 != 0 {
                j.sent(&key, &format!("<{i}@x>"), "250", &[]).unwrap();
            }
        }
        j.finish().unwrap();
        assert!(index_path(&path).exists());
        drop(j);
        // A record added after the index (a killed run, or by hand).
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(Journal::sent_line("letter|r0|", "<0@x>", "250", &[]).as_bytes())
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"\n")
            .unwrap();
        let j = open(&path);
        // The run rewrote its index as it went, so its last 100 keys were
        // merged at the end too: only the added line is the tail, read at
        // start-up.
        assert!(
            j.delta.len() <= 1,
            "only the tail is read: {}",
            j.delta.len()
        );
        for i in [0, 1, 2, 3, 4, n / 2, n - 1] {
            let key = format!("letter|r{i}|");
            let sent = i == 0 || i % 3 != 0;
            match j.previous(&key).unwrap() {
                Previous::Sent { message_id, .. } if sent => {
                    assert_eq!(message_id, format!("<{i}@x>"))
                }
                Previous::Uncertain { .. } if !sent => {}
                other => panic!("{key}: {other:?}"),
            }
        }
        assert_eq!(j.previous("letter|r-1|").unwrap(), Previous::Nothing);
        drop(j);

        // A rewritten journal does not match the old index: rebuilt.
        std::fs::write(&path, Journal::sent_line("x", "<x@x>", "250", &[]) + "\n").unwrap();
        let j = open(&path);
        assert!(matches!(j.previous("x").unwrap(), Previous::Sent { .. }));
        assert_eq!(j.previous("letter|r1|").unwrap(), Previous::Nothing);
    }
}
