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
//! exclusive lock for the whole run on `JOURNAL.lock` beside it (which stays
//! at the path when the journal is moved or replaced) and on the journal
//! itself (which earlier versions lock). A run whose journal is no longer
//! at its path stops before its next letter.
//!
//! The journal and its lock are owner-only (0600), in a folder made 0700:
//! they hold members' names, addresses and organisations.
//!
//! Start-up reads the journal once, front to back, into a map from each key
//! to where its deciding record is and what it says: one path, with nothing
//! beside the journal to fall out of step with it. Keys are held as 128-bit
//! ids, so memory grows by a few dozen bytes per letter. (100,000 records, 25 MB,
//! take about 60 ms and 8 MB.) Earlier versions kept an index beside it,
//! `JOURNAL.index`; a leftover one is ignored and left in place. It is never
//! read, so it cannot mislead this version, and an older version that finds
//! it checks it against the journal and reads the records added since.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::error::runtime;
use crate::signers::identity;

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

/// One line of the journal. Its fields borrow from the line they are read
/// from, so that reading a long journal allocates next to nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    pub event: Event,
    /// Letter, recipient, address and signer: what "the same letter" means
    /// (the signer as `signers::identity` names a person).
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    #[serde(borrow)]
    pub message_id: Cow<'a, str>,
    /// The signature as it was given ("Jo Bloggs, Union"), to tell a
    /// later run who the letter was signed by.
    #[serde(default, borrow, skip_serializing_if = "str::is_empty")]
    pub signed: Cow<'a, str>,
    /// The server's reply (sent, failed, uncertain).
    #[serde(default, borrow, skip_serializing_if = "str::is_empty")]
    pub reply: Cow<'a, str>,
    /// Envelope recipients (sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Cow<'a, str>>,
    /// A petition's members (sent), as `Petition::signed` writes them.
    #[serde(default, borrow, skip_serializing_if = "str::is_empty")]
    pub petition: Cow<'a, str>,
}

/// The letter a record is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub key: &'a str,
    pub message_id: &'a str,
    /// The signature as given (see [`Record::signed`]).
    pub signed: &'a str,
}

impl<'a> Record<'a> {
    fn new(event: Event, about: About<'a>, reply: &'a str, to: &[&'a str]) -> Self {
        Record {
            time: now().into(),
            event,
            key: about.key.into(),
            message_id: about.message_id.into(),
            signed: about.signed.into(),
            reply: reply.into(),
            to: to.iter().map(|&s| s.into()).collect(),
            petition: Cow::Borrowed(""),
        }
    }

    /// The record as one journal line, newline included.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// What a run needs of a line: start-up its key and event, `previous` its
/// time and Message-ID. The reply and envelope recipients are skipped,
/// not collected, and one parse decides both, so a line either counts for
/// both or for neither.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
    event: Event,
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    message_id: Cow<'a, str>,
    #[serde(default, borrow)]
    signed: Cow<'a, str>,
}

/// What the daily limit needs of a `sent` line: when, and to how many.
#[derive(Deserialize)]
struct Delivered<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
    event: Event,
    /// Counted without collecting the addresses.
    #[serde(default)]
    to: Count,
}

/// The length of a JSON array, read without keeping its items.
#[derive(Default)]
struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Count, D::Error> {
        struct Items;
        impl<'de> serde::de::Visitor<'de> for Items {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(Items)
    }
}

/// A petition's members as a `sent` record keeps them.
#[derive(Deserialize)]
struct Signed<'a> {
    #[serde(default, borrow)]
    petition: Cow<'a, str>,
}

/// What earlier runs did with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    Nothing,
    /// Accepted by a server at this time, with this Message-ID, signed
    /// so ("Jo Bloggs, Union"; empty if the record does not say).
    Sent {
        time: String,
        message_id: String,
        signed: String,
    },
    /// Handed over, but no definite answer is known: the run ended, the
    /// connection dropped after the message or the reply never came. The
    /// Message-ID of that attempt, to use again if it is resent.
    Uncertain {
        message_id: String,
    },
}

/// What the journal says about one key, and where it says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Where the deciding record starts: the `sent` one once sent, else the
    /// latest (every record of a key carries its Message-ID).
    offset: u64,
    /// Its length, newline excluded (a record is a few hundred bytes; u32
    /// keeps an entry at 16 bytes, a third of the memory a run needs for
    /// each letter).
    len: u32,
    flags: u8,
}

