//! `send`: the command an activist runs when they mean it. Letters go out
//! to the right people, with the required copies, exactly once:
//! count (against the journal) → preview → confirm → deliver over one or a
//! few reused connections, retrying what can be retried → a call sheet for
//! phone-only recipients and printable letters for postal-only ones →
//! summary (and a CSV report of failures).

mod deliver;
pub mod journal;
pub mod smtp;
pub mod tls;
pub mod transport;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::campaign::{Addressee, Campaign, Letter, placeholders_in};
use crate::commands::select::{choose_letter, choose_recipients, prepare};
use crate::error::{ExitStatus, runtime};
use crate::letters::{Account, Addressing, Produced, Signing};
use crate::message::{Composed, Composer};
use crate::output::{UniqueNames, file_stem, write_atomic};
use crate::progress::Progress;
use crate::prompt;
use crate::render::Renderer;
use crate::settings::{PasswordSource, SendSettings, Terminal, TransportSettings};
use journal::{Journal, Previous};
use transport::{Deliver, Sendmail, SmtpSession};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    AlreadySent,
    FailedTemporary,
    FailedPermanent,
    /// The message left and no definite reply came (now or in an earlier run).
    Uncertain,
    /// The same letter (same journal key) as an earlier row of this run.
    Duplicate,
    CallSheet,
    Post,
    NoContact,
}

/// What happened to one letter, for the summary and the report.
#[derive(Debug, Clone, Serialize)]
pub struct LetterResult {
    letter: String,
    recipient: String,
    signer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    to: Option<String>,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    reply: String,
    /// Sent again after an interrupted run left it uncertain.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    was_uncertain: bool,
}

#[derive(Debug, Serialize)]
struct CallSheetEntry {
    recipient: String,
    name: String,
    phone: String,
    talking_points: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    dry_run: bool,
    sent: usize,
    already_sent: usize,
    failed_temporary: usize,
    failed_permanent: usize,
    /// The message left without a definite reply: never resent on its own.
    uncertain: usize,
    /// Rows that make the same letter as an earlier row: sent once.
    duplicate: usize,
    /// Not tried because the run stopped early.
    not_attempted: usize,
    not_emailable: usize,
    journal: String,
    letters: Vec<LetterResult>,
    call_sheet: Vec<CallSheetEntry>,
    postal_letters: Vec<String>,
}

impl Summary {
    /// 3 when a letter may be missing (uncertain, not attempted), 1 when
    /// some were refused, 0 when every letter is sent.
    fn exit_status(&self) -> ExitStatus {
        if self.uncertain + self.not_attempted > 0 {
            ExitStatus::Runtime
        } else if self.failed_permanent + self.failed_temporary > 0 {
            ExitStatus::SomeFailed
        } else {
            ExitStatus::Success
        }
    }

    fn record(&mut self, result: LetterResult) {
        match result.status {
            Status::Sent => self.sent += 1,
            Status::AlreadySent => self.already_sent += 1,
            Status::FailedTemporary => self.failed_temporary += 1,
            Status::FailedPermanent => self.failed_permanent += 1,
            Status::Uncertain => self.uncertain += 1,
            Status::Duplicate => self.duplicate += 1,
            Status::CallSheet | Status::Post | Status::NoContact => self.not_emailable += 1,
        }
        self.letters.push(result);
    }
}

/// One email to deliver.
pub struct Job {
    produced: Produced,
    composed: Composed,
    key: String,
    previous: Previous,
}

impl Job {
    fn result(&self, status: Status, reply: &str) -> LetterResult {
        let l = &self.produced.letter;
        LetterResult {
            letter: l.letter_id.clone(),
            recipient: l.recipient.id.clone(),
            signer: l.signer.name.clone(),
            line: self.produced.line,
            to: l.recipient.email.clone(),
            status,
            message_id: Some(self.composed.message_id.clone()),
            reply: reply.to_string(),
            was_uncertain: matches!(self.previous, Previous::Uncertain { .. }),
        }
    }
}

/// Turns produced letters into jobs: composes the message and looks the
/// letter up in the journal.
pub struct JobMaker<'a> {
    signing: &'a Signing,
    account: Option<&'a Account>,
    composer: Composer,
    bcc_me: bool,
}

