//! `check`: validates a campaign the way an organiser needs it: every
//! problem at once, across all files, each pinned to its file, line and
//! column, and a trial render of every letter for every recipient to catch
//! template mistakes that only show when rendering. `--format json` gives
//! the same problems to editors and CI, one object per line.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use crate::campaign::diagnostic::{Problem, Severity};
use crate::campaign::{self, Addressee, Campaign, Sources};
use crate::error::ExitStatus;
use crate::letters::render::{Renderer, TemplateError};
use crate::letters::voice::MESSAGE_LINES;
use crate::signers::signer::Signer;

/// Problems go to standard error, the closing "ok" to standard output;
/// `quiet` keeps errors (and the count of them) but drops warnings and the
/// "ok". `--format json` is what was asked for: every problem on stdout.
pub fn run(
    sources: Sources,
    today: jiff::civil::Date,
    json: bool,
    quiet: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let root = sources.root.clone();
    let origin = sources.root.as_ref().map_or_else(
        || "built-in campaign".to_string(),
        |d| d.display().to_string(),
    );
    let (mut campaign, mut problems) = campaign::inspect(sources, today);
    // A broken partial is left out, and would make every letter look as if
    // it dropped signers: fix the templates first.
    if !campaign.templates.any_broken() {
        problems.extend(campaign.letters.iter().filter_map(|letter| {
            crate::letters::render::drops_signatories(&campaign, letter, today)
        }));
    }
    problems.extend(without_message(&campaign));
    problems.extend(campaign::zones::problems(
        &campaign.sources.recipients,
        &campaign.recipients,
    ));
    problems.extend(trial_render(&mut campaign, today));
    problems.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.column).cmp(&(b.severity, &b.file, b.line, b.column))
    });
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    if json {
        for p in &problems {
            serde_json::to_writer(&mut *out, &JsonProblem::new(p, root.as_deref()))?;
            writeln!(out)?;
        }
    } else {
        for p in problems.iter().filter(|p| p.is_error() || !quiet) {
            writeln!(err, "{p}\n")?;
        }
        let letters = count(campaign.letters.len(), "letter");
        let recipients = count(campaign.recipients.len(), "recipient");
        if errors == 0 {
            if !quiet {
                writeln!(
                    out,
                    "ok: {origin}: {letters}, {recipients}, {}",
                    count(warnings, "warning")
                )?;
            }
        } else {
            writeln!(
                err,
                "{origin}: {}, {}",
                count(errors, "error"),
                count(warnings, "warning")
            )?;
        }
    }
    Ok(if errors == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::BadInput
    })
}

/// One problem as `check --format json` prints it. `line` and `column` are
/// 1-based (columns in characters), `null` for a problem with a whole file.
#[derive(serde::Serialize)]
struct JsonProblem<'a> {
    severity: Severity,
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
    help: Option<&'a str>,
}

/// "1 letter", "4 letters".
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl<'a> JsonProblem<'a> {
    /// `p` with its file named from the campaign folder `root`
    /// (`letters/one.txt`), as editors and CI run in that folder.
    fn new(p: &'a Problem, root: Option<&Path>) -> Self {
        let known = |n: usize| (n > 0).then_some(n);
        let file = root
            .and_then(|root| Path::new(&p.file).strip_prefix(root).ok())
            .and_then(Path::to_str)
            .unwrap_or(&p.file);
        JsonProblem {
            severity: p.severity,
            file,
            line: known(p.line),
            column: known(p.column),
            message: &p.message,
            help: p.help.as_deref(),
        }
    }
}