const SENT: u8 = 1;
/// Sticky until sent: a resend refused later does not make it unsent.
const UNCERTAIN: u8 = 2;
/// An attempt with no outcome yet: uncertain to any later run.
const PENDING: u8 = 4;

impl Entry {
    /// The state after `event` (a record at `offset`) on top of `prev`.
    fn then(prev: Option<Entry>, event: Event, offset: u64, len: u64) -> Entry {
        let flags = prev.map_or(0, |p| p.flags);
        let flags = match event {
            Event::Sent => SENT,
            Event::Attempt => flags | PENDING,
            Event::Uncertain => (flags & SENT) | UNCERTAIN,
            Event::Failed => flags & (SENT | UNCERTAIN),
        };
        match prev {
            Some(p) if p.flags & SENT != 0 && event != Event::Sent => Entry { flags, ..p },
            _ => Entry {
                offset,
                len: u32::try_from(len).unwrap_or(u32::MAX),
                flags,
            },
        }
    }
}

pub struct Journal {
    path: PathBuf,
    /// Open for reading (records are read back by offset), and for
    /// appending when `writable`, then locked for the whole run. `None` for
    /// a dry run of a journal that does not exist yet.
    file: Option<File>,
    writable: bool,
    /// Every key in the journal, by its [`Ids`] id, with its deciding
    /// record.
    known: HashMap<u128, Entry>,
    ids: Ids,
    /// The journal's length: where the next record goes.
    len: u64,
    /// Where this run's records start.
    run_start: u64,
    /// Set once a write failed: nothing more is written.
    broken: bool,
    /// `JOURNAL.lock`, held for the run.
    _lock: Option<File>,
}

/// A key's id in memory: two independently keyed SipHashes, 128 bits. A
/// key is 100 to 200 bytes, so a run that sent 100,000 letters held 20 MB
/// of keys; ids keep it to a few.
#[derive(Default)]
struct Ids(RandomState, RandomState);

impl Ids {
    fn of(&self, key: &str) -> u128 {
        (u128::from(self.0.hash_one(key)) << 64) | u128::from(self.1.hash_one(key))
    }
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
    /// Opens (creating if needed) the journal, locks it, and reads it. A
    /// torn last line, left by a crash while writing, is ignored (and ended,
    /// so the next record starts on a line of its own).
    pub fn open(path: &Path, access: Access) -> Result<Self> {
        let writable = access != Access::Read;
        let mut journal = Journal {
            path: path.to_path_buf(),
            file: None,
            writable,
            known: HashMap::new(),
            ids: Ids::default(),
            len: 0,
            run_start: 0,
            broken: false,
            _lock: None,
        };
        if !writable && !path.exists() {
            return Ok(journal);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::output::create_private_dir(dir)
                .with_context(|| format!("cannot create the journal's folder {}", dir.display()))?;
        }
        if writable {
            let lock_path = lock_path(path);
            let lock_file = crate::output::private_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .with_context(|| {
                    format!("cannot open the journal's lock {}", lock_path.display())
                })?;
            lock(&lock_file, path, access == Access::WriteWait)?;
            journal._lock = Some(lock_file);
        }
        let file = crate::output::private_options()
            .read(true)
            .append(writable)
            .create(writable)
            .open(path)
            .with_context(|| format!("cannot open the send journal {}", path.display()))?;
        if writable {
            lock(&file, path, access == Access::WriteWait)?;
        }
        let torn = journal.read(&file)?;
        if torn && writable {
            (&file)
                .write_all(b"\n")
                .with_context(|| format!("cannot write the send journal {}", path.display()))?;
            journal.len += 1;
        }
        journal.run_start = journal.len;
        journal.file = Some(file);
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every record, in one pass; true if the last line is torn.
    fn read(&mut self, file: &File) -> Result<bool> {
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read the send journal {}", self.path.display()))?;
            if n == 0 {
                return Ok(false);
            }
            // A line cut short by a crash mid-write can only be the record
            // in flight, whose `attempt` line makes the letter uncertain.
            let whole = line.last() == Some(&b'\n');
            if whole && let Ok(head) = serde_json::from_slice::<Head>(&line) {
                self.note(&head.key, head.event, n as u64 - 1);
            }
            self.len += n as u64;
            if !whole {
                return Ok(true);
            }
        }
    }

