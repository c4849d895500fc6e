//! `send`: the command an activist runs when they mean it. Letters go out
//! to the right people, with the required copies, exactly once:
//! count (against the journal) → preview → confirm → deliver over one or a
//! few reused connections, retrying what can be retried → a call sheet for
//! phone-only recipients and printable letters for postal-only ones →
//! summary (and a CSV report of every letter).

mod count;
mod deliver;
pub mod journal;
mod plan;
mod summary;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::campaign::{Addressee, Campaign, Letter, placeholders_in};
use crate::error::{ExitStatus, runtime};
use crate::letters::render::Renderer;
use crate::letters::select::{choose_letter, choose_recipients, prepare};
use crate::letters::{Addressing, Produced, Signing};
use crate::message::{Composed, Composer};
use crate::output::{UniqueNames, file_stem, write_private};
use crate::settings::{PasswordSource, SendSettings, Terminal, TransportSettings};
use crate::signers::Account;
use crate::terminal::interrupt::Interrupt;
use crate::terminal::progress::Progress;
use crate::terminal::prompt;
use crate::transport::{Deliver, Sendmail, SmtpSession};
use journal::{Access, Journal, Previous};
use summary::{CallSheetEntry, LetterResult, Report, Status, Summary};

/// Why the letters a stopped run never reached were not sent.
const RUN_STOPPED: &str = "not sent: the run stopped before this letter";
const RUN_INTERRUPTED: &str = "not sent: the run was stopped (Ctrl-C or SIGTERM)";

/// One email to deliver.
pub struct Job {
    produced: Produced,
    composed: Composed,
    key: String,
    previous: Previous,
    /// The signature as given, for the journal ("Jo Bloggs, Union").
    signed: String,
    /// When a server first refused it for now (for `--retry-for`).
    first_refused: Option<std::time::Instant>,
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
            queue_id: (status == Status::Sent)
                .then(|| crate::transport::queue_id(reply))
                .flatten(),
            was_uncertain: matches!(self.previous, Previous::Uncertain { .. }),
            would_send: None,
            key: self.key.clone(),
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
    /// How many recipients a letter to `a` has (To, Cc and the blind
    /// copy): the composed envelope's count, for the plan.
    fn recipients(&self, a: &crate::campaign::Addressee) -> Result<usize> {
        let bcc = match (self.bcc_me, self.signing, self.account) {
            (false, _, _) => None,
            (true, Signing::One(signer), _) => Some(signer.email.as_str()),
            (true, _, account) => account.map(|a| a.email.as_str()),
        };
        self.composer.recipient_count(a, bcc)
    }

