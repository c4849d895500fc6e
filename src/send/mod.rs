//! `send`: the command an activist runs when they mean it. Letters go out
//! to the right people, with the required copies, exactly once:
//! preview → confirm → deliver (retrying what can be retried) → journal →
//! a call sheet for phone-only recipients and printable letters for
//! postal-only ones → summary.

pub mod journal;
pub mod transport;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::address::is_placeholder;
use crate::campaign::{Campaign, Letter};
use crate::commands::write::{address, choose_letter, choose_recipients};
use crate::error::{ExitStatus, runtime};
use crate::message::{Composed, Composer, Sender};
use crate::output::{UniqueNames, file_stem, write_atomic};
use crate::prompt;
use crate::render::{Rendered, Renderer};
use crate::settings::{PasswordSource, SendSettings, Terminal, TransportSettings};
use journal::{Journal, Previous};
use transport::{Deliver, Outcome, Sendmail, SmtpSession};

/// How often a letter is tried before it counts as failed.
const MAX_ATTEMPTS: u32 = 5;

/// One email to deliver.
struct Job {
    letter: Rendered,
    composed: Composed,
    /// Identity of "the same letter" in the journal.
    key: String,
    previous: Previous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    AlreadySent,
    WouldSend,
    FailedTemporary,
    FailedPermanent,
    NotAttempted,
    CallSheet,
    Post,
    NoContact,
}

#[derive(Debug, Serialize)]
struct LetterResult {
    letter: String,
    recipient: String,
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
struct Summary {
    dry_run: bool,
    sent: usize,
    already_sent: usize,
    failed_temporary: usize,
    failed_permanent: usize,
    not_attempted: usize,
    not_emailable: usize,
    journal: String,
    letters: Vec<LetterResult>,
    call_sheet: Vec<CallSheetEntry>,
    postal_letters: Vec<String>,
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
    let signer = Arc::new(prompt::signer(&s.signer, terminal, true)?);
    let addressees = address(
        &recipients,
        &signer,
        s.email.embassy_email.as_deref(),
        stderr,
    )?;
    let renderer = Renderer::new(campaign, letter, s.date, s.signer.lang.as_deref());
    let letters = addressees
        .iter()
        .map(|a| renderer.render(a, std::slice::from_ref(&signer)))
        .collect::<Result<Vec<_>>>()?;
    let (emailable, offline): (Vec<Rendered>, Vec<Rendered>) = letters
        .into_iter()
        .partition(|l| l.recipient.email.is_some());

    let sender = Sender::personal(&signer, s.email.bcc_me)?;
    let composer = Composer::new(&campaign.info.copies_to, s.email.clock, false);
    let journal = Journal::open(&s.journal)?;
    let mut jobs = Vec::new();
    for letter in emailable {
        let composed = composer.compose(&letter, &sender)?;
        let key = journal_key(&letter, &composed);
        let previous = journal.previous(&key);
        jobs.push(Job {
            letter,
            composed,
            key,
            previous,
        });
    }
    ensure_real_addresses(&jobs, campaign)?;

    let mut summary = Summary {
        dry_run: s.dry_run,
        journal: journal.path().display().to_string(),
        ..Summary::default()
    };
    let (skip, todo): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|j| !s.resend && matches!(j.previous, Previous::Sent { .. }));
    summary.already_sent = skip.len();
    for job in &skip {
        if let Previous::Sent { time, .. } = &job.previous {
            writeln!(
                stderr,
                "already sent: {} to {} on {time} (journal {}); --resend sends it again",
                job.letter.letter_id, job.letter.recipient.id, summary.journal
            )?;
        }
        summary.letters.push(result(job, Status::AlreadySent, ""));
    }
    for job in todo.iter().filter(|j| j.previous == Previous::Uncertain) {
        writeln!(
            stderr,
            "uncertain: an interrupted run was sending {} to {}; the server may have it already. Sending it again",
            job.letter.letter_id, job.letter.recipient.id
        )?;
    }

