//! Choosing what a run produces: the letter, the recipients (with the
//! signer's country applied) and who signs. Shared by `write` and `send`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::campaign::{Addressee, Campaign, CountryOutcome, Letter, Recipient};
use crate::letters::{Addressing, Part, Signing};
use crate::settings::{BatchSettings, SendSettings, SignerDraft, Terminal};
use crate::signers::Account;
use crate::signers::petition::Petition;
use crate::signers::signatories::{Checked, MemberList, describe_bad_rows, describe_duplicates};
use crate::terminal::prompt;

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

/// What a run is made of: who signs, from which account, and to whom.
pub struct Run {
    pub signing: Signing,
    pub account: Option<Account>,
    pub addressing: Addressing,
}

/// Who signs (one person, or a members' list per member or as one
/// petition) and whom each letter goes to: a member's own `country` picks
/// their embassy, else the run's country (--country, the profile). For a
/// batch, the flags describe the sending account. Every bad row, and every
/// member listed twice, is reported before anything is done; bad rows stop
/// the run unless `skip_invalid`.
pub fn prepare(
    batch: &BatchSettings,
    draft: &SignerDraft,
    recipients: &[&Recipient],
    embassy_email: Option<&str>,
    terminal: Terminal,
    need_email: bool,
    stderr: &mut dyn Write,
) -> Result<Run> {
    let Some(path) = &batch.signatories else {
        let signer = prompt::signer(draft, terminal, need_email)?;
        let addressees = address(recipients, Some(&signer.country), embassy_email, stderr)?;
        return Ok(Run {
            signing: Signing::One(Arc::new(signer)),
            account: None,
            addressing: Addressing::same(addressees, 1),
        });
    };
    let mut list = MemberList::open(path, batch.encoding.as_deref(), batch.sheet.as_deref())?;
    for note in list.notes() {
        writeln!(stderr, "note: {note}")?;
    }
    let by_country = recipients.iter().any(|r| r.by_country());
    // A country's embassies, or why the campaign has none to write to.
    let embassies = |country: &str| -> std::result::Result<Vec<Arc<Addressee>>, String> {
        let mut list = Vec::new();
        for r in recipients {
            match r.resolve(Some(country), embassy_email) {
                Ok(CountryOutcome::Found(a) | CountryOutcome::NoCountry(a)) => {
                    list.push(Arc::new(a));
                }
                Err(_) => {
                    return Err(format!(
                        "no address for `{}` in country {country} (the campaign has {}); \
                         pass --embassy-email ADDRESS, or correct the row",
                        r.id,
                        r.country_list()
                    ));
                }
            }
        }
        Ok(list)
    };
    let accept = |country: &str| -> std::result::Result<(), String> {
        if by_country {
            embassies(country).map(drop)
        } else {
            Ok(())
        }
    };
    // (Whether the members have words of their own is noted by the same
    // pass: `Checked::same_words`.)
    let checked = list.check(&accept)?;
    let mut addressing = Addressing::default();
    if by_country {
        for country in checked.countries.keys().filter(|c| !c.is_empty()) {
            let to = embassies(country).map_err(|e| anyhow::anyhow!(e))?;
            addressing.add_country(country, to);
        }
    }
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
    if !checked.duplicates.is_empty() {
        let n = checked.duplicates.len();
        writeln!(
            stderr,
            "warning: {n} row{} repeat{} a member listed earlier; each member gets one letter (one signature):\n{}",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            describe_duplicates(list.path(), &checked.duplicates, 50)
        )?;
    }
    if checked.valid == 0 {
        bail!("{} has no usable rows", list.path().display());
    }
    let run_country = draft
        .country
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    // Members without a country of their own write from the run's country
    // (only they need the note that an embassy is addressed generically).
    let some_without = batch.group || !by_country || checked.countries.contains_key("");
    let mut quiet = std::io::sink();
    let notes: &mut dyn Write = if some_without { stderr } else { &mut quiet };
    addressing.set_default(address(recipients, run_country, embassy_email, notes)?);
    if !batch.group && checked.valid > 1 && checked.same_words {
        // A warning must not stop the run if stderr is closed.
        let _ = writeln!(
            stderr,
            "warning: every letter of this batch has the same words, only the names differ; \
             identical letters are often ignored or filtered as a mass mailing. Add a `message` \
             column to {} with each member's own words (members who leave it empty get --message TEXT, \
             if given)",
            list.path().display()
        );
    }
    let account = prompt::account(draft, terminal, need_email)?.map(|a| Account {
        reply_to: batch.reply_to,
        ..a
    });
    let signing = if batch.group {
        group(list, &checked, recipients, run_country, &mut addressing)?
    } else {
        for (country, n) in &checked.countries {
            addressing.count_sets(Some(country), *n);
        }
        Signing::PerMember(list)
    };
    Ok(Run {
        signing,
        account,
        addressing,
    })
}

