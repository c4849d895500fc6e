//! `recipients.toml`: its campaign table and recipients, read into the
//! model with every problem pinned to its line and column.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::{
    CampaignInfo, CountryContact, Problem, Recipient, Severity, SourceFile, Wording, country_alias,
    date_value, is_country_code, is_id, toml_problem,
};

/// recipients.toml, read table by table (`read_recipients`).
pub(super) struct RecipientsFile {
    campaign: CampaignTable,
    recipients: Vec<RecipientEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignTable {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    copies_to: Vec<Spanned<String>>,
    default_letter: Option<Spanned<String>>,
    deadline: Option<Spanned<toml::Value>>,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientEntry {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    title: String,
    #[serde(default = "default_salutation")]
    salutation: String,
    email: Option<Spanned<String>>,
    #[serde(default)]
    cc: Vec<Spanned<String>>,
    phone: Option<String>,
    /// Where the office is, for the call sheet: an IANA zone name.
    time_zone: Option<Spanned<String>>,
    #[serde(default, alias = "postal_address", deserialize_with = "postal_lines")]
    address: Vec<String>,
    language: Option<Spanned<String>>,
    /// Who held the office when the campaign's sources were written.
    historical_name: Option<String>,
    #[serde(default)]
    countries: BTreeMap<Spanned<String>, CountryEntry>,
    #[serde(default)]
    translations: BTreeMap<String, WordingEntry>,
}

/// How a recipient is named and greeted in one language.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordingEntry {
    name: Option<String>,
    title: Option<String>,
    salutation: Option<String>,
}

impl WordingEntry {
    fn into_wording(self) -> Wording {
        Wording {
            name: self.name,
            title: self.title,
            salutation: self.salutation,
        }
    }
}

/// A postal address (`address` or `postal_address`): a list of lines, or
/// one string whose lines are the address's, as a TOML multi-line string
/// holds it; blank lines and edge spaces are dropped.
fn postal_lines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lines {
        One(String),
        Many(Vec<String>),
    }
    let lines = match Lines::deserialize(d)? {
        Lines::One(text) => text.lines().map(str::to_string).collect(),
        Lines::Many(lines) => lines,
    };
    Ok(lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// For a recipient without a `salutation`: formal, and not the "Dear Sir
/// or Madam" that spam filters score (see `salutation`).
fn default_salutation() -> String {
    "To whom it may concern".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountryEntry {
    name: Option<String>,
    title: Option<String>,
    email: Option<Spanned<String>>,
    #[serde(default)]
    cc: Vec<Spanned<String>>,
    phone: Option<String>,
    time_zone: Option<Spanned<String>>,
    #[serde(default, alias = "postal_address", deserialize_with = "postal_lines")]
    address: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, WordingEntry>,
}

// ---- letter front matter as written ----------------------------------------

/// Reads recipients.toml entry by entry, so that a mistake in one
/// `[[recipient]]` does not hide those in the next: every syntax error,
/// then every entry's own. Returns the file (`None` when it cannot be
/// used) and the ids of recipients whose entries have mistakes.
pub(super) fn read_recipients(
    file: &SourceFile,
    problems: &mut Vec<Problem>,
) -> (Option<RecipientsFile>, Vec<String>) {
    use serde::de::Deserialize as _;
    use toml::de::{DeTable, DeValue, ValueDeserializer};
    let (table, errors) = DeTable::parse_recoverable(&file.text);
    if !errors.is_empty() {
        problems.extend(errors.iter().map(|e| toml_problem(file, e, 0)));
        return (None, Vec::new());
    }
    let mut campaign = None;
    let mut campaign_broken = false;
    let mut recipients = Vec::new();
    let mut broken = Vec::new();
    for (key, value) in table.into_inner() {
        match key.get_ref().as_ref() {
            "campaign" => match CampaignTable::deserialize(ValueDeserializer::from(value)) {
                Ok(table) => campaign = Some(table),
                Err(err) => {
                    problems.push(toml_problem(file, &err, 0));
                    campaign_broken = true;
                }
            },
            "recipient" => {
                let span = value.span();
                let DeValue::Array(entries) = value.into_inner() else {
                    problems.push(
                        Problem::at(
                            Severity::Error,
                            &file.name,
                            &file.text,
                            span,
                            "`recipient` must be a list of [[recipient]] tables",
                        )
                        .with_help("start each recipient with a [[recipient]] line"),
                    );
                    continue;
                };
                for entry in entries {
                    let id = entry
                        .get_ref()
                        .get("id")
                        .and_then(|v| v.get_ref().as_str())
                        .map(str::to_string);
                    match RecipientEntry::deserialize(ValueDeserializer::from(entry)) {
                        Ok(entry) => recipients.push(entry),
                        Err(err) => {
                            problems.push(toml_problem(file, &err, 0));
                            broken.extend(id);
                        }
                    }
                }
            }
            other => {
                let known = ["campaign", "recipient"];
                let help = match crate::campaign::diagnostic::did_you_mean(other, known) {
                    Some(guess) => {
                        format!("did you mean `{guess}`? Known tables: [campaign], [[recipient]]")
                    }
                    None => "recipients.toml holds [campaign] and [[recipient]] tables".into(),
                };
                problems.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        key.span(),
                        format!("unknown key `{other}`"),
                    )
                    .with_help(help),
                );
            }
        }
    }
    let Some(campaign) = campaign else {
        if !campaign_broken {
            problems.push(
                Problem::in_file(Severity::Error, &file.name, "missing the [campaign] table")
                    .with_help("begin the file with:\n[campaign]\nname = \"…\""),
            );
        }
        return (None, broken);
    };
    (
        Some(RecipientsFile {
            campaign,
            recipients,
        }),
        broken,
    )
}

pub(super) fn convert_recipients(
    raw: RecipientsFile,
    file: &SourceFile,
    problems: &mut Vec<Problem>,
) -> (Option<CampaignInfo>, Vec<Recipient>) {
    let mut address = |value: &Spanned<String>, what: &str| -> Option<String> {
        match crate::campaign::address::normalise(value.get_ref()) {
            Ok(address) => Some(address),
            Err(reason) => {
                problems.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        value.span(),
                        format!("invalid {what} address `{}`: {reason}", value.get_ref()),
                    )
                    .with_help("write a plain address such as name@example.org"),
                );
                None
            }
        }
    };
    let copies_to = raw
        .campaign
        .copies_to
        .iter()
        .filter_map(|a| address(a, "copies_to"))
        .collect();
    let mut recipients = Vec::new();
    let mut pending = Vec::new();
    // Only the form is checked here: looking a zone up reads the system's
    // zone list, too slow for every start-up; `check` looks each one up.
    let zone = |value: &Option<Spanned<String>>, pending: &mut Vec<Problem>| {
        let value = value.as_ref()?;
        if crate::campaign::zones::is_name(value.get_ref()) {
            return Some(value.get_ref().clone());
        }
        pending.push(
            Problem::at(
                Severity::Error,
                &file.name,
                &file.text,
                value.span(),
                format!("`{}` is not a time zone name", value.get_ref()),
            )
            .with_help(crate::campaign::zones::HELP),
        );
        None
    };
    for entry in raw.recipients {
        let email = entry.email.as_ref().and_then(|e| address(e, "email"));
        let cc = entry.cc.iter().filter_map(|a| address(a, "cc")).collect();
        let mut countries = BTreeMap::new();
        for (code, c) in entry.countries {
            let contact = CountryContact {
                name: c.name,
                title: c.title,
                email: c.email.as_ref().and_then(|e| address(e, "email")),
                cc: c.cc.iter().filter_map(|a| address(a, "cc")).collect(),
                phone: c.phone,
                time_zone: zone(&c.time_zone, &mut pending),
                address: c.address,
                translations: c
                    .translations
                    .into_iter()
                    .map(|(k, v)| (k, v.into_wording()))
                    .collect(),
            };
            if !is_country_code(code.get_ref()) {
                pending.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        code.span(),
                        format!("`{}` is not a two-letter country code", code.get_ref()),
                    )
                    .with_help("use ISO 3166 codes in upper case, e.g. [recipient.countries.GB]"),
                );
            }
            let upper = code.get_ref().to_ascii_uppercase();
            if let Some(right) = country_alias(&upper) {
                pending.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        code.span(),
                        format!("`{}` is not an ISO 3166 country code", code.get_ref()),
                    )
                    .with_help(format!(
                        "did you mean `{right}`? Write [recipient.countries.{right}]"
                    )),
                );
            }
            if countries.contains_key(&upper) {
                pending.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        code.span(),
                        format!(
                            "duplicate country `{}` in recipient `{}`: country codes ignore case",
                            code.get_ref(),
                            entry.id.get_ref()
                        ),
                    )
                    .with_help(format!(
                        "keep one [recipient.countries.{upper}] table for this recipient"
                    )),
                );
                continue;
            }
            countries.insert(upper, contact);
        }
        if let Some(lang) = entry
            .language
            .as_ref()
            .filter(|l| !crate::campaign::language::is_tag(l.get_ref()))
        {
            pending.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    &file.text,
                    lang.span(),
                    format!("`{}` is not a language tag", lang.get_ref()),
                )
                .with_help("write a code such as language = \"en\" or language = \"ru\""),
            );
        }
        recipients.push((
            entry.id.clone(),
            Recipient {
                id: entry.id.into_inner(),
                name: entry.name,
                title: entry.title,
                salutation: entry.salutation,
                email,
                cc,
                phone: entry.phone,
                time_zone: zone(&entry.time_zone, &mut pending),
                address: entry.address,
                language: entry.language.as_ref().map(|l| l.get_ref().clone()),
                historical_name: entry.historical_name,
                countries,
                translations: entry
                    .translations
                    .into_iter()
                    .map(|(k, v)| (k, v.into_wording()))
                    .collect(),
            },
        ));
    }
    problems.extend(pending);

    let mut seen = BTreeSet::new();
    for (id, _) in &recipients {
        if !is_id(id.get_ref()) {
            problems.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    &file.text,
                    id.span(),
                    format!("`{}` is not a usable recipient id", id.get_ref()),
                )
                .with_help("use lower-case letters, digits and dashes, e.g. \"supreme-court\""),
            );
        }
        if !seen.insert(id.get_ref().clone()) {
            problems.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    &file.text,
                    id.span(),
                    format!("duplicate recipient id `{}`", id.get_ref()),
                )
                .with_help("every [[recipient]] needs its own id"),
            );
        }
    }

    let deadline = raw
        .campaign
        .deadline
        .as_ref()
        .and_then(|value| date_value(value, 0, file, "deadline", problems));
    let info = CampaignInfo {
        name: raw.campaign.name,
        description: raw.campaign.description,
        copies_to,
        default_letter: raw.campaign.default_letter.map(Spanned::into_inner),
        deadline,
        note: raw.campaign.note,
    };
    (Some(info), recipients.into_iter().map(|(_, r)| r).collect())
}
