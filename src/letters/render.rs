//! Renders one letter for one addressee and its signatories. Pure: no file
//! system, no clock, no environment; the date comes in as a value so that the
//! same inputs always give the same letter.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, anyhow};

use serde::Serialize;

use crate::campaign::diagnostic::{Problem, Severity, char_name, find_forbidden_char};
use crate::campaign::{Addressee, Campaign, Failure, Letter, SIZE_LIMIT, SIZE_PER_SIGNATORY};
use crate::message::Rendered;
use crate::signers::petition::Petition;
use crate::signers::signer::Signer;

/// A letter that did not render: a mistake in a template (pinned to its
/// file, line and column) or a letter past the size or time limit.
#[derive(Debug, thiserror::Error)]
#[error("{}", problem.unlabelled())]
pub struct TemplateError {
    pub problem: Problem,
    /// The letter went past the size or time limit.
    pub limit: bool,
}

/// The problem with `letter` as a `--group` petition if it would drop
/// signers: a trial petition of two must name both (a letter that only
/// counts `signatories`, or never mentions them, carries one name).
pub fn drops_signatories(
    campaign: &Campaign,
    letter: &Letter,
    date: jiff::civil::Date,
) -> Option<Problem> {
    let signer = |name: &str| {
        Arc::new(Signer {
            name: name.into(),
            ..Signer::default()
        })
    };
    let second = "Second Petition Signer";
    let signers = [signer("First Petition Signer"), signer(second)];
    let addressee = Arc::new(sample_addressee());
    for lang in letter.languages().into_iter().map(Some) {
        let renderer = Renderer::new(campaign, letter, date, lang);
        // A letter that does not render at all is reported for that.
        let Ok(rendered) = renderer.render(&addressee, &signers) else {
            continue;
        };
        if rendered.body.contains(second) {
            continue;
        }
        let body = &letter.variant(&[lang]).body;
        let file = campaign
            .templates
            .origins()
            .get(body)
            .and_then(|o| campaign.sources.letters.get(o.file))
            .map_or(body.as_str(), |f| f.name.as_str());
        return Some(
            Problem::in_file(
                Severity::Error,
                file,
                format!(
                    "letter `{}` does not list `signatories`: as a --group petition it would \
                     carry only the first signer's name and drop everyone else",
                    letter.id
                ),
            )
            .with_help(
                "list the signers, e.g. {% for s in signatories %}{{ s.name }}{% endfor %}, \
                 or {% include \"_signature.txt\" %} as the built-in letters do",
            ),
        );
    }
    None
}

/// A recipient to try letters on when the campaign names none.
pub fn sample_addressee() -> Addressee {
    Addressee {
        id: "sample-recipient".into(),
        name: "Sample Recipient".into(),
        title: "Sample Title".into(),
        salutation: "Dear Sir or Madam".into(),
        email: Some("recipient@example.org".into()),
        cc: Vec::new(),
        phone: None,
        time_zone: None,
        address: vec!["1 Sample Road".into()],
        language: None,
        country: None,
        translations: Default::default(),
    }
}

/// A reusable rendering context (see `Renderer::render_with`).
pub struct Scratch {
    context: tera::Context,
    recipient: Option<Arc<Addressee>>,
    /// The signatories last inserted (address and length): a petition to
    /// several recipients is turned into template values once, not once
    /// per recipient (a million signatures are hundreds of megabytes).
    signatories: Option<(usize, usize, usize)>,
    /// The language the recipient was put in for.
    language: String,
}

