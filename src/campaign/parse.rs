//! Turns campaign texts into the validated model, collecting every problem
//! with its file, line and column instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;

use super::is_country_code;
use super::model::{CampaignInfo, CountryContact, Letter, Recipient, Variant, Wording};
use super::source::{SourceFile, Sources};
use super::templates::{Origin, Templates};
use crate::campaign::diagnostic::{
    Problem, Severity, control_characters, unknown_hint, unknown_key_guess,
};

// ---- recipients.toml as written -------------------------------------------

/// recipients.toml, read table by table (`read_recipients`).
struct RecipientsFile {
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
    #[serde(default)]
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
    #[serde(default)]
    address: Vec<String>,
    #[serde(default)]
    translations: BTreeMap<String, WordingEntry>,
}

// ---- letter front matter as written ----------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    subject: Spanned<String>,
    #[serde(default)]
    description: String,
    recipients: Vec<Spanned<String>>,
    #[serde(default)]
    talking_points: Vec<String>,
    /// The language of this file; `<id>.<lang>.txt` files default to theirs.
    language: Option<Spanned<String>>,
    /// After this date the letter is out of date (see `deadline`).
    valid_until: Option<Spanned<toml::Value>>,
    /// Shown in `list` and the send preview: e.g. that it is a record.
    #[serde(default)]
    note: String,
}

/// The result of parsing: whatever could be built, and every problem seen.
pub struct Parsed {
    pub info: Option<CampaignInfo>,
    pub recipients: Vec<Recipient>,
    pub letters: Vec<Letter>,
    pub templates: Templates,
    pub problems: Vec<Problem>,
}

