//! `write`: renders the chosen letter for the chosen recipients, for one
//! signer or a members' list, and streams the result where the user asked.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::campaign::{Addressee, Campaign, placeholders_in};
use crate::cli::Format;
use crate::error::ExitStatus;
use crate::letters::render::Renderer;
use crate::letters::select::{
    Run, choose_letter, choose_recipients, note_languages, prepare, warn_unlisted,
};
use crate::letters::{Signing, call};
use crate::message::Composer;
use crate::output::{Item, Sink, slug};
use crate::settings::{Target, Terminal, WriteSettings};
use crate::terminal::interrupt::Interrupt;
use crate::terminal::progress::Progress;

pub fn run(
    campaign: &Campaign,
    settings: &WriteSettings,
    today: jiff::civil::Date,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    let format = settings.output.format;
    check_pdf(settings, terminal)?;
    let letter = choose_letter(campaign, settings.letter.as_deref())?;
    crate::campaign::language::ensure_available(letter, settings.signer.lang.as_deref())?;
    if let Some(passed) = crate::campaign::deadline::passed(campaign, letter, today) {
        let _ = writeln!(stderr, "{}", crate::campaign::deadline::warning(&passed));
    }
    let recipients = choose_recipients(campaign, letter, &settings.to)?;
    warn_unlisted(letter, &recipients, stderr)?;
    let Run {
        signing,
        account,
        mut addressing,
    } = prepare(
        &settings.batch,
        &settings.signer,
        &recipients,
        settings.email.embassy_email.as_deref(),
        terminal,
        format.is_email(),
        stderr,
    )?;

    if format.is_email() {
        for a in addressing.all().iter().filter(|a| a.email.is_none()) {
            writeln!(stderr, "note: {}", not_emailable(a))?;
        }
        addressing.retain(|a| a.email.is_some());
        if addressing.is_empty() {
            bail!(
                "none of the chosen recipients has an email address; use --format text to print the letters"
            );
        }
        warn_placeholders(&addressing.all(), &campaign.info.copies_to, stderr)?;
    }
    let total = addressing.letter_count();
    if format == Format::Eml && !matches!(settings.output.target, Target::Dir(_)) && total > 1 {
        bail!(
            "{total} messages, but an eml file holds one: use --format mbox for one stream, \
             --out-dir DIR for one .eml per letter, or --to ID for a single recipient"
        );
    }
    // A letter for a folder that is there already is found as the batch
    // is written (no pass over the list just for the names): the run
    // stops at it and nothing is written (`Staged`).

    // A call sheet is in the caller's language whatever the letter's is.
    let mut lettered = addressing.all();
    lettered.retain(|a| format != Format::Pdf || !call::phone_only(a));
    note_languages(letter, settings.signer.lang.as_deref(), &lettered, stderr)?;
    let renderer = crate::letters::voice::prepare(
        Renderer::new(
            campaign,
            letter,
            settings.date,
            settings.signer.lang.as_deref(),
        ),
        &settings.voice,
        &signing,
        &addressing.all(),
        terminal,
        stderr,
    )?;
    let composer = Composer::new(
        &campaign.info.copies_to,
        &addressing.all(),
        settings.email.clock,
        true,
    )?;
    let progress = Progress::new(
        total,
        signing.is_batch() && terminal.stderr && !settings.quiet,
        "writing",
    );
    let mut output = settings.output.clone();
    if output.paper.is_none() {
        let petition = matches!(signing, Signing::Group(_));
        output.paper =
            crate::output::pdf::petition_paper(petition, settings.signer.country.as_deref());
    }
    let mut sink = Sink::open(format, &output, signing.is_batch(), stdout)?;
    for name in sink.cleared() {
        writeln!(
            stderr,
            "removed {name}: an unfinished batch left by an earlier run that was killed"
        )?;
    }
    // A batch stopped by Ctrl-C or SIGTERM writes nothing: its staged
    // letters are removed, as for any failure part-way.
    let stop = signing.is_batch().then(Interrupt::watch);
    // The caller's clock, for call sheets: read once, when one is made.
    let mut caller_zone = None;
    if format == Format::Pdf {
        for a in addressing.all().iter().filter(|a| call::phone_only(a)) {
            writeln!(
                stderr,
                "note: `{}` ({}) takes phone calls only: its PDF is a call sheet",
                a.id, a.name
            )?;
        }
    }
    for produced in signing.letters(&renderer, &addressing)? {
        if let Some(status) = stop.as_ref().and_then(Interrupt::status) {
            progress.finish();
            drop(sink);
            writeln!(stderr, "stopped: nothing of this batch was written")?;
            return Ok(status);
        }
        let produced = produced?;
        let call =
            (format == Format::Pdf && call::phone_only(&produced.letter.recipient)).then(|| {
                let caller = caller_zone.get_or_insert_with(jiff::tz::TimeZone::system);
                let lang = Some(produced.letter.signer.language.as_str())
                    .filter(|l| !l.is_empty())
                    .or(settings.signer.lang.as_deref());
                call::sheet(letter, &produced.letter, lang, settings.date, caller)
            });
        let composed = if format.is_email() {
            let sender = signing.sender(&produced, account.as_ref(), settings.email.bcc_me)?;
            Some(composer.compose(&produced.letter, &produced.message_seed(), &sender)?)
        } else {
            None
        };
        sink.emit(&Item {
            letter: &produced.letter,
            composed: composed.as_ref(),
            name_hint: &name_hint(&signing, &produced.letter.signer.name, produced.line),
            members: produced.petition.as_ref().map_or(&[], |p| p.members()),
            call: call.as_ref(),
        })?;
        progress.inc();
    }
    progress.finish();
    let missing = sink.missing_glyphs();
    let written = sink.finish()?;
    if let Some(warning) = missing {
        writeln!(stderr, "{warning}")?;
    }
    if written.len() > 5 {
        writeln!(stderr, "wrote {} files", written.len())?;
    } else {
        for path in written {
            writeln!(stderr, "wrote {path}")?;
        }
    }
    Ok(ExitStatus::Success)
}

