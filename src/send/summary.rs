//! What a send did, told three ways: the summary on stdout (text or
//! `--format json`), the `--report` CSV, and the exit code. Every letter of
//! a run is in exactly one state, named with the same words in all three:
//! sent, refused temporarily, refused permanently, uncertain, not
//! attempted, already sent (plus duplicate rows, letters that are not
//! emails, and, in a dry run, would be sent).
//!
//! Flat memory: the summary keeps counts, not letters. The letters' list for
//! `--format json` is spooled to an anonymous temporary file and the report
//! is written as the run goes (to a temporary file beside it, put in place
//! at the end), so a run of a million letters holds no more than one of ten.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::error::ExitStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    AlreadySent,
    /// Refused with a 4xx (after the retries) or not retried as the run stopped.
    RefusedTemporarily,
    /// Refused with a 5xx.
    RefusedPermanently,
    /// The message left and no definite reply came (now or in an earlier run).
    Uncertain,
    /// The same letter (same journal key) as an earlier row of this run.
    Duplicate,
    /// The message never reached a server: the run stopped first, or no
    /// server could be reached.
    NotAttempted,
    /// A dry run's letter that a real run would send.
    WouldSend,
    CallSheet,
    Post,
    NoContact,
}

impl Status {
    /// The words of the README's "Delivery states", for the report.
    fn words(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::AlreadySent => "already sent",
            Status::RefusedTemporarily => "refused temporarily",
            Status::RefusedPermanently => "refused permanently",
            Status::Uncertain => "uncertain",
            Status::Duplicate => "duplicate",
            Status::NotAttempted => "not attempted",
            Status::WouldSend => "would be sent",
            Status::CallSheet => "call sheet",
            Status::Post => "post",
            Status::NoContact => "no contact",
        }
    }
}

/// What happened to one letter, for the summary and the report.
#[derive(Debug, Clone, Serialize)]
pub struct LetterResult {
    pub letter: String,
    pub recipient: String,
    pub signer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub to: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reply: String,
    /// The id the server gave the message it accepted, from its reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    /// Sent again after an earlier attempt was uncertain.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub was_uncertain: bool,
    /// What a dry run would send: From, Cc and Subject.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub would_send: Option<WouldSend>,
    /// The journal key, to list each letter once (not shown).
    #[serde(skip)]
    pub key: String,
}

/// The headers of a letter a dry run would send.
#[derive(Debug, Clone, Serialize)]
pub struct WouldSend {
    pub from: String,
    pub cc: Vec<String>,
    pub subject: String,
    /// How many envelope recipients it goes to (To, Cc and Bcc).
    pub recipients: usize,
}

impl LetterResult {
    /// "sokolova → supreme-court <court@…> (signed Jo, line 7)".
    fn who(&self) -> String {
        let to = self
            .to
            .as_deref()
            .map(|t| format!(" <{t}>"))
            .unwrap_or_default();
        let line = self.line.map(|n| format!(", line {n}")).unwrap_or_default();
        format!(
            "{} → {}{to} (signed {}{line})",
            self.letter, self.recipient, self.signer
        )
    }
}

#[derive(Debug, Serialize)]
pub struct CallSheetEntry {
    pub recipient: String,
    pub name: String,
    pub phone: String,
    pub talking_points: Vec<String>,
}

/// Uncertain letters named in the text summary; the rest are counted (the
/// report and the JSON summary list them all).
const UNCERTAIN_SHOWN: usize = 20;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub dry_run: bool,
    pub sent: usize,
    pub already_sent: usize,
    pub refused_temporarily: usize,
    pub refused_permanently: usize,
    /// The message left without a definite reply: never resent on its own.
    pub uncertain: usize,
    /// Rows that make the same letter as an earlier row: sent once.
    pub duplicate: usize,
    /// Not tried because the run stopped early.
    pub not_attempted: usize,
    /// A dry run's letters that a real run would send.
    pub would_send: usize,
    pub not_emailable: usize,
    /// Set when Ctrl-C or SIGTERM stopped the run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    pub journal: String,
    /// Journal lines for letters the server accepted but the journal could
    /// not record: to be added by hand, or the next run sends them again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unrecorded_in_journal: Vec<String>,
    pub call_sheet: Vec<CallSheetEntry>,
    /// How many postal letters were written, and the first one.
    #[serde(skip)]
    pub postal_count: usize,
    #[serde(skip)]
    pub postal_first: Option<String>,
    /// How many call sheets `--print-dir` got, and the first one.
    #[serde(skip)]
    pub call_sheet_count: usize,
    #[serde(skip)]
    pub call_sheet_first: Option<String>,
    #[serde(skip)]
    uncertain_shown: Vec<String>,
    /// Every letter's result as a JSON line, for `--format json`.
    #[serde(skip)]
    spool: Option<BufWriter<File>>,
    #[serde(skip)]
    report: Option<Report>,
    /// Letters recorded (every status): the rest of the run's letters were
    /// not attempted.
    #[serde(skip)]
    recorded_emails: usize,
    /// The keys of the letters recorded, hashed, so that a run that stopped
    /// can list the rest each once.
    #[serde(skip)]
    recorded: std::collections::HashSet<u64>,
    /// A write to the spool or the report failed (disk full): said at the end.
    #[serde(skip)]
    side_error: Option<String>,
}