    /// Applies a record at `self.len` (`len` bytes, newline excluded) to
    /// what is known about `key`.
    fn note(&mut self, key: &str, event: Event, len: u64) {
        let offset = self.len;
        let id = self.ids.of(&identity::canonical_key(key));
        let prev = self.known.get(&id).copied();
        self.known.insert(id, Entry::then(prev, event, offset, len));
    }

    /// What earlier runs (and this one) did with the letter of this key:
    /// the same letter from the same person, however they were spelt, in a
    /// journal of this version or an earlier one.
    pub fn previous(&self, key: &str) -> Result<Previous> {
        let Some((entry, line)) = self.deciding(key)? else {
            return Ok(Previous::Nothing);
        };
        let Ok(record) = serde_json::from_slice::<Head>(&line) else {
            return Ok(Previous::Nothing);
        };
        let message_id = record.message_id.into_owned();
        Ok(if entry.flags & SENT != 0 {
            let signed = if record.signed.is_empty() {
                identity::legacy_signature(&record.key).unwrap_or_default()
            } else {
                record.signed.into_owned()
            };
            Previous::Sent {
                time: record.time.into_owned(),
                message_id,
                signed,
            }
        } else {
            Previous::Uncertain { message_id }
        })
    }

    /// The members a sent petition of this key had, as `Petition::signed`
    /// wrote them; `None` when unknown (not sent, or an earlier version).
    pub fn petition_signed(&self, key: &str) -> Result<Option<String>> {
        let Some((entry, line)) = self.deciding(key)? else {
            return Ok(None);
        };
        if entry.flags & SENT == 0 {
            return Ok(None);
        }
        Ok(serde_json::from_slice::<Signed>(&line)
            .ok()
            .map(|s| s.petition.into_owned())
            .filter(|p| !p.is_empty()))
    }