impl JobMaker<'_> {
    fn make(&self, produced: Produced, journal: &Journal) -> Result<Job> {
        let sender = self.signing.sender(&produced, self.account, self.bcc_me)?;
        let composed = self.composer.compose(&produced.letter, &sender)?;
        let key = journal_key(
            &produced.letter.letter_id,
            &produced.letter.recipient,
            &produced.identity,
        );
        let previous = journal.previous(&key);
        let mut composed = composed;
        if let Previous::Uncertain { message_id } = &previous {
            // Sent again only when asked, and then as the same message, so
            // that a copy the server did get can be recognised.
            reuse_message_id(&mut composed, message_id);
        }
        Ok(Job {
            produced,
            composed,
            key,
            previous,
        })
    }
}

/// Gives a message the Message-ID of an earlier attempt.
fn reuse_message_id(composed: &mut Composed, message_id: &str) {
    composed
        .message
        .headers_mut()
        .set(lettre::message::header::MessageId::from(
            message_id.to_string(),
        ));
    composed.message_id = message_id.to_string();
}

/// Letter, recipient, address and signer: sending the same letter to the
/// same recipient from the same signer again is what the journal prevents.
fn journal_key(letter: &str, recipient: &Addressee, identity: &str) -> String {
    format!(
        "{letter}|{}|{}|{identity}",
        recipient.id,
        recipient.email.as_deref().unwrap_or("")
    )
}