impl Summary {
    pub fn new(dry_run: bool, journal: &Path, json: bool, report: Option<Report>) -> Result<Self> {
        let spool = if json {
            Some(BufWriter::new(
                tempfile::tempfile().context("cannot create a temporary file for the summary")?,
            ))
        } else {
            None
        };
        Ok(Summary {
            dry_run,
            journal: journal.display().to_string(),
            spool,
            report,
            ..Summary::default()
        })
    }

    /// 3 when a letter may be missing (uncertain, not attempted), 1 when
    /// some were refused, 0 when every letter is sent.
    pub fn exit_status(&self) -> ExitStatus {
        if self.uncertain + self.not_attempted > 0 || !self.unrecorded_in_journal.is_empty() {
            ExitStatus::Runtime
        } else if self.refused_permanently + self.refused_temporarily > 0 {
            ExitStatus::SomeFailed
        } else {
            ExitStatus::Success
        }
    }

    pub fn record(&mut self, result: LetterResult) {
        match result.status {
            Status::Sent => self.sent += 1,
            Status::AlreadySent => self.already_sent += 1,
            Status::RefusedTemporarily => self.refused_temporarily += 1,
            Status::RefusedPermanently => self.refused_permanently += 1,
            Status::WouldSend => self.would_send += 1,
            Status::Uncertain => {
                self.uncertain += 1;
                if self.uncertain_shown.len() < UNCERTAIN_SHOWN {
                    self.uncertain_shown.push(result.who());
                }
            }
            Status::Duplicate => self.duplicate += 1,
            Status::NotAttempted => self.not_attempted += 1,
            Status::CallSheet | Status::Post | Status::NoContact => self.not_emailable += 1,
        }
        if !matches!(
            result.status,
            Status::CallSheet | Status::Post | Status::NoContact
        ) {
            self.recorded_emails += 1;
            if !result.key.is_empty() {
                self.recorded
                    .insert(crate::signers::fingerprint::of([result.key.as_str()]));
            }
        }
        if let Some(spool) = &mut self.spool {
            let written = serde_json::to_writer(&mut *spool, &result)
                .map_err(std::io::Error::from)
                .and_then(|()| spool.write_all(b"\n"));
            if let Err(e) = written {
                self.side_error
                    .get_or_insert(format!("cannot keep the summary's letters: {e}"));
            }
        }
        if let Some(report) = &mut self.report
            && let Err(e) = report.row(&result)
        {
            self.side_error.get_or_insert(format!(
                "cannot write the report {}: {e}",
                report.path.display()
            ));
        }
    }

    /// How many email letters (and duplicate rows) are recorded.
    pub fn recorded(&self) -> usize {
        self.recorded_emails
    }

    /// Whether the letter of this key is recorded already.
    pub fn has(&self, key: &str) -> bool {
        self.recorded
            .contains(&crate::signers::fingerprint::of([key]))
    }

    /// A letter the server accepted that the journal could not record.
    pub fn unrecorded(&mut self, line: String) {
        self.unrecorded_in_journal.push(line);
    }

    /// Counts the letters of the run that were never recorded (the run
    /// stopped before them) as not attempted.
    pub fn not_attempted_of(&mut self, total: usize) {
        self.not_attempted += total.saturating_sub(self.recorded_emails);
    }