/// Renders letters of one campaign letter on one date; holds what is shared
/// by every letter of a run so it is built once.
pub struct Renderer<'a> {
    campaign: &'a Campaign,
    letter: &'a Letter,
    base: tera::Context,
    lang: Option<String>,
    date: jiff::civil::Date,
    /// The date as each of the letter's languages writes it.
    dates: BTreeMap<String, String>,
    /// The signer's own words (`--message`), for letters whose signer has
    /// none of their own (a members' list's `message` column).
    message: String,
    /// Letters the signer edited (`--edit`), by recipient id: used as saved.
    edits: BTreeMap<String, String>,
    /// Paragraphs filled for earlier letters of the run.
    reflow: super::reflow::Reflow,
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
        let dates = letter
            .languages()
            .into_iter()
            .map(|l| (l.to_string(), crate::campaign::dates::format_date(date, l)))
            .collect();
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
            date,
            dates,
            message: String::new(),
            edits: BTreeMap::new(),
            reflow: Default::default(),
        }
    }

    /// Why this letter cannot be a `--group` petition, if it cannot.
    pub fn petition_problem(&self) -> Option<Problem> {
        drops_signatories(self.campaign, self.letter, self.date)
    }

    /// Adds the signer's own words to every letter that has none.
    pub fn with_message(mut self, message: &str) -> Self {
        self.message = message.trim().to_string();
        self
    }

    /// The id and file of a version of this letter that never uses `message`,
    /// among the ones `recipients` get (`every`: all versions, for members
    /// who may each have their own language): own words would vanish
    /// from it.
    pub fn drops_message(
        &self,
        recipients: &[Arc<Addressee>],
        every: bool,
    ) -> Option<(&str, &str)> {
        let templates = &self.campaign.templates;
        let holds = |v: &crate::campaign::Variant| {
            templates.mentions(&v.body, "message") || templates.mentions(&v.subject, "message")
        };
        let chosen = recipients
            .iter()
            .map(|r| self.letter.variant(&[Some(self.language_for(r))]));
        let mut variants: Vec<&crate::campaign::Variant> = chosen.collect();
        if every {
            variants.extend(self.letter.variants.values());
        }
        variants
            .into_iter()
            .find(|v| !holds(v))
            .map(|v| (self.letter.id.as_str(), self.file_of(&v.body)))
    }

    /// Uses `body` as the letter to `recipient_id`, as the signer saved it.
    pub fn set_edited(&mut self, recipient_id: &str, body: String) {
        self.edits.insert(recipient_id.to_string(), body);
    }

    /// The language the letter to `recipient` is written in.
    pub fn language_for(&self, recipient: &Addressee) -> &'a str {
        crate::campaign::language::choose(self.letter, self.lang.as_deref(), recipient).language
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
            signatories: None,
            language: String::new(),
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
        // A member's own language (a list's `language` column) comes first,
        // if the letter has it; a petition is in the run's language.
        let own = Some(first.language.as_str())
            .filter(|l| signatories.len() == 1 && !l.is_empty())
            .and_then(|l| self.letter.variant_in(l));
        let language = own.map_or_else(|| self.language_for(recipient), |v| v.language.as_str());
        self.address(scratch, recipient, language);
        // Only a petition is kept: one signer's values are cheap to make,
        // and a freed one-signer list may come back at the same address.
        let these = (signatories.len() > 1).then(|| {
            let last = signatories.last().map_or(0, |s| Arc::as_ptr(s) as usize);
            (signatories.as_ptr() as usize, signatories.len(), last)
        });
        let context = &mut scratch.context;
        if these.is_none() || scratch.signatories != these {
            context.insert("signer", first.as_ref());
            context.insert("signatories", signatories);
            scratch.signatories = these;
        }
        let words = match signatories {
            [one] => one.message(),
            _ => "",
        };
        context.insert(
            "message",
            if words.is_empty() {
                self.message.as_str()
            } else {
                words
            },
        );
        let limit = SIZE_LIMIT + SIZE_PER_SIGNATORY * signatories.len();
        let variant = self.letter.variant(&[Some(language)]);
        let subject = self.render_template(&variant.subject, context, limit, recipient)?;
        let body = match self.edits.get(&recipient.id) {
            Some(_) => None,
            None => Some(self.render_template(&variant.body, context, limit, recipient)?),
        };
        self.finish(recipient, language, first, subject, body)
    }

    /// Renders the petition to `recipient`, signed by every member.
    pub fn render_petition(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        petition: &Petition,
    ) -> Result<Rendered> {
        self.render_with(scratch, recipient, petition.members())
    }

    /// Puts `recipient`, in `language`, into the context (once per
    /// recipient and language).
    fn address(&self, scratch: &mut Scratch, recipient: &Arc<Addressee>, language: &str) {
        if scratch.language != language
            || scratch
                .recipient
                .as_ref()
                .is_none_or(|r| !Arc::ptr_eq(r, recipient))
        {
            let context = &mut scratch.context;
            context.insert("recipient", &recipient.localised(language));
            if let Some(date) = self.dates.get(language) {
                context.insert("date", date);
            }
            context.insert("lang", language);
            scratch.recipient = Some(Arc::clone(recipient));
            language.clone_into(&mut scratch.language);
        }
    }

    /// The letter from its rendered subject and body (`None`: the signer's
    /// own edited body): tidied, reflowed and checked.
    fn finish(
        &self,
        recipient: &Arc<Addressee>,
        language: &str,
        first: &Arc<Signer>,
        subject: String,
        body: Option<String>,
    ) -> Result<Rendered> {
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let body = match (body, self.edits.get(&recipient.id)) {
            (Some(text), _) => {
                // A petition's letter can be tens of megabytes: one copy at
                // a time.
                let tidied = tidy(&text);
                drop(text);
                self.reflow.paragraphs(&tidied)
            }
            (None, Some(edited)) => edited.clone(),
            (None, None) => String::new(),
        };
        let variant = self.letter.variant(&[Some(language)]);
        self.refuse_control_characters(&variant.body, recipient, [&body, &subject])?;
        Ok(Rendered {
            letter_id: self.letter.id.clone(),
            recipient: Arc::clone(recipient),
            language: language.to_string(),
            signer: Arc::clone(first),
            subject,
            body,
        })
    }

    /// A letter is printed to terminals and mailed as it is: terminal
    /// escapes and other control characters, whether from the campaign, a
    /// template's string or a signer's details, stop it.
    fn refuse_control_characters(
        &self,
        body_template: &str,
        recipient: &Addressee,
        texts: [&str; 2],
    ) -> Result<()> {
        let Some(c) = texts.iter().find_map(|t| find_forbidden_char(t)) else {
            return Ok(());
        };
        let problem = Problem::in_file(
            Severity::Error,
            self.file_of(body_template),
            format!(
                "letter `{}` to `{}` would contain the control character {}",
                self.letter.id,
                recipient.id,
                char_name(c)
            ),
        )
        .with_help("remove it from the campaign texts or from the signer's details");
        Err(TemplateError {
            problem,
            limit: false,
        }
        .into())
    }

    /// The campaign file a template comes from, for messages.
    fn file_of<'s>(&'s self, template: &'s str) -> &'s str {
        self.campaign
            .templates
            .origins()
            .get(template)
            .and_then(|o| self.campaign.sources.letters.get(o.file))
            .map_or(template, |f| f.name.as_str())
    }

    fn render_template(
        &self,
        name: &str,
        context: &tera::Context,
        limit: usize,
        recipient: &Addressee,
    ) -> Result<String> {
        let templates = &self.campaign.templates;
        match templates.render(&self.campaign.sources, name, context, limit) {
            Ok(text) => Ok(text),
            Err(Failure::Template(problem)) => Err(TemplateError {
                problem: *problem,
                limit: false,
            }
            .into()),
            Err(Failure::Limit(reason)) => Err(self.limit_error(name, recipient, &reason)),
        }
    }

    /// Letter `name` to `recipient` went past the size or time limit.
    fn limit_error(&self, name: &str, recipient: &Addressee, reason: &str) -> anyhow::Error {
        let problem = Problem::in_file(
            Severity::Error,
            self.file_of(name),
            format!(
                "letter `{}` to `{}` stopped: {reason}",
                self.letter.id, recipient.id
            ),
        )
        .with_help("look for a loop that never ends or repeats too often");
        TemplateError {
            problem,
            limit: true,
        }
        .into()
    }
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
    fn a_letter_with_a_control_character_is_refused_whatever_its_source() {
        // Every campaign text and signer field is checked before this; the
        // renderer is the last guard (a signer built without the checks).
        let campaign = crate::campaign::load(
            crate::campaign::Sources::embedded(),
            "2026-11-22".parse().unwrap(),
        )
        .unwrap();
        let letter = campaign.default_letter().unwrap();
        let renderer = Renderer::new(&campaign, letter, "2026-11-22".parse().unwrap(), None);
        let signer = Arc::new(Signer {
            name: "Jo \u{1b}[2J".into(),
            ..Signer::default()
        });
        let recipient = Arc::new(sample_addressee());
        let err = renderer.render(&recipient, &[signer]).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(&format!(
                "letter `{}` to `sample-recipient` would contain the control character U+001B (escape)",
                letter.id
            )),
            "{shown}"
        );
    }

    #[test]
    fn tidy_collapses_blank_runs() {
        assert_eq!(tidy("\n\nDear X,  \n\n\n\nText\n\n"), "Dear X,\n\nText\n");
    }
}