pub fn run(
    campaign: &Campaign,
    s: &SendSettings,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    let letter = choose_letter(campaign, s.letter.as_deref())?;
    let recipients = choose_recipients(campaign, letter, &s.to)?;
    let run = prepare(
        &s.batch,
        &s.signer,
        &recipients,
        s.email.embassy_email.as_deref(),
        terminal,
        true,
        stderr,
    )?;
    let (signing, account) = (run.signing, run.account);
    let (emailable, offline) = run.addressing.partition(|a| a.email.is_some());
    ensure_real_addresses(&emailable.all(), &campaign.info.copies_to, campaign)?;

    let renderer = Renderer::new(campaign, letter, s.date, s.signer.lang.as_deref());
    let maker = JobMaker {
        signing: &signing,
        account: account.as_ref(),
        composer: Composer::new(
            &campaign.info.copies_to,
            &emailable.all(),
            s.email.clock,
            false,
        )?,
        bcc_me: s.email.bcc_me,
    };
    let journal = Journal::open(&s.journal)?;
    let mut summary = Summary {
        dry_run: s.dry_run,
        journal: journal.path().display().to_string(),
        ..Summary::default()
    };

    // Count against the journal (no rendering: keys need only the signers).
    let mut counts = Counts::default();
    let mut seen = std::collections::HashSet::new();
    for set in signing.sets()? {
        let set = set?;
        let identity = Signing::identity(&set.signers);
        for a in emailable.for_set(&set) {
            let key = journal_key(&letter.id, a, &identity);
            if !seen.insert(crate::fingerprint::of([key.as_str()])) {
                counts.duplicate += 1;
                continue;
            }
            match journal.previous(&key) {
                Previous::Sent { time, .. } if !s.resend => {
                    counts.already += 1;
                    if counts.already <= 5 {
                        writeln!(
                            stderr,
                            "already sent: {} to {} on {time} (journal {}); --resend sends it again",
                            letter.id, a.id, summary.journal
                        )?;
                    }
                }
                Previous::Uncertain { .. } if s.resend || s.resend_uncertain => {
                    counts.pending += 1;
                    writeln!(
                        stderr,
                        "uncertain: {} to {} may have been delivered already; sending it again with the same Message-ID",
                        letter.id, a.id
                    )?;
                }
                Previous::Uncertain { .. } => {
                    counts.uncertain += 1;
                    if counts.uncertain <= 5 {
                        writeln!(
                            stderr,
                            "uncertain: {} to {} may have been delivered already (journal {}); not sent again. \
                             --resend-uncertain sends it with the same Message-ID",
                            letter.id, a.id, summary.journal
                        )?;
                    }
                }
                _ => counts.pending += 1,
            }
        }
    }
    if counts.already > 5 {
        writeln!(
            stderr,
            "… {} letters in all were already sent",
            counts.already
        )?;
    }

    preview(
        &signing,
        &renderer,
        &emailable,
        &maker,
        &journal,
        s.resend,
        counts.pending,
        stderr,
    )?;
    if s.dry_run {
        writeln!(stderr, "dry run: nothing was sent")?;
        summary.already_sent = counts.already;
        summary.uncertain = counts.uncertain;
    } else if counts.pending > 0 {
        let Some(transport_settings) = &s.transport else {
            bail!("no transport configured: pass --smtp URL or --sendmail");
        };
        // A --ca-cert that is not a certificate is found before you confirm.
        if let TransportSettings::Smtp(smtp) = transport_settings {
            transport::check_tls(smtp)?;
        }
        if !s.yes {
            if !terminal.can_prompt() {
                bail!(
                    "refusing to send without confirmation: there is no terminal to ask on. \
                     Pass --yes to send, or --dry-run to see what would be sent"
                );
            }
            let question = format!(
                "Send {} email{}?",
                counts.pending,
                if counts.pending == 1 { "" } else { "s" }
            );
            if !prompt::confirm(&question)? {
                writeln!(stderr, "nothing was sent")?;
                return Ok(ExitStatus::Success);
            }
        }
        let password = password(transport_settings, terminal)?;
        let open = || open_transport(transport_settings, password.clone());
        if s.verbose {
            writeln!(stderr, "sending through {}", open()?.describe())?;
        }
        let total = counts.pending
            + counts.uncertain
            + counts.duplicate
            + if s.resend { 0 } else { counts.already };
        let progress = Progress::new(
            total as u64,
            signing.is_batch() && terminal.stderr && !s.quiet,
            "sending",
        );
        let outcome = deliver::run(
            deliver::Plan {
                letters: signing.letters(&renderer, &emailable)?,
                maker: &maker,
                resend: s.resend,
                resend_uncertain: s.resend_uncertain,
                connections: s.connections,
                interval: s.interval,
                retry_delay: s.retry_delay,
                verbose: s.verbose,
            },
            &open,
            journal,
            &progress,
            &mut summary,
        );
        progress.finish();
        summary.not_attempted = total.saturating_sub(
            summary.sent
                + summary.already_sent
                + summary.failed_permanent
                + summary.failed_temporary
                + summary.uncertain
                + summary.duplicate,
        );
        if let Err(fatal) = outcome {
            write_report(s.report.as_deref(), &summary, stderr)?;
            print_summary(&summary, 0, s.json_summary, stdout)?;
            return Err(runtime(fatal));
        }
    } else {
        summary.already_sent = counts.already;
        summary.uncertain = counts.uncertain;
    }

    offline_letters(
        letter,
        &signing,
        &renderer,
        &offline,
        s,
        &mut summary,
        stderr,
    )?;
    if !s.dry_run {
        write_report(s.report.as_deref(), &summary, stderr)?;
    }
    let would_send = if s.dry_run { counts.pending } else { 0 };
    print_summary(&summary, would_send, s.json_summary, stdout)?;
    Ok(summary.exit_status())
}

#[derive(Default)]
struct Counts {
    pending: usize,
    duplicate: usize,
    already: usize,
    uncertain: usize,
}

/// Refuses placeholder addresses, naming the recipient and where to fix it.
fn ensure_real_addresses(
    addressees: &[Arc<Addressee>],
    copies_to: &[String],
    campaign: &Campaign,
) -> Result<()> {
    let problems: Vec<String> = placeholders_in(addressees, copies_to)
        .iter()
        .map(|p| format!("{}: {} is a placeholder", p.owner, p.address))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let file = &campaign.sources.recipients.name;
    let where_to = if campaign.sources.root.is_some() {
        format!("set the real addresses in {file}")
    } else {
        "the built-in campaign ships placeholders: `protest-letter init my-campaign` copies it \
         into a folder; set the real addresses in my-campaign/recipients.toml, and run from \
         that folder or with --campaign my-campaign"
            .to_string()
    };
    bail!(
        "refusing to send to placeholder addresses:\n  {}\n{where_to}; `protest-letter check` lists them all",
        problems.join("\n  ")
    )
}