    /// Finishes the report: puts it in place and says so.
    pub fn finish_report(&mut self, stderr: &mut dyn Write) -> Result<()> {
        let Some(report) = self.report.take() else {
            return Ok(());
        };
        let (path, count) = (report.path.clone(), report.count);
        report.persist()?;
        let not_sent = count - self.sent - self.already_sent;
        let _ = writeln!(
            stderr,
            "report: {count} {} ({not_sent} not sent) listed in {}",
            plural(count, "letter", "letters"),
            path.display()
        );
        Ok(())
    }

    /// Prints the summary (text or JSON). Write errors are the reader's
    /// (a closed pipe); they change nothing about the run or its exit code.
    pub fn print(&mut self, would_send: usize, json: bool, out: &mut dyn Write) -> Result<()> {
        if let Some(e) = &self.side_error {
            bail!("{e}");
        }
        if json {
            return self.print_json(out);
        }
        if !self.call_sheet.is_empty() {
            writeln!(out, "Call sheet (no email for these; please phone):")?;
            for entry in &self.call_sheet {
                writeln!(
                    out,
                    "  {} ({})\n  Phone: {}",
                    entry.name, entry.recipient, entry.phone
                )?;
                for point in &entry.talking_points {
                    writeln!(out, "    - {point}")?;
                }
                writeln!(out)?;
            }
        }
        match (self.postal_count, &self.postal_first) {
            (1, Some(one)) => writeln!(out, "Letter for posting written to {one}")?,
            (n, Some(first)) if n > 1 => {
                writeln!(out, "{n} letters for posting written, e.g. {first}")?
            }
            _ => {}
        }
        match (self.call_sheet_count, &self.call_sheet_first) {
            (1, Some(one)) => writeln!(out, "Call sheet for printing written to {one}")?,
            (n, Some(first)) if n > 1 => {
                writeln!(out, "{n} call sheets for printing written, e.g. {first}")?
            }
            _ => {}
        }
        if self.dry_run {
            writeln!(
                out,
                "Dry run: {would_send} would be sent, {} already sent, {} uncertain, {} duplicate, {} not emailable.",
                self.already_sent, self.uncertain, self.duplicate, self.not_emailable
            )?;
            return Ok(());
        }
        if self.interrupted {
            writeln!(
                out,
                "Stopped (Ctrl-C or SIGTERM): no new letter was taken; the journal {} is complete.",
                self.journal
            )?;
        }
        if !self.uncertain_shown.is_empty() {
            writeln!(
                out,
                "Uncertain (the message left but no definite reply came; the server may have it, so it is \
                 not sent again; --resend-uncertain sends it with the same Message-ID):"
            )?;
            for who in &self.uncertain_shown {
                writeln!(out, "  {who}")?;
            }
            if self.uncertain > self.uncertain_shown.len() {
                writeln!(
                    out,
                    "  … and {} more (--report FILE lists them all)",
                    self.uncertain - self.uncertain_shown.len()
                )?;
            }
        }
        if !self.unrecorded_in_journal.is_empty() {
            writeln!(
                out,
                "The server accepted these letters but the journal {} could not record them. \
                 Add these lines to it once it can be written, or the next run sends them again:",
                self.journal
            )?;
            for line in &self.unrecorded_in_journal {
                writeln!(out, "{line}")?;
            }
        }
        writeln!(
            out,
            "Sent {}, already sent {}, refused {} ({} temporarily, {} permanently), uncertain {}, \
             duplicate {}, not attempted {}, not emailable {}.",
            self.sent,
            self.already_sent,
            self.refused_temporarily + self.refused_permanently,
            self.refused_temporarily,
            self.refused_permanently,
            self.uncertain,
            self.duplicate,
            self.not_attempted,
            self.not_emailable
        )?;
        Ok(())
    }

    /// The counts as one JSON object, with `letters` streamed from the spool.
    fn print_json(&mut self, out: &mut dyn Write) -> Result<()> {
        let serde_json::Value::Object(fields) = serde_json::to_value(&*self)? else {
            bail!("the summary is not an object");
        };
        let mut out = BufWriter::new(out);
        writeln!(out, "{{")?;
        for (name, value) in &fields {
            writeln!(out, "  {}: {},", serde_json::to_string(name)?, value)?;
        }
        write!(out, "  \"postal_letters\": {},", self.postal_count)?;
        write!(out, "\n  \"letters\": [")?;
        if let Some(spool) = self.spool.take() {
            let mut file = spool.into_inner().map_err(|e| e.into_error())?;
            file.rewind()?;
            let mut first = true;
            for line in BufReader::new(file).lines() {
                let line = line?;
                write!(out, "{}\n    {line}", if first { "" } else { "," })?;
                first = false;
            }
        }
        writeln!(out, "\n  ]\n}}")?;
        out.flush()?;
        Ok(())
    }
}