/// A PDF is binary: it goes to a file, a folder or a pipe, never to a
/// terminal; `--paper` and `--blank-sheets` mean nothing in another
/// format, and `--bcc-me` nothing in a PDF.
fn check_pdf(settings: &WriteSettings, terminal: Terminal) -> Result<()> {
    let output = &settings.output;
    if output.format == Format::Pdf && output.target == Target::Stdout && terminal.stdout {
        bail!(
            "a PDF is binary and would garble the terminal: give -o FILE.pdf, --out-dir DIR, \
             or pipe it (| lp)"
        );
    }
    if output.format == Format::Pdf && settings.email.bcc_me {
        bail!(
            "--bcc-me puts you in an email's Bcc, and a PDF is not an email: leave it out, \
             or use --format eml or mbox"
        );
    }
    if output.format != Format::Pdf && output.paper.is_some() {
        bail!("--paper lays out a PDF: add --format pdf (or -o FILE.pdf)");
    }
    if output.format != Format::Pdf && output.blank_sheets > 0 {
        bail!("--blank-sheets adds pages to a PDF: add --format pdf (or -o FILE.pdf)");
    }
    Ok(())
}

/// The signer part of a batch file name: the member's name, or the CSV
/// line when the name has no ASCII letters.
fn name_hint(signing: &Signing, name: &str, line: Option<u64>) -> String {
    match (signing, line) {
        (Signing::PerMember(_), Some(line)) => {
            let s = slug(name);
            if s.is_empty() {
                format!("line-{line}")
            } else {
                s
            }
        }
        _ => String::new(),
    }
}

