//! Turns campaign texts into the validated model, collecting every problem
//! with its file, line and column instead of stopping at the first.

mod recipients;

use recipients::{convert_recipients, read_recipients};
use std::collections::BTreeMap;
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
            talking_points: front.talking_points.clone(),
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