/// `--report FILE`: every letter of the run with its state and the reason
/// it was not sent (refused, uncertain, not attempted), as CSV: a record
/// of what went, and the rows to fix and re-run. Written beside
/// the final file as the run goes and put in place at the end; an existing
/// file is replaced only with `--force`.
#[derive(Debug)]
pub struct Report {
    path: PathBuf,
    force: bool,
    /// A device or FIFO (`/dev/stdout`): written into at the end, never replaced.
    special: bool,
    out: csv::Writer<tempfile::NamedTempFile>,
    count: usize,
}

impl Report {
    /// Checks, before anything is sent, that the report can be written.
    pub fn create(path: &Path, force: bool, inputs: &[&Path]) -> Result<Report> {
        let same = |a: &Path| {
            std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| std::fs::canonicalize(path).ok().is_some_and(|p| p == a))
        };
        if let Some(input) = inputs.iter().find(|i| same(i)) {
            bail!(
                "--report {} is the same file as the input {}: give the report another name",
                path.display(),
                input.display()
            );
        }
        let special = crate::output::is_special(path)?;
        if path.exists() && !force && !special {
            bail!(
                "--report {} already exists: pass --force to replace it, or give another name",
                path.display()
            );
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if path.is_dir() {
            bail!("--report {} is a folder: give a file name", path.display());
        }
        let tmp = if special {
            tempfile::NamedTempFile::new()
        } else {
            tempfile::Builder::new()
                .prefix(".protest-letter-report")
                .tempfile_in(dir)
        };
        let tmp = tmp.map_err(|e| {
            anyhow::anyhow!(
                "cannot write the report in {}: {e}. Check that the folder exists and is writable",
                dir.display()
            )
        })?;
        let mut out = csv::Writer::from_writer(tmp);
        out.write_record([
            "line",
            "signer",
            "letter",
            "recipient",
            "to",
            "status",
            "reason",
            "message_id",
            "queue_id",
        ])?;
        Ok(Report {
            path: path.to_path_buf(),
            force,
            special,
            out,
            count: 0,
        })
    }

    fn row(&mut self, l: &LetterResult) -> csv::Result<()> {
        if matches!(
            l.status,
            Status::CallSheet | Status::Post | Status::NoContact | Status::WouldSend
        ) {
            return Ok(());
        }
        self.count += 1;
        let line = l.line.map(|n| n.to_string()).unwrap_or_default();
        self.out.write_record([
            line.as_str(),
            &safe_cell(&l.signer),
            &safe_cell(&l.letter),
            &safe_cell(&l.recipient),
            &safe_cell(l.to.as_deref().unwrap_or("")),
            l.status.words(),
            &safe_cell(&l.reply),
            &safe_cell(l.message_id.as_deref().unwrap_or("")),
            &safe_cell(l.queue_id.as_deref().unwrap_or("")),
        ])
    }

    fn persist(self) -> Result<()> {
        let path = self.path;
        let tmp = self
            .out
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write the report {}: {e}", path.display()))?;
        if self.special {
            let mut target = crate::output::open_special(&path)?;
            let mut file = tmp.reopen()?;
            std::io::copy(&mut file, &mut target)
                .and_then(|_| target.flush())
                .with_context(|| format!("cannot write the report {}", path.display()))?;
            return Ok(());
        }
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("cannot write the report {}", path.display()))?;
        let done = if self.force {
            tmp.persist(&path).map(|_| ())
        } else {
            tmp.persist_noclobber(&path).map(|_| ())
        };
        done.map_err(|e| {
            anyhow::anyhow!(
                "cannot put the report in place at {}: {}{}",
                path.display(),
                e.error,
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    " (it appeared during the run; pass --force to replace it)"
                } else {
                    ""
                }
            )
        })
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// carriage return first) gets a leading `'`, which shows as text.
fn safe_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("-2"), "'-2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("Jo Bloggs"), "Jo Bloggs");
        assert_eq!(safe_cell(""), "");
    }
}