/// Shows the first letters to be sent: To, Cc, Subject, opening lines.
#[allow(clippy::too_many_arguments)]
fn preview(
    signing: &Signing,
    renderer: &Renderer<'_>,
    emailable: &Addressing,
    maker: &JobMaker<'_>,
    journal: &Journal,
    resend: bool,
    pending: usize,
    stderr: &mut dyn Write,
) -> Result<()> {
    const SHOWN: usize = 5;
    let mut shown = 0;
    for produced in signing.letters(renderer, emailable)? {
        if shown == SHOWN {
            break;
        }
        let job = maker.make(produced?, journal)?;
        if !resend && matches!(job.previous, Previous::Sent { .. }) {
            continue;
        }
        shown += 1;
        let e = &job.composed.envelope;
        let l = &job.produced.letter;
        writeln!(
            stderr,
            "── {shown} of {pending}: {} → {} (signed {})",
            l.letter_id, l.recipient.id, l.signer.name
        )?;
        writeln!(
            stderr,
            "   From: {}",
            job.composed.message.headers().get_raw("From").unwrap_or("")
        )?;
        writeln!(stderr, "   To: {} <{}>", l.recipient.name, e.to.join(", "))?;
        if !e.cc.is_empty() {
            writeln!(stderr, "   Cc: {}", e.cc.join(", "))?;
        }
        if !e.bcc.is_empty() {
            writeln!(stderr, "   Bcc: {}", e.bcc.join(", "))?;
        }
        writeln!(stderr, "   Subject: {}", l.subject)?;
        let opening = l
            .body
            .split("\n\n")
            .skip_while(|p| !p.trim_end().ends_with(','))
            .nth(1)
            .unwrap_or("");
        for line in opening.lines().take(3) {
            writeln!(stderr, "   | {line}")?;
        }
    }
    if pending > shown && shown > 0 {
        writeln!(stderr, "── … and {} more", pending - shown)?;
    }
    Ok(())
}

/// The SMTP password, looked up once before any connection.
fn password(settings: &TransportSettings, terminal: Terminal) -> Result<Option<String>> {
    let TransportSettings::Smtp(smtp) = settings else {
        return Ok(None);
    };
    Ok(match (&smtp.password, &smtp.user) {
        (_, None) => None,
        (PasswordSource::Env(p), _) => Some(p.clone()),
        (PasswordSource::Command(cmd), _) => Some(password_from_command(cmd)?),
        (PasswordSource::Prompt, Some(user)) if terminal.can_prompt() => Some(prompt::password(
            &format!("{} at {}", smtp.user_display(user), smtp.host),
        )?),
        (_, Some(user)) => bail!(
            "no SMTP password for `{}` and no terminal to ask on: set PROTEST_LETTER_SMTP_PASSWORD, \
             or password_command under [smtp] in your profile",
            smtp.user_display(user)
        ),
    })
}

fn open_transport(
    settings: &TransportSettings,
    password: Option<String>,
) -> Result<Box<dyn Deliver>> {
    match settings {
        TransportSettings::Sendmail { program, timeout } => {
            Ok(Box::new(Sendmail::new(program.clone(), *timeout)))
        }
        TransportSettings::Smtp(smtp) => Ok(Box::new(SmtpSession::new(smtp.clone(), password)?)),
    }
}

