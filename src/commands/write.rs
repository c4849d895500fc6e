//! `write`: renders the chosen letter for the chosen recipients and puts
//! the result where the user asked.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::campaign::{Addressee, Campaign, CountryOutcome, Letter};
use crate::error::ExitStatus;
use crate::output;
use crate::prompt;
use crate::render::{Rendered, Renderer};
use crate::settings::{Terminal, WriteSettings};
use crate::signer::Signer;

pub fn run(
    campaign: &Campaign,
    settings: &WriteSettings,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    let letter = choose_letter(campaign, settings.letter.as_deref())?;
    let recipients = choose_recipients(campaign, letter, &settings.to)?;
    let signer = Arc::new(prompt::signer(&settings.signer, terminal, false)?);
    let addressees = address(&recipients, &signer, None, stderr)?;
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
    let written = output::write_text(&letters, &settings.output, stdout)?;
    for path in written {
        writeln!(stderr, "wrote {path}")?;
    }
    Ok(ExitStatus::Success)
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