/// Parses and cross-checks all files of a campaign. Templates are compiled
/// for every letter (`only` = `None`), or for one letter and the partials:
/// compiling is most of the start-up time of `write`.
pub fn parse(sources: &Sources, only: Option<Option<&str>>) -> Parsed {
    let mut problems = sources.problems.clone();
    problems.extend(control_characters(
        &sources.recipients,
        sources.recipients.text.len(),
    ));
    for file in &sources.letters {
        problems.extend(control_characters(file, front_matter_len(&file.text)));
    }
    let file = &sources.recipients;
    let (raw, broken_ids) = read_recipients(file, &mut problems);
    let (info, recipients) = match raw {
        Some(raw) => convert_recipients(raw, file, &mut problems),
        None => (None, Vec::new()),
    };

    let mut letters: BTreeMap<String, Letter> = BTreeMap::new();
    let mut sources_by_template = Vec::new();
    // The letter id of each template in `sources_by_template` ("" for partials).
    let mut template_letter: Vec<String> = Vec::new();
    let mut letter_fronts = Vec::new();
    for (index, letter_file) in sources.letters.iter().enumerate() {
        let file_name = Sources::file_name(letter_file).to_string();
        if file_name.starts_with('_') {
            sources_by_template.push((file_name, letter_file.text.clone(), Origin::whole(index)));
            template_letter.push(String::new());
            continue;
        }
        let Some((front, front_span, body_template, body_origin)) =
            split_front_matter(letter_file, index, &mut problems)
        else {
            continue;
        };
        let stem = file_name.trim_end_matches(".txt");
        let (id, lang) = match stem.split_once('.') {
            Some((id, lang)) => (id.to_string(), Some(lang.to_string())),
            None => (stem.to_string(), None),
        };
        let front: FrontMatter = match toml::from_str(front) {
            Ok(front) => front,
            Err(err) => {
                problems.push(toml_problem(letter_file, &err, front_span.start));
                // The body is still compiled, for its own mistakes.
                sources_by_template.push((file_name, body_template, body_origin));
                template_letter.push(id);
                continue;
            }
        };
        let file_lang = lang.as_deref().unwrap_or("en");
        let language = match &front.language {
            Some(l) if crate::campaign::language::is_tag(l.get_ref()) => l.get_ref().clone(),
            Some(l) => {
                problems.push(
                    Problem::at(
                        Severity::Error,
                        &letter_file.name,
                        &letter_file.text,
                        shift(l.span(), front_span.start),
                        format!("`{}` is not a language tag", l.get_ref()),
                    )
                    .with_help("write a code such as \"en\" or \"ru\""),
                );
                file_lang.to_string()
            }
            None => file_lang.to_string(),
        };
        if lang
            .as_deref()
            .is_some_and(|l| !crate::campaign::language::is_tag(l))
        {
            problems.push(
                Problem::in_file(
                    Severity::Error,
                    &letter_file.name,
                    format!(
                        "`{}` in the file name is not a language tag",
                        lang.as_deref().unwrap_or("")
                    ),
                )
                .with_help(
                    "name language versions <letter>.<lang>.txt, e.g. letters/sokolova.ru.txt",
                ),
            );
        }
        let valid_until = front.valid_until.as_ref().and_then(|value| {
            date_value(
                value,
                front_span.start,
                letter_file,
                "valid_until",
                &mut problems,
            )
        });
        if !is_id(&id) {
            problems.push(Problem::in_file(
                Severity::Error,
                &letter_file.name,
                format!("`{id}` is not a usable letter id"),
            ).with_help("name letter files with lower-case letters, digits and dashes, e.g. letters/free-sokolova.txt or letters/free-sokolova.ru.txt"));
            continue;
        }
        let subject_name = format!("{file_name}#subject");
        template_letter.push(id.clone());
        template_letter.push(id.clone());
        let subject_span = shift(front.subject.span(), front_span.start);
        let verbatim = letter_file
            .text
            .get(subject_span.clone())
            .is_some_and(|raw| {
                raw.len() >= 2
                    && (raw.starts_with('"') || raw.starts_with('\''))
                    && &raw[1..raw.len() - 1] == front.subject.get_ref()
            });
        let subject = front.subject.get_ref().clone();
        sources_by_template.push((file_name.clone(), body_template, body_origin));
        sources_by_template.push((
            subject_name.clone(),
            subject.clone(),
            Origin::subject(index, subject_span, verbatim),
        ));
        let variant = Variant {
            body: file_name.clone(),
            subject: subject_name,
            subject_text: subject.clone(),
            language: language.clone(),
        };
        letter_fronts.push((
            letter_file,
            front_span.start,
            id.clone(),
            front.recipients.clone(),
        ));
        let entry = letters.entry(id.clone()).or_insert_with(|| Letter {
            id: id.clone(),
            subject: subject.clone(),
            description: front.description.clone(),
            recipients: front
                .recipients
                .iter()
                .map(|r| r.get_ref().clone())
                .collect(),
            talking_points: front.talking_points.clone(),
            language: language.clone(),
            valid_until: valid_until.clone(),
            note: front.note.clone(),
            variants: BTreeMap::new(),
        });
        if lang.is_none() {
            entry.subject = subject;
            entry.description = front.description;
            entry.recipients = front
                .recipients
                .iter()
                .map(|r| r.get_ref().clone())
                .collect();
            entry.talking_points = front.talking_points;
            entry.language = language.clone();
            entry.valid_until = valid_until;
            entry.note = front.note;
        }
        entry.variants.insert(lang, variant);
    }

    if let Some(wanted) = only {
        let default = info.as_ref().and_then(|i| i.default_letter.as_deref());
        let only_letter = (letters.len() == 1)
            .then(|| letters.keys().next())
            .flatten();
        let keep = wanted
            .or(default)
            .or(only_letter.map(String::as_str))
            .unwrap_or("");
        let mut kept = template_letter.iter();
        sources_by_template.retain(|_| kept.next().is_some_and(|id| id.is_empty() || id == keep));
    }
    let (templates, template_problems) = Templates::compile(sources, sources_by_template);
    problems.extend(template_problems);

    // Cross-references: letters name recipients; the default letter exists.
    // (Skipped when recipients.toml did not parse: every name would look unknown.)
    let recipient_ids: Vec<&str> = recipients.iter().map(|r| r.id.as_str()).collect();
    for (file, offset, _id, names) in letter_fronts.iter().filter(|_| info.is_some()) {
        for name in names {
            // A recipient whose entry has a mistake is reported for that.
            if !recipient_ids.contains(&name.get_ref().as_str())
                && !broken_ids.contains(name.get_ref())
            {
                problems.push(
                    Problem::at(
                        Severity::Error,
                        &file.name,
                        &file.text,
                        shift(name.span(), *offset),
                        format!("unknown recipient `{}`", name.get_ref()),
                    )
                    .with_help(unknown_hint(name.get_ref(), recipient_ids.iter().copied())),
                );
            }
        }
    }
    if let Some(default) = info.as_ref().and_then(|i| i.default_letter.as_ref())
        && !letters.contains_key(default)
    {
        let span = find_span(&file.text, &format!("\"{default}\""));
        let message = format!("default_letter `{default}` has no file letters/{default}.txt");
        let help = unknown_hint(default, letters.keys().map(String::as_str));
        problems.push(
            match span {
                Some(span) => Problem::at(Severity::Error, &file.name, &file.text, span, message),
                None => Problem::in_file(Severity::Error, &file.name, message),
            }
            .with_help(help),
        );
    }
    if letters.is_empty()
        && sources
            .letters
            .iter()
            .all(|f| !Sources::file_name(f).starts_with('_'))
    {
        problems.push(Problem::in_file(
            Severity::Error,
            &file.name,
            "the campaign has no letters: add letters/<name>.txt files",
        ));
    }

    Parsed {
        info,
        recipients,
        letters: letters.into_values().collect(),
        templates,
        problems,
    }
}

