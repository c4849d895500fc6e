//! A campaign: who to write to (`recipients.toml`) and what to say
//! (`letters/`). Loading validates everything up front so that a supporter
//! never meets an organiser's typo halfway through a batch.

pub mod address;
pub mod country;
pub mod dates;
pub mod deadline;
pub mod diagnostic;
mod filters;
pub mod language;
mod model;
mod parse;
pub mod salutation;
mod source;
mod template_errors;
mod templates;
pub mod zones;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;

pub use model::{CampaignInfo, Channel, CountryContact, Letter, Recipient, Variant, Wording};
pub use parse::error_chain;
pub use source::{SourceFile, Sources};
pub use templates::{
    Failure, Origin, SIZE_LIMIT, SIZE_PER_SIGNATORY, TIME_LIMIT, Templates, is_undefined, too_big,
};

pub use crate::campaign::address::is_placeholder;
use crate::campaign::diagnostic::{Problem, Problems, unknown_hint};

/// A loaded, valid campaign.
#[derive(Debug)]
pub struct Campaign {
    pub sources: Sources,
    pub info: CampaignInfo,
    pub recipients: Vec<Recipient>,
    pub letters: Vec<Letter>,
    pub templates: Templates,
    /// Problems that do not stop anything (placeholders, deadlines).
    pub warnings: Vec<Problem>,
}

/// Parses `sources` and compiles every letter's templates; on any error
/// returns every problem found.
pub fn load(sources: Sources, today: jiff::civil::Date) -> std::result::Result<Campaign, Problems> {
    load_scoped(sources, today, None)
}

/// Like `load`, but compiles the templates of one letter only (the named
/// one, else the default): what `write` and `send` need, in half the time.
/// Other letters' front matter is still checked.
pub fn load_for_letter(
    sources: Sources,
    today: jiff::civil::Date,
    letter: Option<&str>,
) -> std::result::Result<Campaign, Problems> {
    load_scoped(sources, today, Some(letter))
}

fn load_scoped(
    sources: Sources,
    today: jiff::civil::Date,
    only: Option<Option<&str>>,
) -> std::result::Result<Campaign, Problems> {
    let (mut campaign, problems) = inspect_scoped(sources, today, only);
    if problems.iter().any(Problem::is_error) {
        return Err(Problems(problems));
    }
    campaign.warnings = problems;
    Ok(campaign)
}

/// Everything that could be built from `sources`, and every problem found,
/// errors included: `check` goes on to trial-render what did parse, so a
/// mistake in one file does not hide those in another. A campaign whose
/// `recipients.toml` did not parse has no recipients and a blank `info`.
pub fn inspect(sources: Sources, today: jiff::civil::Date) -> (Campaign, Vec<Problem>) {
    inspect_scoped(sources, today, None)
}

fn inspect_scoped(
    sources: Sources,
    today: jiff::civil::Date,
    only: Option<Option<&str>>,
) -> (Campaign, Vec<Problem>) {
    let parsed = parse::parse(&sources, only);
    let mut problems = parsed.problems;
    let info = match parsed.info {
        Some(info) => {
            problems.extend(warnings(
                &sources,
                &info,
                &parsed.recipients,
                &parsed.letters,
                today,
            ));
            info
        }
        None => CampaignInfo::default(),
    };
    let campaign = Campaign {
        sources,
        info,
        recipients: parsed.recipients,
        letters: parsed.letters,
        templates: parsed.templates,
        warnings: Vec::new(),
    };
    (campaign, problems)
}

