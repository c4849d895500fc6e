//! The run's letters against the journal, without sending: counted before
//! the preview, listed one by one for a dry run's `--format json`, and the
//! letters a stopped run never reached listed afterwards, so that every
//! letter is in the summary, the JSON and the report exactly once.
//!
//! Counting and listing need only the signers (not the rendered letters),
//! except the dry run's list, which shows each message's headers.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use super::deliver::Skipped;
use super::journal::{Journal, Previous};
use super::summary::{LetterResult, Status, Summary, WouldSend};
use super::{JobMaker, Lossy};
use crate::campaign::Addressee;
use crate::letters::render::Renderer;
use crate::letters::{Addressing, SignerSet, Signing, journal_key};

/// How many of the run's letters are in each state before it starts.
#[derive(Default)]
pub struct Counts {
    pub pending: usize,
    /// The pending letters' recipients, for the plan.
    pub plan: super::plan::Tally,
    pub duplicate: usize,
    pub already: usize,
    pub uncertain: usize,
}

impl Counts {
    /// Every letter (and duplicate row) of the run.
    pub fn total(&self, resend: bool) -> usize {
        self.pending + self.uncertain + self.duplicate + if resend { 0 } else { self.already }
    }
}

/// What the run does with one letter, as the journal decides it.
enum Class {
    Send,
    Already(Previous),
    Uncertain,
}

/// The rules of `--resend` and `--resend-uncertain`.
#[derive(Clone, Copy)]
pub struct Resend {
    pub all: bool,
    pub uncertain: bool,
}

impl Resend {
    fn class(self, previous: Previous) -> Class {
        match previous {
            Previous::Sent { .. } if !self.all => Class::Already(previous),
            Previous::Uncertain { .. } if !self.all && !self.uncertain => Class::Uncertain,
            _ => Class::Send,
        }
    }
}

/// The letters of a run, seen from the journal.
pub struct Ledger<'a> {
    pub letter_id: &'a str,
    pub signing: &'a Signing,
    pub emailable: &'a Addressing,
    pub journal: &'a Journal,
    pub resend: Resend,
}