/// Reads recipients.toml entry by entry, so that a mistake in one
/// `[[recipient]]` does not hide those in the next: every syntax error,
/// then every entry's own. Returns the file (`None` when it cannot be
/// used) and the ids of recipients whose entries have mistakes.
fn read_recipients(
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

fn convert_recipients(
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

/// A TOML date (`deadline = 2026-12-31`, or the same as a string), as
/// YYYY-MM-DD; anything else is reported at its place.
fn date_value(
    value: &Spanned<toml::Value>,
    offset: usize,
    file: &SourceFile,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let text = match value.get_ref() {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    match jiff::civil::Date::from_str(&text) {
        Ok(date) => Some(date.to_string()),
        Err(_) => {
            problems.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    &file.text,
                    shift(value.span(), offset),
                    format!("{key} must be a date"),
                )
                .with_help(format!("write it as {key} = 2026-12-31")),
            );
            None
        }
    }
}

/// Splits `+++` TOML front matter from the body. The body handed to Tera
/// starts with a comment spanning the front matter's lines, so Tera's line
/// numbers are the file's.
fn split_front_matter<'a>(
    file: &'a SourceFile,
    index: usize,
    problems: &mut Vec<Problem>,
) -> Option<(&'a str, Range<usize>, String, Origin)> {
    let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
    let bom = file.text.len() - text.len();
    let missing = || {
        Problem::in_file(
            Severity::Error,
            &file.name,
            "a letter must start with TOML front matter between two `+++` lines",
        )
        .with_help("begin the file with:\n+++\nsubject = \"…\"\nrecipients = [\"…\"]\n+++")
    };
    let Some(rest) = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
    else {
        problems.push(missing());
        return None;
    };
    let front_start = text.len() - rest.len();
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body_start = front_start + offset + line.len();
            let skipped_lines = text[..body_start].matches('\n').count();
            let body = &text[body_start..];
            let template = format!("{{#{}#}}{body}", "\n".repeat(skipped_lines));
            let origin = Origin::body(index, template.len() - body.len(), bom + body_start);
            return Some((
                front,
                bom + front_start..bom + front_start + offset,
                template,
                origin,
            ));
        }
        offset += line.len();
    }
    problems.push(missing());
    None
}

/// Where the front matter of a letter's text ends (0 when it has none).
fn front_matter_len(text: &str) -> usize {
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        offset += line.len();
        if n > 0 && line.trim_end() == "+++" {
            return offset;
        }
        if n == 0 && !line.trim_start_matches('\u{feff}').starts_with("+++") {
            return 0;
        }
    }
    0
}

fn toml_problem(file: &SourceFile, err: &toml::de::Error, offset: usize) -> Problem {
    let mut message = err.message().trim_end().to_string();
    let help = if let Some(guess) = unknown_key_guess(&message) {
        // The known keys are in the help.
        if let Some((head, _)) = message.split_once(", expected") {
            message = head.to_string();
        }
        Some(guess)
    } else if message.contains("unknown field") {
        Some("remove or rename the key; the README lists the keys a campaign may use".into())
    } else if message.contains("missing field") {
        Some("add the missing key".into())
    } else {
        None
    };
    let problem = match err.span() {
        Some(span) => Problem::at(
            Severity::Error,
            &file.name,
            &file.text,
            shift(span, offset),
            message,
        ),
        None => Problem::in_file(Severity::Error, &file.name, message),
    };
    match help {
        Some(help) => problem.with_help(help),
        None => problem,
    }
}

fn shift(span: Range<usize>, offset: usize) -> Range<usize> {
    span.start + offset..span.end + offset
}

fn find_span(text: &str, needle: &str) -> Option<Range<usize>> {
    text.find(needle).map(|i| i..i + needle.len())
}

/// Tera keeps the useful part of an error in `source()`: show all of it.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // Some errors (lettre's) already show their cause in their message.
        let text = cause.to_string();
        if !out.contains(text.trim()) {
            out.push_str(": ");
            out.push_str(text.trim());
        }
        source = cause.source();
    }
    out
}

/// The right ISO 3166 code for a common wrong one (`UK` is the United
/// Kingdom's domain, its code is `GB`; `EL` is the EU's for Greece).
pub fn country_alias(code: &str) -> Option<&'static str> {
    match code {
        "UK" => Some("GB"),
        "EL" => Some("GR"),
        _ => None,
    }
}

fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