/// Renders each letter for each of its recipients (in every country) with a
/// sample signer: undefined variables and filter mistakes only show here.
/// Each problem is reported once, however many recipients meet it. Tera
/// stops at the first undefined name: that name is stubbed out and the
/// letter rendered again, so every one is reported in one run.
fn trial_render(campaign: &mut Campaign, today: jiff::civil::Date) -> Vec<Problem> {
    /// Undefined names stepped over in one letter at most.
    const MAX_STUBS: usize = 200;
    let sample = Arc::new(Signer {
        name: "Sample Signer".into(),
        organisation: "Sample Branch".into(),
        email: "sample@example.org".into(),
        address: "1 Sample Street".into(),
        country: String::new(),
        language: String::new(),
        extra: Default::default(),
    });
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    // Lines with a stub: another kind of error there may be the stub's.
    let mut stubbed: Vec<(String, usize)> = Vec::new();
    for index in 0..campaign.letters.len() {
        let letter = &campaign.letters[index];
        let addressees = addressees(campaign, &letter.recipients);
        let languages: Vec<String> = letter.languages().into_iter().map(str::to_string).collect();
        'languages: for lang in &languages {
            for addressee in &addressees {
                for _ in 0..MAX_STUBS {
                    let letter = &campaign.letters[index];
                    let renderer = Renderer::new(campaign, letter, today, Some(lang));
                    let Err(err) = renderer.render(addressee, std::slice::from_ref(&sample)) else {
                        break;
                    };
                    let (problem, limit) = match err.downcast_ref::<TemplateError>() {
                        Some(t) => (t.problem.clone(), t.limit),
                        None => (
                            Problem::in_file(
                                Severity::Error,
                                &format!("letters/{}", letter.id),
                                format!("{err:#}"),
                            ),
                            false,
                        ),
                    };
                    let undefined = campaign::is_undefined(&problem);
                    let after_stub =
                        !undefined && stubbed.contains(&(problem.file.clone(), problem.line));
                    let key = (
                        problem.file.clone(),
                        problem.line,
                        problem.column,
                        problem.message.clone(),
                    );
                    if !after_stub && seen.insert(key) {
                        problems.push(problem.clone());
                    }
                    // A letter too large or too slow is not rendered again.
                    if limit {
                        break 'languages;
                    }
                    if !undefined
                        || !campaign
                            .templates
                            .stub_undefined(&campaign.sources, &problem)
                    {
                        break;
                    }
                    stubbed.push((problem.file, problem.line));
                }
            }
        }
    }
    problems
}

/// Letters that never print `message`: `write` and `send` refuse a
/// signer's own words for them, so the organiser hears of it first.
fn without_message(campaign: &Campaign) -> Vec<Problem> {
    let templates = &campaign.templates;
    let mut out = Vec::new();
    for letter in &campaign.letters {
        for v in letter.variants.values() {
            // A broken template is reported for that, and compiled empty.
            let compiled = templates.source(&v.body).is_some_and(|t| !t.is_empty());
            if !compiled
                || templates.mentions(&v.body, "message")
                || templates.mentions(&v.subject, "message")
            {
                continue;
            }
            let file = templates
                .origins()
                .get(&v.body)
                .and_then(|o| campaign.sources.letters.get(o.file))
                .map_or(v.body.as_str(), |f| f.name.as_str());
            let lines: Vec<String> = MESSAGE_LINES
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("      {l}")
                    }
                })
                .collect();
            let lines = lines.join("\n");
            out.push(
                Problem::in_file(
                    Severity::Warning,
                    file,
                    format!(
                        "letter `{}` never prints `message`: `write` and `send` refuse a signer's \
                         own words (--message, a list's `message` column) for it",
                        letter.id
                    ),
                )
                .with_help(format!(
                    "add these lines where the words belong (after the opening paragraph):\n{lines}"
                )),
            );
        }
    }
    out
}

/// The addressees a letter is rendered for: each recipient in each of its
/// countries; a stand-in when none is known (recipients.toml did not parse,
/// or names no one the letter lists), so the letter is still tried.
fn addressees(campaign: &Campaign, ids: &[String]) -> Vec<Arc<Addressee>> {
    let mut out = Vec::new();
    for id in ids {
        let Ok(recipient) = campaign.recipient(id) else {
            continue;
        };
        let countries: Vec<Option<&str>> = if recipient.by_country() {
            recipient
                .countries
                .keys()
                .map(|c| Some(c.as_str()))
                .collect()
        } else {
            vec![None]
        };
        for country in countries {
            if let Ok(campaign::CountryOutcome::Found(addressee)) = recipient.resolve(country, None)
            {
                out.push(Arc::new(addressee));
            }
        }
    }
    if out.is_empty() {
        out.push(Arc::new(crate::letters::render::sample_addressee()));
    }
    out
}