/// The petitions of a `--group` run. Members write from their own country
/// (a `country` column), else the run's. When they all write from one
/// country, or no recipient depends on the country, everyone signs one
/// petition to every recipient. Otherwise a country-dependent recipient
/// (an embassy) gets one petition per country, signed by the members
/// writing from there, and every other recipient one signed by everyone.
fn group(
    list: MemberList,
    checked: &Checked,
    recipients: &[&Recipient],
    run_country: Option<&str>,
    addressing: &mut Addressing,
) -> Result<Signing> {
    let run_country = run_country.map(str::to_ascii_uppercase).unwrap_or_default();
    // Where members write from, and the `country` values that say so.
    let mut from: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for country in checked.countries.keys() {
        let key = if country.is_empty() {
            run_country.clone()
        } else {
            country.clone()
        };
        from.entry(key).or_default().push(country.clone());
    }
    let local: Vec<&str> = recipients
        .iter()
        .filter(|r| r.by_country())
        .map(|r| r.id.as_str())
        .collect();
    if local.is_empty() || from.len() < 2 {
        let country = from
            .keys()
            .next()
            .filter(|c| addressing.has_country(c))
            .cloned();
        addressing.count_sets(country.as_deref(), 1);
        let petition = Petition::load(&list)?;
        return Ok(Signing::Group(vec![Part { petition, country }]));
    }
    let mut split = Addressing::default();
    let mut parts = Vec::new();
    let everyone = Petition::load(&list)?;
    let everywhere: Vec<Arc<Addressee>> = addressing
        .list(None)
        .iter()
        .filter(|a| !local.contains(&a.id.as_str()))
        .cloned()
        .collect();
    if !everywhere.is_empty() {
        split.add_country(EVERYONE, everywhere);
        split.count_sets(Some(EVERYONE), 1);
        parts.push(Part {
            petition: everyone.clone(),
            country: Some(EVERYONE.to_string()),
        });
    }
    for (country, values) in from {
        let key = if country.is_empty() {
            NO_COUNTRY.to_string()
        } else {
            country.clone()
        };
        let own = Some(country.as_str()).filter(|c| addressing.has_country(c));
        let to: Vec<Arc<Addressee>> = addressing
            .list(own)
            .iter()
            .filter(|a| local.contains(&a.id.as_str()))
            .cloned()
            .collect();
        split.add_country(&key, to);
        split.count_sets(Some(&key), 1);
        parts.push(Part {
            petition: everyone.only(&values, &list)?,
            country: Some(key),
        });
    }
    *addressing = split;
    Ok(Signing::Group(parts))
}

/// The addressing keys of a split petition (see `group`): everyone, to
/// the recipients that do not depend on the country; members writing from
/// no country (none of their own, and no --country), to the embassy
/// addressed generically. Neither is a country code.
const EVERYONE: &str = "*";
const NO_COUNTRY: &str = "-";

/// Warns when `--to` picks a recipient the letter was not written for.
pub fn warn_unlisted(
    letter: &Letter,
    recipients: &[&Recipient],
    stderr: &mut dyn Write,
) -> Result<()> {
    for r in recipients
        .iter()
        .filter(|r| !letter.recipients.contains(&r.id))
    {
        let _ = writeln!(
            stderr,
            "warning: the letter `{}` was not written for `{}` (it is addressed to {}); \
             read it through before you use it",
            letter.id,
            r.id,
            letter.recipients.join(", ")
        );
    }
    Ok(())
}

/// Says which letters are not in the letter's default language, and why,
/// so nobody signs a Russian letter without knowing it.
pub fn note_languages(
    letter: &Letter,
    lang: Option<&str>,
    addressees: &[Arc<Addressee>],
    stderr: &mut dyn Write,
) -> Result<()> {
    use crate::campaign::language::{Reason, choose, name};
    for a in addressees {
        let choice = choose(letter, lang, a);
        let note = match choice.reason {
            Reason::Recipient if choice.language != letter.language => format!(
                "note: the letter to `{}` is in {}, the recipient's language; --lang {} writes it in {}",
                a.id,
                name(choice.language),
                letter.language,
                name(&letter.language)
            ),
            Reason::Missing(own) => format!(
                "note: `{}` reads {}, but the letter `{}` has no {own} version; writing it in {}",
                a.id,
                name(&own),
                letter.id,
                name(choice.language)
            ),
            _ => continue,
        };
        let _ = writeln!(stderr, "{note}");
    }
    Ok(())
}

/// What `send` checks before it counts, previews or connects: the
/// language asked for exists, and the campaign and letter are not past
/// their dates (a dry run only warns).
pub fn ready_to_send(
    campaign: &Campaign,
    settings: &SendSettings,
    today: jiff::civil::Date,
    stderr: &mut dyn Write,
) -> Result<()> {
    let letter = choose_letter(campaign, settings.letter.as_deref())?;
    crate::campaign::language::ensure_available(letter, settings.signer.lang.as_deref())?;
    for note in [&campaign.info.note, &letter.note] {
        if !note.is_empty() {
            let _ = writeln!(stderr, "note: {note}");
        }
    }
    if settings.dry_run {
        if let Some(p) = crate::campaign::deadline::passed(campaign, letter, today) {
            let _ = writeln!(stderr, "{}", crate::campaign::deadline::warning(&p));
        }
        return Ok(());
    }
    crate::campaign::deadline::ensure_can_send(campaign, letter, today, settings.after_deadline)
}