impl Ledger<'_> {
    /// Counts the letters, saying on stderr which were sent before (and,
    /// for a petition, who has signed since) and which are uncertain.
    pub fn count(&self, maker: &JobMaker<'_>, stderr: &mut Lossy<'_>) -> Result<Counts> {
        const NAMED: usize = 5;
        let mut counts = Counts::default();
        self.each_letter(|set, a, key, first| {
            if !first {
                counts.duplicate += 1;
                return Ok(());
            }
            let previous = self.journal.previous(&key)?;
            let was_uncertain = matches!(previous, Previous::Uncertain { .. });
            match self.resend.class(previous) {
                Class::Already(Previous::Sent { time, signed, .. }) => {
                    counts.already += 1;
                    if counts.already <= NAMED {
                        let joined = self.joined_since(set, &key)?;
                        writeln!(
                            stderr,
                            "already sent: {} to {}{} on {}, signed '{signed}'{joined}; \
                         --resend sends this version too",
                            self.letter_id,
                            a.id,
                            by(set),
                            day(&time),
                        )?;
                    }
                }
                Class::Uncertain => {
                    counts.uncertain += 1;
                    if counts.uncertain <= NAMED {
                        writeln!(
                            stderr,
                            "uncertain: {} to {}{} may have been delivered already (journal {}); \
                         not sent again. --resend-uncertain sends it with the same Message-ID",
                            self.letter_id,
                            a.id,
                            by(set),
                            self.journal.path().display()
                        )?;
                    }
                }
                _ if was_uncertain => {
                    counts.pending += 1;
                    counts.plan.add_to(&**a, || maker.recipients(a))?;
                    writeln!(
                        stderr,
                        "uncertain: {} to {}{} may have been delivered already; sending it again \
                     with the same Message-ID",
                        self.letter_id,
                        a.id,
                        by(set)
                    )?;
                }
                _ => {
                    counts.pending += 1;
                    counts.plan.add_to(&**a, || maker.recipients(a))?;
                }
            }
            Ok(())
        })?;
        if counts.already > NAMED {
            writeln!(
                stderr,
                "… {} letters in all were already sent (journal {})",
                counts.already,
                self.journal.path().display()
            )?;
        }
        if counts.duplicate > 0 {
            writeln!(
                stderr,
                "{} {} the same letter as an earlier row: each letter is sent once",
                counts.duplicate,
                if counts.duplicate == 1 {
                    "row makes"
                } else {
                    "rows make"
                }
            )?;
        }
        Ok(counts)
    }

    /// Calls `each` with every letter of the run (no rendering: keys need
    /// only the signers): its signer set, addressee, journal key, and
    /// whether it is the first with that key (a later row is a duplicate).
    fn each_letter(
        &self,
        mut each: impl FnMut(&SignerSet, &Arc<Addressee>, String, bool) -> Result<()>,
    ) -> Result<()> {
        let mut seen = Skipped::default();
        for set in self.signing.sets()? {
            let set = set?;
            let identity = self.signing.identity(&set);
            for a in self.emailable.for_set(&set) {
                let key = journal_key(self.letter_id, a, &identity);
                let first = seen.insert(&key);
                each(&set, a, key, first)?;
            }
        }
        Ok(())
    }

    /// For a petition sent before: the signatures added since, named.
    fn joined_since(&self, set: &SignerSet, key: &str) -> Result<String> {
        let Some(petition) = self.signing.petition(set) else {
            return Ok(String::new());
        };
        let Some(signed) = self.journal.petition_signed(key)? else {
            return Ok(format!(" (the list now has {} signatures)", petition.len()));
        };
        let joined = petition.joined_since(&signed);
        Ok(match joined.len() {
            0 => String::new(),
            n => {
                const SHOWN: usize = 10;
                let names: Vec<&str> = joined.iter().take(SHOWN).map(|m| m.name.as_str()).collect();
                let more = if n > SHOWN {
                    format!(" and {} more", n - SHOWN)
                } else {
                    String::new()
                };
                format!(
                    "; {n} new {} since: {}{more}; they are not sent without --resend, which sends \
                     the whole petition again",
                    if n == 1 { "signature" } else { "signatures" },
                    names.join(", ")
                )
            }
        })
    }

    /// Records every letter the summary does not have yet, in the state
    /// the journal gives it: after a run that stopped early, the letters
    /// it never reached are listed as not attempted, one by one.
    pub fn list_the_rest(&self, summary: &mut Summary, reason: &str) -> Result<()> {
        self.each_letter(|set, a, key, first| {
            if summary.has(&key) && first {
                return Ok(());
            }
            let (status, reply) = if !first {
                (Status::Duplicate, "the same letter as an earlier row")
            } else {
                match self.resend.class(self.journal.previous(&key)?) {
                    Class::Already(_) => (Status::AlreadySent, ""),
                    Class::Uncertain => (
                        Status::Uncertain,
                        "an earlier attempt may have been delivered",
                    ),
                    _ => (Status::NotAttempted, reason),
                }
            };
            summary.record(unsent(self.letter_id, a, set, key, status, reply));
            Ok(())
        })
    }

    /// A dry run's account of every letter: the ones a real run would send
    /// with their From, To, Cc and Subject, the others with their state.
    pub fn list_dry(
        &self,
        renderer: &Renderer<'_>,
        maker: &JobMaker<'_>,
        summary: &mut Summary,
    ) -> Result<()> {
        let mut seen = Skipped::default();
        for produced in self.signing.letters(renderer, self.emailable)? {
            let job = maker.make(produced?, self.journal)?;
            let status = if !seen.insert(&job.key) {
                Status::Duplicate
            } else {
                match self.resend.class(job.previous.clone()) {
                    Class::Already(_) => Status::AlreadySent,
                    Class::Uncertain => Status::Uncertain,
                    _ => Status::WouldSend,
                }
            };
            let mut result = job.result(status, "");
            if status == Status::WouldSend {
                let e = &job.composed.envelope;
                result.would_send = Some(WouldSend {
                    from: job
                        .composed
                        .message
                        .headers()
                        .get_raw("From")
                        .unwrap_or("")
                        .to_string(),
                    cc: e.cc.clone(),
                    subject: job.produced.letter.subject.clone(),
                    recipients: e.recipients().len(),
                });
            }
            summary.record(result);
        }
        Ok(())
    }
}

/// A letter's result from its signer set alone (it was never rendered).
fn unsent(
    letter_id: &str,
    a: &Arc<Addressee>,
    set: &SignerSet,
    key: String,
    status: Status,
    reply: &str,
) -> LetterResult {
    LetterResult {
        letter: letter_id.to_string(),
        recipient: a.id.clone(),
        signer: set
            .signers
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        line: set.line,
        to: a.email.clone(),
        status,
        message_id: None,
        reply: reply.to_string(),
        queue_id: None,
        was_uncertain: false,
        would_send: None,
        key,
    }
}

/// " (line 7, Jo Bloggs)" for a member of a list; nothing for one person.
fn by(set: &SignerSet) -> String {
    match (set.line, set.signers.first()) {
        (Some(line), Some(s)) if set.signers.len() == 1 => format!(" (line {line}, {})", s.name),
        _ => String::new(),
    }
}

/// The day of a journal time ("2026-12-07T13:36:12Z" → "2026-12-07").
fn day(time: &str) -> &str {
    time.split('T').next().unwrap_or(time)
}