    preview(&todo, stderr)?;
    if s.dry_run {
        writeln!(stderr, "dry run: nothing was sent")?;
        for job in &todo {
            summary.letters.push(result(job, Status::WouldSend, ""));
        }
    } else if !todo.is_empty() {
        let Some(transport_settings) = &s.transport else {
            bail!("no transport configured: pass --smtp URL or --sendmail");
        };
        let question = format!(
            "Send {} email{}?",
            todo.len(),
            if todo.len() == 1 { "" } else { "s" }
        );
        if !s.yes {
            if !terminal.can_prompt() {
                bail!(
                    "refusing to send without confirmation: there is no terminal to ask on. \
                     Pass --yes to send, or --dry-run to see what would be sent"
                );
            }
            if !prompt::confirm(&question)? {
                writeln!(stderr, "nothing was sent")?;
                return Ok(ExitStatus::Success);
            }
        }
        let mut transport = open_transport(transport_settings, terminal)?;
        if s.verbose {
            writeln!(stderr, "sending through {}", transport.describe())?;
        }
        let mut journal = journal;
        let outcome = deliver_all(
            &todo,
            transport.as_mut(),
            &mut journal,
            s.retry_delay,
            s.verbose,
            stderr,
            &mut summary,
        );
        transport.close();
        journal.sync()?;
        if let Err(fatal) = outcome {
            print_summary(&summary, s.json_summary, stdout)?;
            return Err(runtime(fatal));
        }
    }

    offline_letters(letter, &offline, s, &mut summary, stderr)?;
    print_summary(&summary, s.json_summary, stdout)?;
    Ok(
        if summary.failed_permanent + summary.failed_temporary + summary.not_attempted > 0 {
            ExitStatus::SomeFailed
        } else {
            ExitStatus::Success
        },
    )
}

/// Letter, recipient, addresses and signer: sending the same letter to the
/// same people from the same signer again is what the journal prevents.
fn journal_key(letter: &Rendered, composed: &Composed) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        letter.letter_id,
        letter.recipient.id,
        composed.envelope.to.join(","),
        letter.signer.email,
        letter.signer.name
    )
}

