//! protest-letter: personalised protest letters from a campaign folder,
//! printed, written to files or sent by email with every required copy.
//!
//! The whole program, as a pipeline; each room is one stage and may use
//! only the rooms listed after it (no circles):
//! - `commands`: thin `write`, `send`, `check`, `list`, `init`, `docs`;
//! - `send`: the send run (count, preview, confirm, deliver, summary), its
//!   queue, retries, rate and journal; decides, never speaks SMTP;
//! - `transport`: how one message leaves (SMTP, TLS, sendmail); reports
//!   what the server said, never decides about retries or the journal;
//! - `output`: text, eml, mbox, json to stdout, a file or a folder,
//!   atomically, all or nothing;
//! - `letters`: choosing the letter and recipients, the stream of letters
//!   (one signer, each member, or a petition), rendering, reflow, own words;
//! - `terminal`: prompts on a terminal (refusal without one), progress;
//! - `settings`: the command line, environment and profile, resolved once;
//! - `message`: a rendered letter as an RFC 5322 message;
//! - `signers`: the signer, the members' list, the petition, the account;
//! - `campaign`: loading and checking a campaign (the only user of Tera);
//! - `cli`: the clap structs and their value enums;
//! - `error`: exit statuses.
//!
//! Only `main` prints the final error and picks the exit code (`error`).

pub mod campaign;
pub mod cli;
pub mod commands;
pub mod error;
pub mod letters;
pub mod message;
pub mod output;
pub mod send;
pub mod settings;
pub mod signers;
pub mod terminal;
pub mod transport;

use std::io::Write;

use anyhow::Result;

use crate::campaign::{Campaign, Sources};
use crate::error::ExitStatus;
use crate::settings::{CampaignChoice, Command, Environment, Settings};

/// Runs one parsed command line against the given environment.
pub fn run(
    cli: cli::Cli,
    env: &Environment,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    // Commands that only write files or print text need no profile, so a
    // broken one cannot stop `init`, `completions` or `man`.
    let profile = match cli.command {
        cli::Command::Init(_) | cli::Command::Completions(_) | cli::Command::Man(_) => {
            settings::profile::Profile::default()
        }
        _ => settings::profile::load(settings::profile::path(
            env.var("PROTEST_LETTER_PROFILE"),
            env.config_dir.as_deref(),
        ))?,
    };
    let settings = Settings::resolve(cli, env, profile)?;
    // `-q`: notes, warnings and previews go nowhere; errors still reach
    // `main`, and prompts talk to the terminal directly.
    let mut silent = std::io::sink();
    let notes: &mut dyn Write = if settings.quiet {
        &mut silent
    } else {
        &mut *stderr
    };
    let sources = || read_sources(&settings.campaign);
    match &settings.command {
        Command::Init(init) => commands::init::run(init, settings.quiet, stdout),
        Command::Completions(shell) => commands::docs::completions(*shell, stdout),
        Command::Man(command) => commands::docs::man(command.as_deref(), stdout),
        // Errors are what `check` was asked for: they show even with -q.
        Command::Check { json } => commands::check::run(
            sources()?,
            settings.today,
            *json,
            settings.quiet,
            stdout,
            stderr,
        ),
        Command::List {
            json,
            providers: true,
        } => {
            commands::list::providers(*json, stdout)?;
            Ok(ExitStatus::Success)
        }
        Command::List { json, .. } => {
            let campaign = load(sources()?, settings.today)?;
            commands::list::run(&campaign, *json, stdout)?;
            Ok(ExitStatus::Success)
        }
        Command::Write(write) => {
            let campaign =
                campaign::load_for_letter(sources()?, settings.today, write.letter.as_deref())?;
            commands::write::run(
                &campaign,
                write,
                settings.today,
                settings.terminal,
                stdout,
                notes,
            )
        }
        Command::Send(send) => {
            let campaign =
                campaign::load_for_letter(sources()?, settings.today, send.letter.as_deref())?;
            letters::select::ready_to_send(&campaign, send, settings.today, notes)?;
            send::run(&campaign, send, settings.terminal, stdout, notes)
        }
    }
}

fn read_sources(choice: &CampaignChoice) -> Result<Sources> {
    match choice {
        CampaignChoice::Embedded => Ok(Sources::embedded()),
        CampaignChoice::Dir(dir) => Sources::read_dir(dir),
    }
}

fn load(sources: Sources, today: jiff::civil::Date) -> Result<Campaign> {
    Ok(campaign::load(sources, today)?)
}
