//! `write`: renders the chosen letter for the chosen recipients and puts
//! the result where the user asked.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::address::is_placeholder;
use crate::campaign::{Addressee, Campaign, CountryOutcome, Letter};
use crate::error::ExitStatus;
use crate::message::{Composed, Composer, Sender};
use crate::output::{self, Format, Item, Sink};
use crate::prompt;
use crate::render::{Rendered, Renderer};
use crate::settings::{Target, Terminal, WriteSettings};
use crate::signer::Signer;

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
    let signer = Arc::new(prompt::signer(
        &settings.signer,
        terminal,
        format.is_email(),
    )?);
    let addressees = address(
        &recipients,
        &signer,
        settings.email.embassy_email.as_deref(),
        stderr,
    )?;
    let renderer = Renderer::new(
        campaign,
        letter,
        settings.date,
        settings.signer.lang.as_deref(),
    );
    let letters = addressees
        .iter()
        .map(|a| renderer.render(a, std::slice::from_ref(&signer)))
        .collect::<Result<Vec<Rendered>>>()?;

    // Everything that can fail on input fails here, before any output.
    let composed = if format.is_email() {
        let (emailable, others): (Vec<&Rendered>, Vec<&Rendered>) =
            letters.iter().partition(|l| l.recipient.email.is_some());
        for l in &others {
            writeln!(stderr, "note: {}", not_emailable(l))?;
        }
        if emailable.is_empty() {
            bail!(
                "none of the chosen recipients has an email address; use --format text to print the letters"
            );
        }
        if format == Format::Eml
            && !matches!(settings.output.target, Target::Dir(_))
            && emailable.len() > 1
        {
            bail!(
                "{} messages, but an eml file holds one: use --format mbox for one stream, \
                 --out-dir DIR for one .eml per letter, or --to ID for a single recipient",
                emailable.len()
            );
        }
        let sender = Sender::personal(&signer, settings.email.bcc_me)?;
        let composer = Composer::new(&campaign.info.copies_to, settings.email.clock, true);
        let composed = emailable
            .iter()
            .map(|l| Ok(((*l).clone(), composer.compose(l, &sender)?)))
            .collect::<Result<Vec<_>>>()?;
        warn_placeholders(composed.iter().map(|(_, c)| c), stderr)?;
        composed.into_iter().map(|(l, c)| (l, Some(c))).collect()
    } else {
        letters.into_iter().map(|l| (l, None)).collect::<Vec<_>>()
    };

    let planned = Sink::planned_paths(
        &settings.output,
        format,
        composed.iter().map(|(l, _)| (l, "")),
    );
    output::ensure_absent(&planned, settings.output.force)?;
    let mut sink = Sink::open(format, &settings.output, stdout)?;
    for (letter, message) in &composed {
        sink.emit(&Item {
            letter,
            composed: message.as_ref(),
            name_hint: "",
        })?;
    }
    for path in sink.finish()? {
        writeln!(stderr, "wrote {path}")?;
    }
    Ok(ExitStatus::Success)
}

/// "left out `x` (no email address; phone …)".
pub fn not_emailable(letter: &Rendered) -> String {
    let r = &letter.recipient;
    let how = match (&r.phone, r.address.is_empty()) {
        (Some(phone), _) => format!("call {phone}"),
        (None, false) => "send it by post".to_string(),
        (None, true) => "no phone or postal address either".to_string(),
    };
    format!("left out `{}` ({}): no email address; {how}", r.id, r.name)
}

/// Tells the user when To or Cc hold placeholder addresses, which must be
/// replaced before the message is mailed.
fn warn_placeholders<'c>(
    composed: impl Iterator<Item = &'c Composed>,
    stderr: &mut dyn Write,
) -> Result<()> {
    let mut found: Vec<&str> = Vec::new();
    for c in composed {
        for a in c.envelope.recipients() {
            if is_placeholder(a) && !found.contains(&a) {
                found.push(a);
            }
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

/// The named letter, or the campaign's default.
pub fn choose_letter<'a>(campaign: &'a Campaign, name: Option<&str>) -> Result<&'a Letter> {
    match name {
        Some(id) => campaign.letter(id),
        None => campaign.default_letter(),
    }
}

/// `--to` ids (checked), or the letter's own recipients; each once.
pub fn choose_recipients<'a>(
    campaign: &'a Campaign,
    letter: &Letter,
    to: &[String],
) -> Result<Vec<&'a crate::campaign::Recipient>> {
    let ids = if to.is_empty() {
        &letter.recipients
    } else {
        to
    };
    let mut out: Vec<&crate::campaign::Recipient> = Vec::new();
    for id in ids {
        let recipient = campaign.recipient(id.trim())?;
        if !out.iter().any(|r| r.id == recipient.id) {
            out.push(recipient);
        }
    }
    Ok(out)
}

/// Applies the signer's country to every recipient; says on stderr when a
/// country-dependent recipient is addressed generically.
pub fn address(
    recipients: &[&crate::campaign::Recipient],
    signer: &Signer,
    override_email: Option<&str>,
    stderr: &mut dyn Write,
) -> Result<Vec<Arc<Addressee>>> {
    let country = Some(signer.country.as_str()).filter(|c| !c.is_empty());
    let mut out = Vec::new();
    for recipient in recipients {
        match recipient.resolve(country, override_email)? {
            CountryOutcome::Found(a) => out.push(Arc::new(a)),
            CountryOutcome::NoCountry(a) => {
                writeln!(
                    stderr,
                    "note: `{}` depends on your country; without --country the letter is addressed \
                     generically. Known countries: {}",
                    recipient.id,
                    recipient.country_list()
                )?;
                out.push(Arc::new(a));
            }
        }
    }
    Ok(out)
}