/// Refuses placeholder addresses, naming the recipient and where to fix it.
fn ensure_real_addresses(jobs: &[Job], campaign: &Campaign) -> Result<()> {
    let mut problems = Vec::new();
    for job in jobs {
        for address in job.composed.envelope.recipients() {
            if is_placeholder(address) {
                let line = format!(
                    "`{}` ({}): {address} is a placeholder",
                    job.letter.recipient.id, job.letter.recipient.name
                );
                if !problems.contains(&line) {
                    problems.push(line);
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let file = &campaign.sources.recipients.name;
    let where_to = if campaign.sources.root.is_some() {
        format!("set the real addresses in {file}")
    } else {
        "the built-in campaign ships placeholders: copy it with its recipients.toml and letters/ into a folder, \
         set the real addresses there, and run with --campaign DIR (see the README, \"Sending the default campaign\")"
            .to_string()
    };
    bail!(
        "refusing to send to placeholder addresses:\n  {}\n{where_to}; `protest-letter check` lists them all",
        problems.join("\n  ")
    )
}

fn preview(jobs: &[Job], stderr: &mut dyn Write) -> Result<()> {
    const SHOWN: usize = 5;
    for (i, job) in jobs.iter().take(SHOWN).enumerate() {
        let e = &job.composed.envelope;
        writeln!(
            stderr,
            "── {} of {}: {} → {}",
            i + 1,
            jobs.len(),
            job.letter.letter_id,
            job.letter.recipient.id
        )?;
        writeln!(
            stderr,
            "   To: {} <{}>",
            job.letter.recipient.name,
            e.to.join(", ")
        )?;
        if !e.cc.is_empty() {
            writeln!(stderr, "   Cc: {}", e.cc.join(", "))?;
        }
        if !e.bcc.is_empty() {
            writeln!(stderr, "   Bcc: {}", e.bcc.join(", "))?;
        }
        writeln!(stderr, "   Subject: {}", job.letter.subject)?;
        let opening = job
            .letter
            .body
            .split("\n\n")
            .skip_while(|p| !p.trim_end().ends_with(','))
            .nth(1)
            .unwrap_or("");
        for line in opening.lines().take(3) {
            writeln!(stderr, "   | {line}")?;
        }
    }
    if jobs.len() > SHOWN {
        writeln!(stderr, "── … and {} more", jobs.len() - SHOWN)?;
    }
    Ok(())
}

fn open_transport(settings: &TransportSettings, terminal: Terminal) -> Result<Box<dyn Deliver>> {
    match settings {
        TransportSettings::Sendmail(path) => Ok(Box::new(Sendmail::new(path.clone()))),
        TransportSettings::Smtp(smtp) => {
            let password = match (&smtp.password, &smtp.user) {
                (_, None) => None,
                (PasswordSource::Env(p), _) => Some(p.clone()),
                (PasswordSource::Command(cmd), _) => Some(password_from_command(cmd)?),
                (PasswordSource::Prompt, Some(user)) if terminal.can_prompt() => {
                    Some(prompt::password(&format!("{user} at {}", smtp.host))?)
                }
                (_, Some(user)) => bail!(
                    "no SMTP password for `{user}` and no terminal to ask on: set PROTEST_LETTER_SMTP_PASSWORD, \
                     or password_command under [smtp] in your profile"
                ),
            };
            Ok(Box::new(SmtpSession::new(smtp.clone(), password)?))
        }
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

/// A retry delay: doubling from the base, with ±25 % jitter so that many
/// clients do not return at once.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ms = (base.as_millis() as u64)
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(60_000);
    let jitter = (ms / 4).max(1);
    Duration::from_millis(ms - jitter + fastrand_u64(2 * jitter))
}

/// A cheap random number for jitter (not for anything secret).
fn fastrand_u64(bound: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) % bound.max(1)
}

/// Delivers every job once, retrying temporary failures with backoff while
/// the other letters go on. `Err` means nothing more could be sent.
fn deliver_all(
    jobs: &[Job],
    transport: &mut dyn Deliver,
    journal: &mut Journal,
    retry_delay: Duration,
    verbose: bool,
    stderr: &mut dyn Write,
    summary: &mut Summary,
) -> Result<()> {
    // Min-heap on (ready time, order): the next letter due.
    let start = Instant::now();
    let mut queue: BinaryHeap<Reverse<(Instant, usize, u32)>> =
        (0..jobs.len()).map(|i| Reverse((start, i, 0))).collect();
    let mut done = vec![false; jobs.len()];
    while let Some(Reverse((ready, index, attempts))) = queue.pop() {
        let wait = ready.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let job = &jobs[index];
        journal.attempt(&job.key, &job.composed.message_id)?;
        let outcome = match transport.deliver(&job.composed) {
            Ok(outcome) => outcome,
            Err(fatal) => {
                journal.failed(
                    &job.key,
                    &job.composed.message_id,
                    "not sent: the run stopped",
                )?;
                record_not_attempted(jobs, &done, summary);
                return Err(fatal);
            }
        };
        let attempts = attempts + 1;
        let who = format!("{} → {}", job.letter.letter_id, job.letter.recipient.id);
        match outcome {
            Outcome::Accepted(reply) => {
                journal.sent(
                    &job.key,
                    &job.composed.message_id,
                    &reply,
                    &job.composed.envelope.recipients(),
                )?;
                if verbose {
                    writeln!(stderr, "sent {who}: {reply}")?;
                }
                summary.sent += 1;
                summary.letters.push(result(job, Status::Sent, &reply));
                done[index] = true;
            }
            Outcome::Permanent(reply) => {
                journal.failed(&job.key, &job.composed.message_id, &reply)?;
                writeln!(stderr, "failed {who}: {reply}")?;
                summary.failed_permanent += 1;
                summary
                    .letters
                    .push(result(job, Status::FailedPermanent, &reply));
                done[index] = true;
            }
            Outcome::Temporary(reply) | Outcome::Unreachable(reply) if attempts < MAX_ATTEMPTS => {
                let delay = backoff(retry_delay, attempts);
                writeln!(
                    stderr,
                    "will retry {who} in {:.1}s: {reply}",
                    delay.as_secs_f32()
                )?;
                queue.push(Reverse((Instant::now() + delay, index, attempts)));
            }
            Outcome::Temporary(reply) => {
                journal.failed(&job.key, &job.composed.message_id, &reply)?;
                writeln!(stderr, "gave up on {who} after {attempts} tries: {reply}")?;
                summary.failed_temporary += 1;
                summary
                    .letters
                    .push(result(job, Status::FailedTemporary, &reply));
                done[index] = true;
            }
            Outcome::Unreachable(reply) => {
                journal.failed(&job.key, &job.composed.message_id, &reply)?;
                record_not_attempted(jobs, &done, summary);
                bail!("{reply} (tried {attempts} times); nothing more was sent");
            }
        }
    }
    Ok(())
}

fn record_not_attempted(jobs: &[Job], done: &[bool], summary: &mut Summary) {
    for (job, _) in jobs.iter().zip(done).filter(|(_, d)| !**d) {
        summary.not_attempted += 1;
        summary.letters.push(result(job, Status::NotAttempted, ""));
    }
}

fn result(job: &Job, status: Status, reply: &str) -> LetterResult {
    LetterResult {
        letter: job.letter.letter_id.clone(),
        recipient: job.letter.recipient.id.clone(),
        to: job.letter.recipient.email.clone(),
        status,
        message_id: Some(job.composed.message_id.clone()),
        reply: reply.to_string(),
        was_uncertain: job.previous == Previous::Uncertain,
    }
}

/// Phone-only recipients go on the call sheet; postal ones get a printable
/// letter file; none is skipped silently.
fn offline_letters(
    letter: &Letter,
    offline: &[Rendered],
    s: &SendSettings,
    summary: &mut Summary,
    stderr: &mut dyn Write,
) -> Result<()> {
    let mut names = UniqueNames::default();
    for l in offline {
        let r = &l.recipient;
        summary.not_emailable += 1;
        let mut status = Status::NoContact;
        if let Some(phone) = &r.phone {
            summary.call_sheet.push(CallSheetEntry {
                recipient: r.id.clone(),
                name: r.name.clone(),
                phone: phone.clone(),
                talking_points: talking_points(letter, l),
            });
            status = Status::CallSheet;
        }
        if !r.address.is_empty() && !s.dry_run {
            let path = loop {
                let candidate = s.postal_dir.join(names.name(&file_stem(l, ""), "txt"));
                if !candidate.exists() {
                    break candidate;
                }
            };
            write_atomic(&path, l.body.as_bytes(), false)?;
            summary.postal_letters.push(path.display().to_string());
            status = Status::Post;
        }
        if status == Status::NoContact {
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
        summary.letters.push(LetterResult {
            letter: l.letter_id.clone(),
            recipient: r.id.clone(),
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
fn talking_points(letter: &Letter, rendered: &Rendered) -> Vec<String> {
    if letter.talking_points.is_empty() {
        vec![format!("I am calling about: {}.", rendered.subject)]
    } else {
        letter.talking_points.clone()
    }
}

fn print_summary(summary: &Summary, json: bool, out: &mut dyn Write) -> Result<()> {
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
    for path in &summary.postal_letters {
        writeln!(out, "Letter for posting written to {path}")?;
    }
    if summary.dry_run {
        let would = summary
            .letters
            .iter()
            .filter(|l| l.status == Status::WouldSend)
            .count();
        writeln!(
            out,
            "Dry run: {would} would be sent, {} already sent, {} not emailable.",
            summary.already_sent, summary.not_emailable
        )?;
    } else {
        writeln!(
            out,
            "Sent {}, already sent {}, failed temporarily {}, failed permanently {}, not attempted {}, not emailable {}.",
            summary.sent,
            summary.already_sent,
            summary.failed_temporary,
            summary.failed_permanent,
            summary.not_attempted,
            summary.not_emailable
        )?;
    }
    Ok(())
}