    /// The deciding record of `key`'s letter (or of the same letter as an
    /// earlier version keyed it), read back: the record must name the
    /// letter itself, so that two keys of one id (about one chance in
    /// 2^100 for a journal of a million letters) can never make a letter
    /// read as sent.
    fn deciding(&self, key: &str) -> Result<Option<(Entry, Vec<u8>)>> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let fallback = identity::without_address(key);
        for key in std::iter::once(key).chain(fallback.as_deref()) {
            let Some(&entry) = self.known.get(&self.ids.of(key)) else {
                continue;
            };
            if entry.flags & (SENT | UNCERTAIN | PENDING) == 0 {
                continue;
            }
            let mut line = vec![0u8; usize::try_from(entry.len)?];
            read_exact_at(file, &mut line, entry.offset)
                .with_context(|| format!("cannot read the send journal {}", self.path.display()))?;
            let names_it = serde_json::from_slice::<Head>(&line)
                .is_ok_and(|r| identity::canonical_key(&r.key) == key);
            if names_it {
                return Ok(Some((entry, line)));
            }
        }
        Ok(None)
    }

    /// How many recipients and messages the journal's letters went to in
    /// the 24 hours before this run, and when the earliest of them leaves
    /// that window.
    /// A second pass over the journal, made only when a daily limit
    /// applies, so that start-up stays one light pass.
    pub fn sent_in_last_day(&self) -> Result<(u64, u64, Option<jiff::Timestamp>)> {
        let (mut recipients, mut messages, mut earliest) = (0, 0, None::<jiff::Timestamp>);
        let Some(file) = &self.file else {
            return Ok((0, 0, None));
        };
        // Journal times are RFC 3339 in UTC, so a day ago compares as text.
        let day_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
        let sent = memchr::memmem::Finder::new(br#""event":"sent""#);
        let mut reader = BufReader::with_capacity(1 << 20, file);
        std::io::Seek::rewind(&mut reader)?;
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line)? > 0 {
            if sent.find(&line).is_some()
                && let Ok(d) = serde_json::from_slice::<Delivered>(&line)
                && d.event == Event::Sent
                && *d.time >= *day_ago
                && let Ok(at) = d.time.parse::<jiff::Timestamp>()
            {
                recipients += u64::from(d.to.0);
                messages += 1;
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
            line.clear();
        }
        Ok((
            recipients,
            messages,
            earliest.map(|t| t + jiff::SignedDuration::from_hours(24)),
        ))
    }

    /// Whether this run already wrote a record for the key.
    pub fn touched_in_this_run(&self, key: &str) -> Result<bool> {
        Ok(self
            .known
            .get(&self.ids.of(key))
            .is_some_and(|e| e.offset >= self.run_start))
    }

    /// Records that a message is about to be handed over; returns the
    /// journal length to be synced (see [`Journal::written_to`]) before the
    /// message may leave.
    pub fn attempt(&mut self, about: About) -> Result<u64> {
        self.still_at_path()?;
        self.append(Record::new(Event::Attempt, about, "", &[]))?;
        Ok(self.len)
    }

    /// Records that the server accepted a message (and, for a petition,
    /// who signed it).
    pub fn sent(&mut self, about: About, reply: &str, to: &[&str], petition: &str) -> Result<()> {
        let mut record = Record::new(Event::Sent, about, reply, to);
        record.petition = petition.into();
        self.append(record)
    }

    /// The record [`Journal::sent`] writes, for a user to add by hand when
    /// the journal cannot be written.
    pub fn sent_line(about: About, reply: &str, to: &[&str]) -> String {
        String::from_utf8_lossy(&Record::new(Event::Sent, about, reply, to).line())
            .trim_end()
            .to_string()
    }

    /// Records that a message left without a definite reply.
    pub fn uncertain(&mut self, about: About, reply: &str) -> Result<()> {
        self.append(Record::new(Event::Uncertain, about, reply, &[]))
    }

    /// Records that a message was refused for good or given up on.
    pub fn failed(&mut self, about: About, reply: &str) -> Result<()> {
        self.append(Record::new(Event::Failed, about, reply, &[]))
    }

    /// Stops the run when its journal was moved, deleted or replaced: a
    /// second run on the path would read another file and send again.
    fn still_at_path(&self) -> Result<()> {
        #[cfg(unix)]
        if let Some(file) = self.writer() {
            use std::os::unix::fs::MetadataExt;
            let open = file.metadata()?;
            let same = std::fs::metadata(&self.path)
                .is_ok_and(|at| at.dev() == open.dev() && at.ino() == open.ino());
            if !same {
                bail!(runtime(anyhow::anyhow!(
                    "the send journal {} was moved, deleted or replaced during the run; stopped \
                     before the next letter. Put it back at its path (or pass --journal with its \
                     new path) and run again: the letters it records are not sent twice",
                    self.path.display()
                )));
            }
        }
        Ok(())
    }

    /// The file, if this run may write it.
    fn writer(&self) -> Option<&File> {
        self.file.as_ref().filter(|_| self.writable)
    }

    fn append(&mut self, record: Record) -> Result<()> {
        let path = self.path.display().to_string();
        if self.broken {
            bail!(runtime(anyhow::anyhow!(
                "the send journal {path} could not be written earlier"
            )));
        }
        let Some(mut file) = self.writer() else {
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
        self.note(&record.key, record.event, line.len() as u64 - 1);
        self.len += line.len() as u64;
        Ok(())
    }

    /// A handle that syncs the journal, for group commit: the caller syncs
    /// once for every record written so far, outside the journal's lock.
    pub fn sync_handle(&self) -> Result<File> {
        match self.writer() {
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

    /// Syncs the journal at the end of a run.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(file) = self.writer() {
            file.sync_data()
                .with_context(|| format!("cannot write the send journal {}", self.path.display()))
                .map_err(runtime)?;
        }
        Ok(())
    }
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

/// `JOURNAL.lock`: the lock that stays at the journal's path.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
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

    fn about<'a>(key: &'a str, message_id: &'a str) -> About<'a> {
        About {
            key,
            message_id,
            signed: "",
        }
    }

    #[test]
    fn remembers_sent_and_in_flight_letters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = open(&path);
        j.attempt(about("a", "<1@x>")).unwrap();
        j.sent(about("a", "<1@x>"), "250 ok", &["to@x.org"], "")
            .unwrap();
        j.attempt(about("b", "<2@x>")).unwrap();
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
        j.sent(about("b", "<2@x>"), "250 ok", &[], "").unwrap();
        // Read back from where it was written, past the torn bytes.
        assert!(matches!(
            j.previous("b").unwrap(),
            Previous::Sent { message_id, .. } if message_id == "<2@x>"
        ));
        drop(j);
        let j = open(&path);
        assert!(matches!(j.previous("b").unwrap(), Previous::Sent { .. }));
    }

    /// Keys are held as ids; a record read back for another key (two keys
    /// of one id, forced here) never makes that key read as sent.
    #[test]
    fn a_record_of_another_key_is_not_taken_for_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = open(&path);
        j.attempt(about("a", "<1@x>")).unwrap();
        j.sent(about("a", "<1@x>"), "250 ok", &[], "").unwrap();
        let a = j.known[&j.ids.of("a")];
        j.known.insert(j.ids.of("b"), a);
        assert!(matches!(j.previous("a").unwrap(), Previous::Sent { .. }));
        assert_eq!(j.previous("b").unwrap(), Previous::Nothing);
    }

    #[test]
    fn uncertain_stays_uncertain_until_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = open(&path);
        j.attempt(about("a", "<1@x>")).unwrap();
        j.uncertain(about("a", "<1@x>"), "dropped").unwrap();
        j.attempt(about("a", "<1@x>")).unwrap();
        j.failed(about("a", "<1@x>"), "451 later").unwrap();
        j.attempt(about("b", "<2@x>")).unwrap();
        j.failed(about("b", "<2@x>"), "550 no").unwrap();
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
    /// Lines as earlier versions wrote them still read the same, and the
    /// on-disk index those versions kept beside the journal is ignored: this
    /// one, read, would say the journal is empty and every letter unsent.
    #[test]
    fn old_journals_read_the_same_and_a_stale_index_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let old = concat!(
            r#"{"time":"2026-11-22T10:00:00.1Z","event":"attempt","key":"l|r|a@x|Jo@X.org|Jo|U","message_id":"<1@x>"}"#,
            "\n",
            r#"{"time":"2026-11-22T10:00:00.2Z","event":"sent","key":"l|r|a@x|Jo@X.org|Jo|U","message_id":"<1@x>","reply":"250 2.0.0 OK","to":["a@x","c@x"]}"#,
            "\n",
            r#"{"time":"2026-11-22T10:00:00.3Z","event":"attempt","key":"l|r|b@x||Ann|","message_id":"<2@x>"}"#,
            "\n",
            r#"{"time":"2026-11-22T10:00:00.4Z","event":"attempt","key":"l|r|c@x|c@y.org|C|","message_id":"<3@x>"}"#,
            "\n",
            r#"{"time":"2026-11-22T10:00:00.5Z","event":"failed","key":"l|r|c@x|c@y.org|C|","message_id":"<3@x>","reply":"550 no"}"#,
            "\n",
        );
        std::fs::write(&path, old).unwrap();
        let index = dir.path().join("journal.jsonl.index");
        let mut stale = b"PLJIDX02".to_vec();
        stale.extend_from_slice(&(old.len() as u64).to_le_bytes());
        stale.extend_from_slice(&[0u8; 16]);
        std::fs::write(&index, &stale).unwrap();

        let check = |j: &Journal| {
            assert_eq!(
                j.previous("l|r|a@x|email:jo@x.org").unwrap(),
                Previous::Sent {
                    time: "2026-11-22T10:00:00.2Z".into(),
                    message_id: "<1@x>".into(),
                    signed: "Jo, U".into(),
                }
            );
            assert_eq!(
                j.previous("l|r|b@x|sig:ann||").unwrap(),
                Previous::Uncertain {
                    message_id: "<2@x>".into()
                }
            );
        };
        let mut j = open(&path);
        check(&j);
        assert_eq!(
            j.previous("l|r|c@x|email:c@y.org").unwrap(),
            Previous::Nothing
        );
        j.attempt(about("l|r|c@x|email:c@y.org", "<3@x>")).unwrap();
        j.sent(
            about("l|r|c@x|email:c@y.org", "<3@x>"),
            "250 ok",
            &["c@x"],
            "",
        )
        .unwrap();
        j.finish().unwrap();
        drop(j);
        let j = Journal::open(&path, Access::Read).unwrap();
        assert!(matches!(
            j.previous("l|r|c@x|email:c@y.org").unwrap(),
            Previous::Sent { .. }
        ));
        drop(j);
        // The old lines are untouched, the new ones follow in the same form,
        // and the stale index is left as it was.
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(now.starts_with(old));
        assert!(now[old.len()..].starts_with(r#"{"time":""#));
        assert!(now.ends_with("\"message_id\":\"<3@x>\",\"reply\":\"250 ok\",\"to\":[\"c@x\"]}\n"));
        assert_eq!(std::fs::read(&index).unwrap(), stale);
        check(&open(&path));
    }
}