/// Things an organiser should see but that need not stop a supporter.
fn warnings(
    sources: &Sources,
    info: &CampaignInfo,
    recipients: &[Recipient],
    letters: &[Letter],
    today: jiff::civil::Date,
) -> Vec<Problem> {
    let file = &sources.recipients;
    let mut out = Vec::new();
    let mut addresses: Vec<&str> = info.copies_to.iter().map(String::as_str).collect();
    for r in recipients {
        addresses.extend(r.email.as_deref());
        addresses.extend(r.cc.iter().map(String::as_str));
        for c in r.countries.values() {
            addresses.extend(c.email.as_deref());
            addresses.extend(c.cc.iter().map(String::as_str));
        }
    }
    // One warning for all placeholders: the first pinpointed, the rest by line.
    let placeholders: Vec<(&str, Option<usize>)> = addresses
        .into_iter()
        .filter(|a| is_placeholder(a))
        .map(|a| (a, file.text.find(&format!("\"{a}\""))))
        .collect();
    if let Some(&(first, at)) = placeholders.first() {
        let message = if placeholders.len() == 1 {
            format!("`{first}` is a placeholder: `send` refuses to mail it")
        } else {
            format!(
                "{} addresses are placeholders, such as `{first}`: `send` refuses to mail them",
                placeholders.len()
            )
        };
        let problem = Problem::warning_in(file, at.map(|i| i..i + first.len() + 2), message);
        let mut lines: Vec<usize> = placeholders
            .iter()
            .filter_map(|(_, at)| *at)
            .map(|i| file.text[..i].matches('\n').count() + 1)
            .collect();
        lines.sort_unstable();
        let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
        let help = if placeholders.len() == 1 {
            "replace it with the real address before sending".to_string()
        } else {
            format!(
                "replace them with real addresses before sending (lines {})",
                lines.join(", ")
            )
        };
        out.push(problem.with_help(help));
    }
    for r in recipients.iter().filter(|r| r.channels().is_empty()) {
        out.push(
            Problem::warning_at_value(
                file,
                "id",
                &r.id,
                format!(
                    "`{}` has no email, phone or postal address: its letter can only go on \
                     paper, and the envelope's window would show only its name and office",
                    r.id
                ),
            )
            .with_help(
                "add its postal address, a line each: postal_address = [\"line 1\", \"line 2\"]",
            ),
        );
    }
    if let Some(deadline) = &info.deadline
        && deadline.as_str() < today.to_string().as_str()
    {
        out.push(
            Problem::warning_at_key(
                file,
                "deadline",
                format!("the campaign's deadline {deadline} has passed"),
            )
            .with_help(
                "`write` warns and `send` refuses (unless --after-deadline); \
                 update or remove `deadline` in [campaign] if the campaign goes on",
            ),
        );
    }
    for letter in letters {
        let Some(until) = &letter.valid_until else {
            continue;
        };
        if until.as_str() >= today.to_string().as_str() {
            continue;
        }
        let Some(source) = sources
            .letters
            .iter()
            .find(|f| Sources::file_name(f) == format!("{}.txt", letter.id))
        else {
            continue;
        };
        out.push(
            Problem::warning_at_key(
                source,
                "valid_until",
                format!("the letter `{}` was valid until {until}", letter.id),
            )
            .with_help(
                "`write` warns and `send` refuses (unless --after-deadline); \
                 update the letter's facts and `valid_until` if it is still to be sent",
            ),
        );
    }
    out.extend(crate::campaign::salutation::spam_warnings(file, recipients));
    out.extend(language::untranslated(file, recipients, letters));
    out
}

/// A recipient with the signer's country applied: the contact details a
/// letter is actually addressed with.
#[derive(Debug, Clone, Serialize)]
pub struct Addressee {
    pub id: String,
    pub name: String,
    pub title: String,
    pub salutation: String,
    pub email: Option<String>,
    pub cc: Vec<String>,
    pub phone: Option<String>,
    /// The office's IANA time zone, for the call sheet.
    pub time_zone: Option<String>,
    pub address: Vec<String>,
    pub language: Option<String>,
    /// The country whose contact was used, for country-dependent recipients.
    pub country: Option<String>,
    /// Name, title and salutation by language (see `localised`).
    #[serde(skip)]
    pub translations: BTreeMap<String, Wording>,
}

impl Addressee {
    /// The wording for `lang`: its own, else its primary language's
    /// (`ru-KZ` finds `ru`).
    fn wording(&self, lang: &str) -> Option<&Wording> {
        self.translations.get(lang).or_else(|| {
            let primary = lang.split(['-', '_']).next().unwrap_or(lang);
            self.translations.get(primary)
        })
    }

    /// The addressee as a letter in `lang` names and greets them.
    pub fn localised(&self, lang: &str) -> Addressee {
        let mut out = self.clone();
        if let Some(w) = self.wording(lang) {
            if let Some(name) = &w.name {
                out.name = name.clone();
            }
            if let Some(title) = &w.title {
                out.title = title.clone();
            }
            if let Some(salutation) = &w.salutation {
                out.salutation = salutation.clone();
            }
        }
        out.language = Some(lang.to_string());
        out
    }

    /// The name a letter in `lang` gives them (its To header's too).
    pub fn name_in(&self, lang: &str) -> &str {
        self.wording(lang)
            .and_then(|w| w.name.as_deref())
            .unwrap_or(&self.name)
    }

    /// Every name they have, their own first, each once.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![self.name.as_str()];
        for name in self.translations.values().filter_map(|w| w.name.as_deref()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The salutation a letter in `lang` greets them with.
    pub fn salutation_in(&self, lang: &str) -> &str {
        self.wording(lang)
            .and_then(|w| w.salutation.as_deref())
            .unwrap_or(&self.salutation)
    }
}

/// A placeholder address among the ones a run would mail, and whose it is.
pub struct Placeholder<'a> {
    /// `` `supreme-court` (Alina …) ``, or `campaign copies_to`.
    pub owner: String,
    pub address: &'a str,
}

/// Every placeholder address that mail to `addressees` would go to: their
/// own addresses and copies, and the campaign's `copies_to`.
pub fn placeholders_in<'a>(
    addressees: &'a [std::sync::Arc<Addressee>],
    copies_to: &'a [String],
) -> Vec<Placeholder<'a>> {
    let mut found = Vec::new();
    for a in addressees {
        for address in a.email.iter().chain(&a.cc).filter(|x| is_placeholder(x)) {
            found.push(Placeholder {
                owner: format!("`{}` ({})", a.id, a.name),
                address,
            });
        }
    }
    if !addressees.is_empty() {
        for address in copies_to.iter().filter(|x| is_placeholder(x)) {
            found.push(Placeholder {
                owner: "campaign copies_to".to_string(),
                address,
            });
        }
    }
    found
}