/// "left out `x` (name): no email address; call …".
pub fn not_emailable(r: &Addressee) -> String {
    let how = match (&r.phone, r.address.is_empty()) {
        (Some(phone), _) => format!("call {phone}"),
        (None, false) => "send it by post".to_string(),
        (None, true) => "no phone or postal address either".to_string(),
    };
    format!("left out `{}` ({}): no email address; {how}", r.id, r.name)
}

/// Tells the user when To or Cc hold placeholder addresses, which must be
/// replaced before the message is mailed.
fn warn_placeholders(
    addressees: &[Arc<Addressee>],
    copies_to: &[String],
    stderr: &mut dyn Write,
) -> Result<()> {
    let mut found: Vec<&str> = Vec::new();
    for p in placeholders_in(addressees, copies_to) {
        if !found.contains(&p.address) {
            found.push(p.address);
        }
    }
    if !found.is_empty() {
        writeln!(
            stderr,
            "warning: placeholder addresses in the messages ({}): replace them in recipients.toml before mailing",
            found.join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use crate::signers::signatories::bytes_read;

    /// Runs the program in this process on the repository's campaign.
    fn run(args: &[&str], dir: &Path) -> (crate::error::ExitStatus, String) {
        let campaign = env!("CARGO_MANIFEST_DIR");
        let mut argv = vec!["protest-letter", "--campaign", campaign, "--quiet"];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let env = crate::settings::Environment {
            vars: [
                ("PROTEST_LETTER_PROFILE", dir.join("none.toml")),
                ("SOURCE_DATE_EPOCH", "1795000000".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect(),
            cwd: dir.to_path_buf(),
            config_dir: None,
            data_dir: Some(dir.join("data")),
            today: jiff::civil::date(2026, 11, 22),
            terminal: crate::settings::Terminal::default(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = crate::run(cli, &env, &mut out, &mut err)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&err)));
        (status, String::from_utf8_lossy(&err).into_owned())
    }

    /// The passes a run makes over the members' list, counted by the bytes
    /// it reads from the file: opening it reads the first 64 bytes (to tell
    /// a spreadsheet), the first 64 KiB (to tell the encoding) and the
    /// header; then each pass reads it whole.
    fn passes(args: &[&str], members: usize, message: bool) -> f64 {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("members.csv");
        let mut text = String::from("name,email,country,message\n");
        for i in 1..=members {
            // Members' own words, or everyone's the same (then the warning
            // about identical letters needs them all looked at).
            let words = if message {
                format!("My words {i}")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "Member {i},member.number.{i}@union.example,GB,{words}\n"
            ));
        }
        std::fs::write(&list, &text).unwrap();
        let out = dir.path().join("out");
        let mut argv = vec!["write", "--date", "2026-11-22", "--email", "sec@u.org"];
        argv.extend(["--signatories", list.to_str().unwrap()]);
        for a in args {
            argv.push(if *a == "OUT" {
                out.to_str().unwrap()
            } else {
                a
            });
        }
        let (status, err) = run(&argv, dir.path());
        assert_eq!(status, crate::error::ExitStatus::Success, "{err}");
        let size = text.len() as u64;
        let opening = size.min(64) + size.min(1 << 16) + size.min(4096);
        (bytes_read(&list) - opening) as f64 / size as f64
    }

    #[test]
    fn a_batch_reads_the_list_twice_check_then_letters() {
        let n = 1500;
        let one = ["--to", "supreme-court"];
        for message in [false, true] {
            let out_dir = passes(&[&one[..], &["--out-dir", "OUT"]].concat(), n, message);
            assert_eq!(out_dir, 2.0, "--out-dir, message column {message}");
        }
        let mbox = passes(
            &[&one[..], &["--format", "mbox", "-o", "OUT"]].concat(),
            n,
            false,
        );
        assert_eq!(mbox, 2.0, "-o mbox");
        // A petition: the check, then its members, read once for every
        // recipient's letter.
        let group = passes(&[&one[..], &["--group", "-o", "OUT"]].concat(), n, true);
        assert_eq!(group, 2.0, "--group");
    }
}
