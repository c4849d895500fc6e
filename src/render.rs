//! Renders one letter for one addressee and its signatories. Pure: no file
//! system, no clock, no environment; the date comes in as a value so that the
//! same inputs always give the same letter.

use std::sync::Arc;

use anyhow::{Result, anyhow};

use serde::Serialize;

use crate::campaign::{Addressee, Campaign, Letter, error_chain, template_file};
use crate::signer::Signer;

/// A finished letter and what it was made from.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub letter_id: String,
    pub recipient: Arc<Addressee>,
    /// The first (or only) signatory.
    pub signer: Arc<Signer>,
    pub subject: String,
    pub body: String,
}

/// A mistake in a template found while rendering, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("{place}: template error: {chain}")]
pub struct TemplateError {
    /// `file:line:column`, or the file when the line is unknown.
    pub place: String,
    /// Tera's whole cause chain.
    pub chain: String,
}

/// A reusable rendering context (see `Renderer::render_with`).
pub struct Scratch {
    context: tera::Context,
    recipient: Option<Arc<Addressee>>,
}

/// Renders letters of one campaign letter on one date; holds what is shared
/// by every letter of a run so it is built once.
pub struct Renderer<'a> {
    campaign: &'a Campaign,
    letter: &'a Letter,
    base: tera::Context,
    lang: Option<String>,
}

#[derive(Serialize)]
struct LetterInfo<'a> {
    id: &'a str,
    subject: &'a str,
    description: &'a str,
}

impl<'a> Renderer<'a> {
    pub fn new(
        campaign: &'a Campaign,
        letter: &'a Letter,
        date: jiff::civil::Date,
        lang: Option<&str>,
    ) -> Self {
        let mut base = tera::Context::new();
        base.insert("campaign", &campaign.info);
        base.insert("date", &format_date(date));
        base.insert("date_iso", &date.to_string());
        base.insert(
            "letter",
            &LetterInfo {
                id: &letter.id,
                subject: &letter.subject,
                description: &letter.description,
            },
        );
        Renderer {
            campaign,
            letter,
            base,
            lang: lang.map(str::to_string),
        }
    }

    /// Renders the letter to `recipient`, signed by `signatories` (one for a
    /// personal letter, many for a petition).
    pub fn render(
        &self,
        recipient: &Arc<Addressee>,
        signatories: &[Arc<Signer>],
    ) -> Result<Rendered> {
        self.render_with(&mut self.scratch(), recipient, signatories)
    }

    /// A context to reuse across many letters (`render_with`).
    pub fn scratch(&self) -> Scratch {
        Scratch {
            context: self.base.clone(),
            recipient: None,
        }
    }

    /// `render`, reusing `scratch`: in a batch only the signer changes from
    /// one letter to the next, so the rest of the context is built once
    /// (a third of the per-letter cost before, by callgrind).
    pub fn render_with(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signatories: &[Arc<Signer>],
    ) -> Result<Rendered> {
        let first = signatories
            .first()
            .ok_or_else(|| anyhow!("a letter needs at least one signatory"))?;
        let variant = self
            .letter
            .variant(&[self.lang.as_deref(), recipient.language.as_deref()]);
        let context = &mut scratch.context;
        if scratch
            .recipient
            .as_ref()
            .is_none_or(|r| !Arc::ptr_eq(r, recipient))
        {
            context.insert("recipient", recipient.as_ref());
            scratch.recipient = Some(Arc::clone(recipient));
        }
        context.insert("signer", first.as_ref());
        context.insert("signatories", signatories);
        let body = self.render_template(&variant.body, context)?;
        let subject = self.render_template(&variant.subject, context)?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Rendered {
            letter_id: self.letter.id.clone(),
            recipient: Arc::clone(recipient),
            signer: Arc::clone(first),
            subject,
            body: tidy(&body),
        })
    }

    fn render_template(&self, name: &str, context: &tera::Context) -> Result<String> {
        self.campaign
            .templates
            .render(name, context)
            .map_err(|err| {
                let chain = error_chain(&err);
                let place = locate(self.campaign, name, &chain)
                    .unwrap_or_else(|| template_file(&self.campaign.sources, name));
                TemplateError { place, chain }.into()
            })
    }
}

/// Tera's render errors name the variable but not the line: find the first
/// line of the template (or a partial) that mentions it.
fn locate(campaign: &Campaign, template: &str, chain: &str) -> Option<String> {
    let wanted = chain.split('`').nth(1)?;
    let file_name = template.split('#').next()?;
    // The letter's own file first; a body's partials after it.
    let with_partials = !template.ends_with("#subject");
    let own = campaign
        .sources
        .letters
        .iter()
        .filter(|f| crate::campaign::Sources::file_name(f) == file_name);
    let partials = campaign
        .sources
        .letters
        .iter()
        .filter(|f| with_partials && crate::campaign::Sources::file_name(f).starts_with('_'));
    for file in own.chain(partials) {
        for (number, line) in file.text.lines().enumerate() {
            if let Some(col) = find_word(line, wanted) {
                return Some(format!(
                    "{}:{}:{}",
                    file.name,
                    number + 1,
                    line[..col].chars().count() + 1
                ));
            }
        }
    }
    None
}

/// Where `word` stands in `line` as a whole name (`signer.nam` must not
/// match inside `signer.name`).
fn find_word(line: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    line.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// "22 November 2026": the form used on letters in English.
pub fn format_date(date: jiff::civil::Date) -> String {
    date.strftime("%-d %B %Y").to_string()
}

/// Trims trailing spaces and surplus blank lines left by template tags, and
/// ends the letter with exactly one newline.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1);
    let mut blank_run = 0;
    for line in body.trim_start_matches(['\n', '\r']).lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_for_letters() {
        let date: jiff::civil::Date = "2026-11-02".parse().unwrap();
        assert_eq!(format_date(date), "2 November 2026");
    }

    #[test]
    fn finds_whole_names_only() {
        assert_eq!(
            find_word("{{ signer.name }} {{ signer.nam }}", "signer.nam"),
            Some(21)
        );
        assert_eq!(find_word("{{ signer.name }}", "signer.nam"), None);
    }

    #[test]
    fn tidy_collapses_blank_runs() {
        assert_eq!(tidy("\n\nDear X,  \n\n\n\nText\n\n"), "Dear X,\n\nText\n");
    }
}
