//! `write`: renders the chosen letter for the chosen recipients, for one
//! signer or a members' list, and streams the result where the user asked.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use super::select::{address, choose_letter, choose_recipients, signing};
use crate::address::is_placeholder;
use crate::campaign::{Addressee, Campaign};
use crate::error::ExitStatus;
use crate::letters::Signing;
use crate::message::Composer;
use crate::output::{self, Format, Item, Sink, UniqueNames, file_stem_parts, slug};
use crate::progress::Progress;
use crate::render::Renderer;
use crate::settings::{Target, Terminal, WriteSettings};

pub fn run(
    campaign: &Campaign,
    settings: &WriteSettings,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    let format = settings.output.format;
    let letter = choose_letter(campaign, settings.letter.as_deref())?;
    let recipients = choose_recipients(campaign, letter, &settings.to)?;
    let (signing, account, sets) = signing(
        &settings.batch,
        &settings.signer,
        terminal,
        format.is_email(),
        stderr,
    )?;
    let country = match &signing {
        Signing::One(s) => Some(s.country.clone()),
        _ => settings.signer.country.clone(),
    };
    let mut addressees = address(
        &recipients,
        country.as_deref(),
        settings.email.embassy_email.as_deref(),
        stderr,
    )?;

    if format.is_email() {
        for a in addressees.iter().filter(|a| a.email.is_none()) {
            writeln!(stderr, "note: {}", not_emailable(a))?;
        }
        addressees.retain(|a| a.email.is_some());
        if addressees.is_empty() {
            bail!(
                "none of the chosen recipients has an email address; use --format text to print the letters"
            );
        }
        warn_placeholders(&addressees, &campaign.info.copies_to, stderr)?;
    }
    let total = sets * addressees.len() as u64;
    if format == Format::Eml && !matches!(settings.output.target, Target::Dir(_)) && total > 1 {
        bail!(
            "{total} messages, but an eml file holds one: use --format mbox for one stream, \
             --out-dir DIR for one .eml per letter, or --to ID for a single recipient"
        );
    }
    if let Target::Dir(dir) = &settings.output.target {
        let planned: Vec<_> = planned_names(&signing, letter.id.as_str(), &addressees, format)?
            .into_iter()
            .map(|name| dir.join(name))
            .collect();
        output::ensure_absent(&planned, settings.output.force)?;
    }

    let renderer = Renderer::new(
        campaign,
        letter,
        settings.date,
        settings.signer.lang.as_deref(),
    );
    let composer = Composer::new(&campaign.info.copies_to, settings.email.clock, true);
    let progress = Progress::new(total, signing.is_batch() && terminal.stderr, "writing");
    let mut sink = Sink::open(format, &settings.output, stdout)?;
    for produced in signing.letters(&renderer, &addressees)? {
        let produced = produced?;
        let composed = if format.is_email() {
            let sender = signing.sender(&produced, account.as_ref(), settings.email.bcc_me)?;
            Some(composer.compose(&produced.letter, &sender)?)
        } else {
            None
        };
        sink.emit(&Item {
            letter: &produced.letter,
            composed: composed.as_ref(),
            name_hint: &name_hint(&signing, &produced.letter.signer.name, produced.line),
        })?;
        progress.inc();
    }
    progress.finish();
    let written = sink.finish()?;
    if written.len() > 5 {
        writeln!(stderr, "wrote {} files", written.len())?;
    } else {
        for path in written {
            writeln!(stderr, "wrote {path}")?;
        }
    }
    Ok(ExitStatus::Success)
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

/// The file names a folder will receive, in the order they are written, so
/// that existing files are found before anything is written.
fn planned_names(
    signing: &Signing,
    letter: &str,
    addressees: &[Arc<Addressee>],
    format: Format,
) -> Result<Vec<String>> {
    let mut names = UniqueNames::default();
    let mut out = Vec::new();
    let mut add = |hint: &str| {
        for a in addressees {
            out.push(names.name(&file_stem_parts(letter, a, hint), format.extension()));
        }
    };
    match signing {
        Signing::PerMember(list) => {
            for row in list.rows()? {
                if let (line, Ok(signer)) = row? {
                    add(&name_hint(signing, &signer.name, Some(line)));
                }
            }
        }
        _ => add(""),
    }
    Ok(out)
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
    let all = addressees
        .iter()
        .flat_map(|a| a.email.iter().chain(&a.cc))
        .chain(copies_to);
    for a in all {
        if is_placeholder(a) && !found.contains(&a.as_str()) {
            found.push(a);
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
