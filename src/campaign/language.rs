//! Which language each letter is written in.
//!
//! `--lang` is a promise to the signer: a letter that lacks the language is
//! an error naming the ones it has, never a quiet English letter. Without
//! `--lang`, each recipient's `language` decides, so one run (or batch) may
//! write Russian to one office and English to another.

use anyhow::{Result, bail};

use std::collections::BTreeMap;

use crate::campaign::diagnostic::Problem;
use crate::campaign::{Addressee, Letter, Recipient, SourceFile};

/// A BCP 47 language tag as people type them: "en", "ru", "ru-KZ",
/// "zh-Hant-TW". Two or three letters, then subtags of 1–8 letters or digits.
pub fn is_tag(text: &str) -> bool {
    let mut parts = text.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Checks a `--lang` value before anything else is done; `from` is where
/// it was given (`--lang`, `PROTEST_LETTER_LANG`, the profile's file and
/// key), which the error names.
pub fn ensure_tag(text: &str, from: &str) -> Result<String> {
    let text = text.trim();
    if !is_tag(text) {
        bail!(
            "{from} `{text}` is not a language tag; give a code such as en or ru \
             (--lang, PROTEST_LETTER_LANG and the profile's `lang` take the same)"
        );
    }
    Ok(text.to_string())
}

/// Refuses a `--lang` the letter was not written in, listing the ones it was.
pub fn ensure_available(letter: &Letter, lang: Option<&str>) -> Result<()> {
    if let Some(lang) = lang
        && letter.variant_in(lang).is_none()
    {
        bail!(
            "the letter `{}` has no `{lang}` version; it is written in: {}. \
             Pick one of those with --lang, or leave --lang out for each recipient's own language",
            letter.id,
            letter.languages().join(", ")
        );
    }
    Ok(())
}

/// The language of the letter to `recipient`: `--lang`, else the
/// recipient's own language if the letter has it, else the letter's default.
/// The second value says why, when it is not the signer's choice.
pub fn choose<'a>(letter: &'a Letter, lang: Option<&str>, recipient: &Addressee) -> Choice<'a> {
    if let Some(v) = lang.and_then(|l| letter.variant_in(l)) {
        return Choice {
            language: &v.language,
            reason: Reason::Asked,
        };
    }
    match recipient.language.as_deref() {
        Some(own) => match letter.variant_in(own) {
            Some(v) => Choice {
                language: &v.language,
                reason: Reason::Recipient,
            },
            None => Choice {
                language: &letter.default_variant().language,
                reason: Reason::Missing(own.to_string()),
            },
        },
        None => Choice {
            language: &letter.default_variant().language,
            reason: Reason::Default,
        },
    }
}

/// The outcome of [`choose`].
pub struct Choice<'a> {
    pub language: &'a str,
    pub reason: Reason,
}

pub enum Reason {
    /// `--lang`.
    Asked,
    /// The recipient's `language`.
    Recipient,
    /// The recipient's language, which the letter lacks.
    Missing(String),
    /// Neither was given.
    Default,
}

/// "Russian" for the notes people read; the code otherwise.
pub fn name(lang: &str) -> &str {
    match lang.split(['-', '_']).next().unwrap_or(lang) {
        "en" => "English",
        "ru" => "Russian",
        "kk" => "Kazakh",
        "de" => "German",
        "fr" => "French",
        _ => lang,
    }
}

/// Letters written in a language their recipients have no names in: a
/// Russian letter to a recipient without `[recipient.translations.ru]`
/// would greet them "Dear Minister". One warning per recipient and
/// language, at the recipient's `id`, naming the missing keys.
pub fn untranslated(
    file: &SourceFile,
    recipients: &[Recipient],
    letters: &[Letter],
) -> Vec<Problem> {
    // (recipient, language) → the letters' files in that language.
    let mut wanted: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for letter in letters {
        let own = letter.default_variant().language.as_str();
        for variant in letter.variants.values() {
            if variant.language.eq_ignore_ascii_case(own) {
                continue;
            }
            for id in &letter.recipients {
                let files = wanted.entry((id, &variant.language)).or_default();
                files.push(format!("letters/{}", variant.body));
            }
        }
    }
    let mut out = Vec::new();
    for ((id, lang), files) in wanted {
        let Some(r) = recipients.iter().find(|r| r.id == id) else {
            continue;
        };
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        let wording = r
            .translations
            .get(lang)
            .or_else(|| r.translations.get(primary));
        let mut missing = Vec::new();
        if wording.is_none_or(|w| w.name.is_none()) {
            missing.push("name");
        }
        if !r.title.is_empty() && wording.is_none_or(|w| w.title.is_none()) {
            missing.push("title");
        }
        if wording.is_none_or(|w| w.salutation.is_none()) {
            missing.push("salutation");
        }
        if missing.is_empty() {
            continue;
        }
        let values: Vec<String> = missing
            .iter()
            .map(|k| match *k {
                "name" => format!("\"{}\"", r.name),
                "title" => format!("\"{}\"", r.title),
                _ => format!("\"{}\"", r.salutation),
            })
            .collect();
        let message = format!(
            "recipient `{id}` has no {} in `{lang}`: {} would use the ones above ({})",
            missing.join(", "),
            files.join(", "),
            values.join(", ")
        );
        let help = format!(
            "add [recipient.translations.{lang}] to this recipient, with {} in {}",
            missing
                .iter()
                .map(|k| format!("{k} = \"…\""))
                .collect::<Vec<_>>()
                .join(", "),
            name(lang)
        );
        // The recipient's `id = "…"` line, not a letter list that names it.
        let problem = Problem::warning_at_value(file, "id", id, message);
        out.push(problem.with_help(help));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_language_tags_only() {
        for ok in ["en", "ru", "ru-KZ", "zh-Hant-TW", "kk", "en_GB"] {
            assert!(is_tag(ok), "{ok}");
        }
        for bad in ["", "e", "english", "ru-", "1a", "en GB", "../x", "ру"] {
            assert!(!is_tag(bad), "{bad}");
        }
        assert!(ensure_tag("English", "--lang").is_err());
    }
}
