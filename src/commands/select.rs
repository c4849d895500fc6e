//! Choosing what a run produces: the letter, the recipients (with the
//! signer's country applied) and who signs. Shared by `write` and `send`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::campaign::{Addressee, Campaign, CountryOutcome, Letter, Recipient};
use crate::letters::{Account, Signing};
use crate::prompt;
use crate::settings::{BatchSettings, SignerDraft, Terminal};
use crate::signatories::{MemberList, describe_bad_rows};

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
) -> Result<Vec<&'a Recipient>> {
    let ids = if to.is_empty() {
        &letter.recipients
    } else {
        to
    };
    let mut out: Vec<&Recipient> = Vec::new();
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
    recipients: &[&Recipient],
    country: Option<&str>,
    override_email: Option<&str>,
    stderr: &mut dyn Write,
) -> Result<Vec<Arc<Addressee>>> {
    let country = country.filter(|c| !c.is_empty());
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

/// Who signs: one person, or a members' list (per member, or as one
/// petition). For a batch, the flags describe the sending account. Every
/// bad row is reported before anything is done, unless `skip_invalid`.
pub fn signing(
    batch: &BatchSettings,
    draft: &SignerDraft,
    terminal: Terminal,
    need_email: bool,
    stderr: &mut dyn Write,
) -> Result<(Signing, Option<Account>, u64)> {
    let Some(path) = &batch.signatories else {
        let signer = prompt::signer(draft, terminal, need_email)?;
        return Ok((Signing::One(Arc::new(signer)), None, 1));
    };
    let list = MemberList::open(path)?;
    let checked = list.check()?;
    if !checked.bad.is_empty() {
        let rows = describe_bad_rows(list.path(), &checked.bad, 50);
        if !batch.skip_invalid {
            bail!(
                "{} bad row{} in the signatories file; nothing was done:\n{rows}\nfix them, or pass --skip-invalid to leave them out",
                checked.bad.len(),
                if checked.bad.len() == 1 { "" } else { "s" }
            );
        }
        writeln!(stderr, "skipping {} bad row(s):\n{rows}", checked.bad.len())?;
    }
    if checked.valid == 0 {
        bail!("{} has no usable rows", list.path().display());
    }
    let account = prompt::account(draft, terminal, need_email)?;
    if batch.group {
        let mut all = Vec::new();
        for row in list.rows()? {
            if let (_, Ok(signer)) = row? {
                all.push(Arc::new(signer));
            }
        }
        Ok((Signing::Group(all), account, 1))
    } else {
        Ok((Signing::PerMember(list), account, checked.valid))
    }
}