/// A two-letter country code, as used by `--country` and
/// `[recipient.countries.XX]`.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic())
}

impl Campaign {
    pub fn letter(&self, id: &str) -> Result<&Letter> {
        match self.letters.iter().find(|l| l.id == id) {
            Some(letter) => Ok(letter),
            None => bail!(
                "unknown letter `{id}`; {}. Run `protest-letter list` to see them",
                unknown_hint(id, self.letters.iter().map(|l| l.id.as_str()))
            ),
        }
    }

    /// The letter to use when none is named: the campaign's default, or the
    /// only one.
    pub fn default_letter(&self) -> Result<&Letter> {
        match (&self.info.default_letter, self.letters.as_slice()) {
            (Some(id), _) => self.letter(id),
            (None, [only]) => Ok(only),
            (None, _) => bail!(
                "this campaign has several letters and no default_letter: name one ({})",
                self.letters
                    .iter()
                    .map(|l| l.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    pub fn recipient(&self, id: &str) -> Result<&Recipient> {
        match self.recipients.iter().find(|r| r.id == id) {
            Some(r) => Ok(r),
            None => bail!(
                "unknown recipient `{id}`; {}",
                unknown_hint(id, self.recipients.iter().map(|r| r.id.as_str()))
            ),
        }
    }

    /// Human label of where the campaign came from.
    pub fn origin(&self) -> String {
        match &self.sources.root {
            Some(dir) => dir.display().to_string(),
            None => "built-in".to_string(),
        }
    }
}

/// A country's wordings over the recipient's: a field the country leaves
/// out keeps the recipient's.
fn merge_wordings(
    base: &BTreeMap<String, Wording>,
    country: &BTreeMap<String, Wording>,
) -> BTreeMap<String, Wording> {
    let mut out = base.clone();
    for (lang, w) in country {
        let entry = out.entry(lang.clone()).or_default();
        if w.name.is_some() {
            entry.name.clone_from(&w.name);
        }
        if w.title.is_some() {
            entry.title.clone_from(&w.title);
        }
        if w.salutation.is_some() {
            entry.salutation.clone_from(&w.salutation);
        }
    }
    out
}

/// How the signer's country turned out for one recipient.
pub enum CountryOutcome {
    /// Addressed with these details.
    Found(Addressee),
    /// Addressed generically, no contact details: no country was given.
    NoCountry(Addressee),
}

impl Recipient {
    /// Applies the signer's country (and an optional address given on the
    /// command line for a country the campaign does not list).
    pub fn resolve(
        &self,
        country: Option<&str>,
        override_email: Option<&str>,
    ) -> Result<CountryOutcome> {
        let base = Addressee {
            id: self.id.clone(),
            name: self.name.clone(),
            title: self.title.clone(),
            salutation: self.salutation.clone(),
            email: self.email.clone(),
            cc: self.cc.clone(),
            phone: self.phone.clone(),
            time_zone: self.time_zone.clone(),
            address: self.address.clone(),
            language: self.language.clone(),
            country: None,
            translations: self.translations.clone(),
        };
        if !self.by_country() {
            return Ok(CountryOutcome::Found(base));
        }
        let Some(code) = country.map(str::to_ascii_uppercase) else {
            if let Some(email) = override_email {
                return Ok(CountryOutcome::Found(Addressee {
                    email: Some(email.into()),
                    ..base
                }));
            }
            return Ok(CountryOutcome::NoCountry(base));
        };
        match self.countries.get(&code) {
            Some(contact) => Ok(CountryOutcome::Found(Addressee {
                name: contact.name.clone().unwrap_or(base.name),
                title: contact.title.clone().unwrap_or(base.title),
                email: override_email
                    .map(str::to_string)
                    .or_else(|| contact.email.clone())
                    .or(base.email),
                cc: if contact.cc.is_empty() {
                    base.cc
                } else {
                    contact.cc.clone()
                },
                phone: contact.phone.clone().or(base.phone),
                time_zone: contact.time_zone.clone().or(base.time_zone),
                address: if contact.address.is_empty() {
                    base.address
                } else {
                    contact.address.clone()
                },
                country: Some(code),
                translations: merge_wordings(&base.translations, &contact.translations),
                ..base
            })),
            None if override_email.is_some() => Ok(CountryOutcome::Found(Addressee {
                email: override_email.map(str::to_string),
                country: Some(code),
                ..base
            })),
            None => {
                let hint = match parse::country_alias(&code) {
                    Some(right) => {
                        format!(" (did you mean `{right}`? `{code}` is not an ISO 3166 code)")
                    }
                    None => String::new(),
                };
                bail!(
                    "recipient `{}` has no address for country `{code}`{hint}; known countries: {}. \
                     Give the address yourself with --embassy-email, or pick one of those with --country",
                    self.id,
                    self.country_list()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