    fn make(&self, produced: Produced, journal: &Journal) -> Result<Job> {
        let sender = self.signing.sender(&produced, self.account, self.bcc_me)?;
        let key = produced.key();
        let mut composed =
            self.composer
                .compose(&produced.letter, &produced.message_seed(), &sender)?;
        let previous = journal.previous(&key)?;
        if let Previous::Uncertain { message_id } = &previous {
            // Sent again only when asked, and then as the same message, so
            // that a copy the server did get can be recognised.
            reuse_message_id(&mut composed, message_id);
        }
        Ok(Job {
            first_refused: None,
            signed: produced.signed(),
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

pub fn run(
    campaign: &Campaign,
    s: &SendSettings,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    // A closed or broken stdout or stderr changes nothing: the letters go
    // out, the journal is complete and the exit code tells the truth.
    let stdout = &mut Lossy::new(stdout);
    let stderr = &mut Lossy::new(stderr);
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
    ensure_real_addresses(
        &emailable.all(),
        &campaign.info.copies_to,
        campaign,
        s.dry_run,
        stderr,
    )?;

    let renderer = crate::letters::voice::prepare(
        Renderer::new(campaign, letter, s.date, s.signer.lang.as_deref()),
        &s.voice,
        &signing,
        &[emailable.all(), offline.all()].concat(),
        terminal,
        stderr,
    )?;
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
    // Every output is checked before the first letter goes out.
    let access = match (s.dry_run, s.wait) {
        (true, _) => Access::Read,
        (false, false) => Access::Write,
        (false, true) => Access::WriteWait,
    };
    let journal = Journal::open(&s.journal, access)?;
    let report = match (&s.report, s.dry_run) {
        (Some(path), false) => {
            let inputs: Vec<&Path> = s.batch.signatories.iter().map(|p| p.as_path()).collect();
            Some(Report::create(path, s.force, &inputs)?)
        }
        _ => None,
    };
    if !s.dry_run && offline.all().iter().any(|r| !r.address.is_empty()) {
        check_postal_dir(&s.postal_dir)?;
        if let Some(dir) = &s.print_dir {
            check_postal_dir(dir)?;
        }
    }
    let mut summary = Summary::new(s.dry_run, journal.path(), s.json_summary, report)?;

    // Count against the journal (no rendering: keys need only the signers).
    let counts = ledger(&letter.id, &signing, &emailable, &journal, s).count(&maker, stderr)?;

    preview(
        &signing,
        &renderer,
        &emailable,
        &maker,
        &journal,
        (s.resend, s.resend_uncertain),
        counts.pending,
        stderr,
    )?;
    plan::show(s, &counts.plan, stderr)?;
    let total = counts.total(s.resend);
    let mut journal = journal;
    let mut interrupt = None;
    if s.dry_run {
        writeln!(stderr, "dry run: nothing was sent")?;
        if s.json_summary {
            ledger(&letter.id, &signing, &emailable, &journal, s).list_dry(
                &renderer,
                &maker,
                &mut summary,
            )?;
        } else {
            summary.already_sent = counts.already;
            summary.uncertain = counts.uncertain;
            summary.duplicate = counts.duplicate;
        }
    } else if counts.pending > 0 {
        let Some(transport_settings) = &s.transport else {
            bail!("no transport configured: pass --smtp URL or --sendmail");
        };
        // A --ca-cert that is not a certificate is found before you confirm.
        if let TransportSettings::Smtp(smtp) = transport_settings {
            crate::transport::check_tls(smtp)?;
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
        let progress = Progress::new(
            total as u64,
            signing.is_batch() && terminal.stderr && !s.quiet,
            "sending",
        );
        let stop = Interrupt::watch();
        let outcome = deliver::run(
            deliver::Plan {
                letters: signing.letters(&renderer, &emailable)?,
                maker: &maker,
                resend: s.resend,
                resend_uncertain: s.resend_uncertain,
                connections: s.connections,
                interval: s.interval,
                retry_delay: s.retry_delay,
                retry_for: s.retry_for,
                verbose: s.verbose,
                interrupt: stop.clone(),
                daily_limit: daily_limit(&s.pacing),
            },
            &open,
            &mut journal,
            &progress,
            &mut summary,
        );
        progress.finish();
        interrupt = stop.status();
        summary.interrupted = interrupt.is_some();
        // Every letter the run did not reach is listed, each in its state.
        let reason = if interrupt.is_some() {
            RUN_INTERRUPTED
        } else {
            RUN_STOPPED
        };
        let listed = if summary.recorded() < total {
            ledger(&letter.id, &signing, &emailable, &journal, s)
                .list_the_rest(&mut summary, reason)
        } else {
            Ok(())
        };
        summary.not_attempted_of(total);
        if let Err(fatal) = outcome.and(listed) {
            // The run stopped: what was done is still reported in full.
            let reported = summary.finish_report(stderr);
            let _ = summary.print(0, s.json_summary, stdout);
            reported?;
            return Err(runtime(fatal));
        }
    } else {
        summary.already_sent = counts.already;
        summary.uncertain = counts.uncertain;
        summary.duplicate = counts.duplicate;
    }

    let offline_done = offline_letters(
        letter,
        &signing,
        &renderer,
        &offline,
        s,
        &mut summary,
        stderr,
    );
    let reported = summary.finish_report(stderr);
    let would_send = if s.dry_run { counts.pending } else { 0 };
    let printed = summary.print(would_send, s.json_summary, stdout);
    offline_done?;
    reported?;
    if let Err(e) = printed
        && !crate::error::is_broken_pipe(&e)
    {
        return Err(runtime(e));
    }
    Ok(interrupt.unwrap_or_else(|| summary.exit_status()))
}

/// What a day may carry: `--daily-limit` recipients, else the provider's
/// published limits.
fn daily_limit(pacing: &crate::settings::providers::Pacing) -> Option<deliver::DailyLimit> {
    let limits = pacing.provider.as_ref().map(|c| c.provider.limits);
    let limit = match pacing.daily_limit {
        Some(n) => deliver::DailyLimit {
            recipients: Some(u64::from(n)),
            messages: None,
        },
        None => deliver::DailyLimit {
            recipients: limits.and_then(|l| l.recipients_per_day).map(u64::from),
            messages: limits.and_then(|l| l.messages_per_day).map(u64::from),
        },
    };
    (limit.recipients.is_some() || limit.messages.is_some()).then_some(limit)
}

/// The run's letters as the journal sees them.
fn ledger<'a>(
    letter_id: &'a str,
    signing: &'a Signing,
    emailable: &'a Addressing,
    journal: &'a Journal,
    s: &SendSettings,
) -> count::Ledger<'a> {
    count::Ledger {
        letter_id,
        signing,
        emailable,
        journal,
        resend: count::Resend {
            all: s.resend,
            uncertain: s.resend_uncertain,
        },
    }
}

/// The postal `--out-dir` must exist and take files before any email goes.
fn check_postal_dir(dir: &Path) -> Result<()> {
    tempfile::tempfile_in(dir).map(drop).map_err(|e| {
        anyhow::anyhow!(
            "cannot write the letters for posting into {}: {e}. Create the folder or pass --out-dir DIR; \
             nothing was sent",
            dir.display()
        )
    })
}

/// A writer that drops what it cannot write: progress and messages to a
/// closed stderr (`send … 2>&1 | head`) must not stop or change the run.
struct Lossy<'a> {
    inner: &'a mut dyn Write,
    dead: bool,
}

impl<'a> Lossy<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        Lossy { inner, dead: false }
    }
}