/// Runs the profile's `password_command` (`pass show mail`): its first line
/// of output is the password. Its output is never shown.
fn password_from_command(command: &str) -> Result<String> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run the password_command `{command}`: {e}"))?;
    if !output.status.success() {
        bail!(
            "the password_command `{command}` failed ({})",
            output.status
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().next().map(str::trim_end) {
        Some(line) if !line.is_empty() => Ok(line.to_string()),
        _ => bail!("the password_command `{command}` printed nothing"),
    }
}

/// Phone-only recipients go on the call sheet (once each); postal ones get
/// a printable letter per signer; none is skipped silently.
fn offline_letters(
    letter: &Letter,
    signing: &Signing,
    renderer: &Renderer<'_>,
    offline: &Addressing,
    s: &SendSettings,
    summary: &mut Summary,
    stderr: &mut dyn Write,
) -> Result<()> {
    for r in &offline.all() {
        if let Some(phone) = &r.phone {
            summary.call_sheet.push(CallSheetEntry {
                recipient: r.id.clone(),
                name: r.name.clone(),
                phone: phone.clone(),
                talking_points: talking_points(letter),
            });
        } else if r.address.is_empty() {
            writeln!(
                stderr,
                "no way to reach `{}` ({}): no email, phone or postal address{}",
                r.id,
                r.name,
                if r.country.is_none() {
                    "; give --country for your country's contact"
                } else {
                    ""
                }
            )?;
        }
    }
    let mut names = UniqueNames::default();
    for produced in signing.letters(renderer, offline)? {
        let produced = produced?;
        let l = &produced.letter;
        let r = &l.recipient;
        let mut status = if r.phone.is_some() {
            Status::CallSheet
        } else {
            Status::NoContact
        };
        if !r.address.is_empty() && !s.dry_run {
            let hint = produced
                .line
                .map(|n| format!("line-{n}"))
                .unwrap_or_default();
            let path = loop {
                let candidate = s.postal_dir.join(names.name(&file_stem(l, &hint), "txt"));
                if !candidate.exists() {
                    break candidate;
                }
            };
            write_atomic(&path, l.body.as_bytes(), false)?;
            summary.postal_letters.push(path.display().to_string());
            status = Status::Post;
        }
        summary.record(LetterResult {
            letter: l.letter_id.clone(),
            recipient: r.id.clone(),
            signer: l.signer.name.clone(),
            line: produced.line,
            to: None,
            status,
            message_id: None,
            reply: String::new(),
            was_uncertain: false,
        });
    }
    Ok(())
}

/// The letter's talking points, or its subject when it has none.
fn talking_points(letter: &Letter) -> Vec<String> {
    if letter.talking_points.is_empty() {
        vec![format!("I am calling about: {}.", letter.subject)]
    } else {
        letter.talking_points.clone()
    }
}

/// `--report FILE`: every failure with its reason, as CSV.
fn write_report(path: Option<&Path>, summary: &Summary, stderr: &mut dyn Write) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "line",
        "signer",
        "letter",
        "recipient",
        "to",
        "status",
        "reason",
    ])?;
    let failed = summary
        .letters
        .iter()
        .filter(|l| matches!(l.status, Status::FailedPermanent | Status::FailedTemporary));
    let mut count = 0;
    for l in failed {
        count += 1;
        let status = if l.status == Status::FailedPermanent {
            "failed permanently"
        } else {
            "failed temporarily"
        };
        out.write_record([
            l.line.map(|n| n.to_string()).unwrap_or_default().as_str(),
            &l.signer,
            &l.letter,
            &l.recipient,
            l.to.as_deref().unwrap_or(""),
            status,
            &l.reply,
        ])?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write the report: {e}"))?;
    write_atomic(path, &bytes, true)?;
    writeln!(
        stderr,
        "report: {count} failure(s) listed in {}",
        path.display()
    )?;
    Ok(())
}

fn print_summary(
    summary: &Summary,
    would_send: usize,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, summary)?;
        writeln!(out)?;
        return Ok(());
    }
    if !summary.call_sheet.is_empty() {
        writeln!(out, "Call sheet (no email for these; please phone):")?;
        for entry in &summary.call_sheet {
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
    match summary.postal_letters.as_slice() {
        [] => {}
        [one] => writeln!(out, "Letter for posting written to {one}")?,
        many => writeln!(
            out,
            "{} letters for posting written, e.g. {}",
            many.len(),
            many[0]
        )?,
    }
    if summary.dry_run {
        writeln!(
            out,
            "Dry run: {would_send} would be sent, {} already sent, {} not emailable.",
            summary.already_sent, summary.not_emailable
        )?;
    } else {
        writeln!(
            out,
            "Sent {}, already sent {}, refused {} ({} temporarily, {} permanently), uncertain {}, duplicate {}, not attempted {}, not emailable {}.",
            summary.sent,
            summary.already_sent,
            summary.failed_temporary + summary.failed_permanent,
            summary.failed_temporary,
            summary.failed_permanent,
            summary.uncertain,
            summary.duplicate,
            summary.not_attempted,
            summary.not_emailable
        )?;
    }
    Ok(())
}
