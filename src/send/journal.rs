//! The send journal: an append-only JSON Lines file of what was handed to a
//! server. It is what makes a re-run safe: a letter recorded as sent is
//! never sent again unless the user asks, and a letter that was in flight
//! when a run died is reported as uncertain.
//!
//! Each attempt writes an `attempt` record before the message goes out and
//! a `sent` record only after the server accepted it. Records are written
//! with one `write` each to a file opened for appending, so a killed process
//! loses nothing the kernel already has; they are synced to disk at the end
//! of the run and once a second.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use fs_err as fs;
use serde::{Deserialize, Serialize};

use crate::error::runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Attempt,
    Sent,
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
    /// The server's reply (sent, failed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reply: String,
    /// Envelope recipients (sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
}

/// What an earlier run did with a letter.
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

pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    sent: HashMap<String, (String, String)>,
    in_flight: HashMap<String, String>,
    last_sync: Instant,
}

impl Journal {
    /// Opens (creating if needed) the journal and reads what it holds.
    /// A torn last line, left by a crash while writing, is ignored.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).context("cannot create the journal's folder")?;
        }
        let mut sent = HashMap::new();
        let mut in_flight = HashMap::new();
        let mut torn = false;
        match fs::read_to_string(path) {
            Ok(text) => {
                torn = !text.is_empty() && !text.ends_with('\n');
                for line in text.lines() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    // A line cut short by a crash mid-write is skipped: it can only be
                    // the record in flight, whose `attempt` line makes it uncertain.
                    let Ok(record) = serde_json::from_str::<Record>(line) else {
                        continue;
                    };
                    match record.event {
                        Event::Attempt | Event::Uncertain => {
                            in_flight.insert(record.key, record.message_id);
                        }
                        Event::Sent => {
                            in_flight.remove(&record.key);
                            sent.insert(record.key, (record.time, record.message_id));
                        }
                        Event::Failed => {
                            in_flight.remove(&record.key);
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context("cannot read the send journal"),
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the send journal {}", path.display()))?;
        if torn {
            // End the torn line so the next record starts on its own line.
            file.write_all(b"\n")
                .with_context(|| format!("cannot write the send journal {}", path.display()))?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            sent,
            in_flight,
            last_sync: Instant::now(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What earlier runs did with the letter of this key.
    pub fn previous(&self, key: &str) -> Previous {
        if let Some((time, message_id)) = self.sent.get(key) {
            Previous::Sent {
                time: time.clone(),
                message_id: message_id.clone(),
            }
        } else if let Some(message_id) = self.in_flight.get(key) {
            Previous::Uncertain {
                message_id: message_id.clone(),
            }
        } else {
            Previous::Nothing
        }
    }

    /// Records that a message is about to be handed over.
    pub fn attempt(&mut self, key: &str, message_id: &str) -> Result<()> {
        self.append(Event::Attempt, key, message_id, "", &[])
    }

    /// Records that the server accepted a message.
    pub fn sent(&mut self, key: &str, message_id: &str, reply: &str, to: &[&str]) -> Result<()> {
        self.sent
            .insert(key.to_string(), (now(), message_id.to_string()));
        self.append(Event::Sent, key, message_id, reply, to)
    }

    /// Records that a message left without a definite reply.
    pub fn uncertain(&mut self, key: &str, message_id: &str, reply: &str) -> Result<()> {
        self.in_flight
            .insert(key.to_string(), message_id.to_string());
        self.append(Event::Uncertain, key, message_id, reply, &[])
    }

    /// Records that a message was refused for good or given up on.
    pub fn failed(&mut self, key: &str, message_id: &str, reply: &str) -> Result<()> {
        self.append(Event::Failed, key, message_id, reply, &[])
    }

    fn append(
        &mut self,
        event: Event,
        key: &str,
        message_id: &str,
        reply: &str,
        to: &[&str],
    ) -> Result<()> {
        let record = Record {
            time: now(),
            event,
            key: key.to_string(),
            message_id: message_id.to_string(),
            reply: reply.to_string(),
            to: to.iter().map(|s| s.to_string()).collect(),
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        let write = self.file.write_all(&line).and_then(|()| {
            if self.last_sync.elapsed().as_secs() >= 1 {
                self.last_sync = Instant::now();
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        write
            .with_context(|| format!("cannot write the send journal {}", self.path.display()))
            .map_err(runtime)
    }

    /// Syncs the journal to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .with_context(|| format!("cannot write the send journal {}", self.path.display()))
            .map_err(runtime)
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_sent_and_in_flight_letters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path).unwrap();
        j.attempt("a", "<1@x>").unwrap();
        j.sent("a", "<1@x>", "250 ok", &["to@x.org"]).unwrap();
        j.attempt("b", "<2@x>").unwrap();
        drop(j);
        // A crash while writing leaves a torn line at the end.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":")
            .unwrap();
        let mut j = Journal::open(&path).unwrap();
        assert!(matches!(j.previous("a"), Previous::Sent { .. }));
        assert_eq!(
            j.previous("b"),
            Previous::Uncertain {
                message_id: "<2@x>".into()
            }
        );
        assert_eq!(j.previous("c"), Previous::Nothing);
        j.sent("b", "<2@x>", "250 ok", &[]).unwrap();
        drop(j);
        let j = Journal::open(&path).unwrap();
        assert!(matches!(j.previous("b"), Previous::Sent { .. }));
    }
}