impl Write for Lossy<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.dead && self.inner.write_all(buf).is_err() {
            self.dead = true;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.dead && self.inner.flush().is_err() {
            self.dead = true;
        }
        Ok(())
    }
}

/// Refuses placeholder addresses, naming the recipient and where to fix it.
fn ensure_real_addresses(
    addressees: &[Arc<Addressee>],
    copies_to: &[String],
    campaign: &Campaign,
    dry_run: bool,
    stderr: &mut dyn Write,
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
    let what = format!(
        "placeholder addresses:\n  {}\n{where_to}; `protest-letter check` lists them all",
        problems.join("\n  ")
    );
    // A dry run shows what would be sent; only a real send refuses.
    if dry_run {
        writeln!(stderr, "warning: a real send refuses these {what}")?;
        return Ok(());
    }
    bail!("refusing to send to {what}")
}

/// Shows the first letters to be sent: To, Cc, Subject, opening lines.
#[allow(clippy::too_many_arguments)]
fn preview(
    signing: &Signing,
    renderer: &Renderer<'_>,
    emailable: &Addressing,
    maker: &JobMaker<'_>,
    journal: &Journal,
    (resend, resend_uncertain): (bool, bool),
    pending: usize,
    stderr: &mut dyn Write,
) -> Result<()> {
    const SHOWN: usize = 5;
    let mut shown = 0;
    for produced in signing.letters(renderer, emailable)? {
        if shown == SHOWN.min(pending) {
            break;
        }
        let job = maker.make(produced?, journal)?;
        // Only letters this run sends, as `pending` counts them.
        let skipped = match job.previous {
            Previous::Sent { .. } => !resend,
            Previous::Uncertain { .. } => !resend && !resend_uncertain,
            _ => false,
        };
        if skipped {
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
        let to = l.recipient.name_in(&l.language);
        writeln!(stderr, "   To: {to} <{}>", e.to.join(", "))?;
        if !e.cc.is_empty() {
            writeln!(stderr, "   Cc: {}", e.cc.join(", "))?;
        }
        if !e.bcc.is_empty() {
            writeln!(stderr, "   Bcc: {}", e.bcc.join(", "))?;
        }
        writeln!(stderr, "   Subject: {}", l.subject)?;
        for line in crate::letters::opening::opening(l).lines().take(3) {
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
            if smtp.auth.takes_token() {
                "OAuth2 token"
            } else {
                "password"
            },
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

/// Runs the profile's `password_command` (`pass show mail`, a token
/// helper): its first line of output is the password or token. Neither its
/// output nor the command itself is shown (a command can carry a secret).
fn password_from_command(command: &str) -> Result<String> {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run the password_command from your profile: {e}"))?;
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        bail!(
            "the password_command from your profile failed ({status}); run it yourself to see why"
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().next().map(str::trim_end) {
        Some(line) if !line.is_empty() => Ok(line.to_string()),
        _ => bail!("the password_command from your profile printed nothing on its first line"),
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
    if offline.is_empty() {
        // Nothing to make: no pass over the members' list for it.
        return Ok(());
    }
    let mut names = UniqueNames::default();
    let petition = matches!(signing, Signing::Group(_));
    let paper = crate::output::pdf::petition_paper(petition, s.signer.country.as_deref());
    let printer = s
        .print_dir
        .as_ref()
        .map(|_| crate::output::pdf::Printer::new(paper, 0));
    // The caller's clock, for call sheets: read once, when one is made.
    let mut caller_zone = None;
    let mut missing = std::collections::BTreeSet::new();
    for produced in signing.letters(renderer, offline)? {
        let produced = produced?;
        let l = &produced.letter;
        let r = &l.recipient;
        let mut status = if r.phone.is_some() {
            Status::CallSheet
        } else {
            Status::NoContact
        };
        if let (Some(printer), Some(dir), true) = (&printer, &s.print_dir, r.phone.is_some())
            && !s.dry_run
        {
            let caller = caller_zone.get_or_insert_with(jiff::tz::TimeZone::system);
            let lang = Some(l.signer.language.as_str())
                .filter(|l| !l.is_empty())
                .or(s.signer.lang.as_deref());
            let call = crate::letters::call::sheet(letter, l, lang, s.date, caller);
            let hint = produced
                .line
                .map(|n| format!("line-{n}"))
                .unwrap_or_default();
            let path = loop {
                let stem = format!("{}-call-sheet", file_stem(l, &hint));
                let candidate = dir.join(names.name(&stem, "pdf"));
                if !candidate.exists() {
                    break candidate;
                }
            };
            printer.missing_glyphs(l, &[], &mut missing);
            write_private(&path, &printer.call_sheet(l, &call)?)?;
            summary.call_sheet_count += 1;
            summary
                .call_sheet_first
                .get_or_insert_with(|| path.display().to_string());
        }
        if !r.address.is_empty() && !s.dry_run {
            let hint = produced
                .line
                .map(|n| format!("line-{n}"))
                .unwrap_or_default();
            // A name free for the text and, with --print-dir, the PDF.
            let (path, pdf) = loop {
                let name = names.name(&file_stem(l, &hint), "txt");
                let pdf = s
                    .print_dir
                    .as_ref()
                    .map(|d| d.join(&name).with_extension("pdf"));
                let candidate = s.postal_dir.join(name);
                if !candidate.exists() && !pdf.as_ref().is_some_and(|p| p.exists()) {
                    break (candidate, pdf);
                }
            };
            write_private(&path, l.body.as_bytes())?;
            if let (Some(printer), Some(pdf)) = (&printer, pdf) {
                let members = produced.petition.as_ref().map_or(&[][..], |p| p.members());
                printer.missing_glyphs(l, members, &mut missing);
                write_private(&pdf, &printer.letter(l, members)?)?;
            }
            summary.postal_count += 1;
            summary
                .postal_first
                .get_or_insert_with(|| path.display().to_string());
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
            queue_id: None,
            was_uncertain: false,
            would_send: None,
            key: String::new(),
        });
    }
    if let Some(warning) = crate::output::pdf::missing_warning(&missing) {
        writeln!(stderr, "{warning}")?;
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
