//! `check`: validates a campaign the way an organiser needs it: every
//! problem at once, each pinned to its file, line and column, and a trial
//! render of every letter for every recipient to catch template mistakes
//! that only show when rendering.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::campaign::{self, Campaign, Sources};
use crate::diagnostic::{Problem, Severity};
use crate::error::ExitStatus;
use crate::render::{Renderer, TemplateError};
use crate::signer::Signer;

pub fn run(sources: Sources, today: jiff::civil::Date, out: &mut dyn Write) -> Result<ExitStatus> {
    let origin = sources.root.as_ref().map_or_else(
        || "built-in campaign".to_string(),
        |d| d.display().to_string(),
    );
    let problems = match campaign::load(sources, today) {
        Ok(campaign) => {
            let mut problems = campaign.warnings.clone();
            problems.extend(trial_render(&campaign, today));
            problems
                .sort_by(|a, b| (a.severity, &a.file, a.line).cmp(&(b.severity, &b.file, b.line)));
            if problems.iter().all(|p| !p.is_error()) {
                for p in &problems {
                    writeln!(out, "{p}\n")?;
                }
                writeln!(
                    out,
                    "ok: {origin}: {} letters, {} recipients, {} warning{}",
                    campaign.letters.len(),
                    campaign.recipients.len(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )?;
                return Ok(ExitStatus::Success);
            }
            problems
        }
        Err(problems) => problems.0,
    };
    let mut problems = problems;
    problems.sort_by(|a, b| (a.severity, &a.file, a.line).cmp(&(b.severity, &b.file, b.line)));
    for p in &problems {
        writeln!(out, "{p}\n")?;
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    writeln!(
        out,
        "{origin}: {errors} error{}, {} warning{}",
        if errors == 1 { "" } else { "s" },
        problems.len() - errors,
        if problems.len() - errors == 1 {
            ""
        } else {
            "s"
        }
    )?;
    Ok(ExitStatus::BadInput)
}

/// Renders each letter for each of its recipients (in every country) with a
/// sample signer: undefined variables and filter mistakes only show here.
fn trial_render(campaign: &Campaign, today: jiff::civil::Date) -> Vec<Problem> {
    let sample = Arc::new(Signer {
        name: "Sample Signer".into(),
        organisation: "Sample Branch".into(),
        email: "sample@example.org".into(),
        address: "1 Sample Street".into(),
        country: String::new(),
        extra: Default::default(),
    });
    let mut problems = Vec::new();
    for letter in &campaign.letters {
        for lang in std::iter::once(None).chain(letter.languages().into_iter().map(Some)) {
            let renderer = Renderer::new(campaign, letter, today, lang);
            for id in &letter.recipients {
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
                    let Ok(campaign::CountryOutcome::Found(addressee)) =
                        recipient.resolve(country, None)
                    else {
                        continue;
                    };
                    if let Err(err) =
                        renderer.render(&Arc::new(addressee), std::slice::from_ref(&sample))
                    {
                        let problem = match err.downcast_ref::<TemplateError>() {
                            Some(t) => t.problem.clone(),
                            None => Problem::in_file(
                                Severity::Error,
                                &format!("letters/{}", letter.id),
                                format!("{err:#}"),
                            ),
                        };
                        if !problems.iter().any(|p: &Problem| {
                            p.message == problem.message && p.file == problem.file
                        }) {
                            problems.push(problem);
                        }
                    }
                }
            }
        }
    }
    problems
}
