//! Shell completion that knows the campaign: `--to` offers its recipients'
//! ids and `LETTER` its letters' ids, where a static script could only
//! offer file names. It is clap_complete's dynamic completion: the shell
//! asks the binary itself at each Tab, once registered with
//! `source <(PROTEST_LETTER_COMPLETE=bash protest-letter)` (or zsh, fish).

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::campaign::{self, Sources};
use crate::cli::Cli;

/// The environment variable that asks for completions (and names the
/// shell); clap's default, `COMPLETE`, is too likely to be set already.
pub const VAR: &str = "PROTEST_LETTER_COMPLETE";

/// The command line's definition with the campaign's completers on
/// `--to` and `LETTER` of `write` and `send`.
pub fn command() -> clap::Command {
    let attach = |command: clap::Command| {
        command
            .mut_arg("to", |a| a.add(ArgValueCompleter::new(recipients)))
            .mut_arg("letter", |a| a.add(ArgValueCompleter::new(letters)))
    };
    Cli::command()
        .mut_subcommand("write", attach)
        .mut_subcommand("send", attach)
}

/// The recipients' ids that start with `current`, with their names.
fn recipients(current: &OsStr) -> Vec<CompletionCandidate> {
    of_campaign(current, |c| {
        c.recipients.iter().map(|r| [&r.id, &r.name]).collect()
    })
}

/// The letters' ids that start with `current`, with their descriptions.
fn letters(current: &OsStr) -> Vec<CompletionCandidate> {
    of_campaign(current, |c| {
        c.letters.iter().map(|l| [&l.id, &l.description]).collect()
    })
}

/// The (id, help) pairs `pick` takes from the campaign, those whose id
/// starts with `current`.
fn of_campaign(
    current: &OsStr,
    pick: impl FnOnce(&campaign::Campaign) -> Vec<[&String; 2]>,
) -> Vec<CompletionCandidate> {
    let Some(sources) = sources() else {
        return Vec::new();
    };
    let (campaign, _) = campaign::inspect(sources, today());
    let current = current.to_string_lossy();
    pick(&campaign)
        .into_iter()
        .filter(|[id, _]| id.starts_with(current.as_ref()))
        .map(|[id, help]| CompletionCandidate::new(id).help(Some(help.clone().into())))
        .collect()
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// The campaign the command being typed would use: its `--campaign`, else
/// a recipients.toml here, else the built-in one. A folder that cannot be
/// read completes nothing rather than another campaign's ids.
fn sources() -> Option<Sources> {
    let dir = campaign_flag(std::env::args_os()).or_else(|| {
        std::path::Path::new("recipients.toml")
            .is_file()
            .then(|| PathBuf::from("."))
    });
    match dir {
        Some(dir) => Sources::read_dir(&dir).ok(),
        None => Some(Sources::embedded()),
    }
}

/// The value of the last `--campaign DIR` or `--campaign=DIR` in `args`.
fn campaign_flag(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let mut found = None;
    let mut next_is_it = false;
    for arg in args {
        if next_is_it {
            found = Some(PathBuf::from(&arg));
            next_is_it = false;
        } else if arg == "--campaign" {
            next_is_it = true;
        } else if let Some(dir) = arg.to_str().and_then(|a| a.strip_prefix("--campaign=")) {
            found = Some(PathBuf::from(dir));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completers_are_on_the_right_arguments() {
        command().debug_assert();
    }

    #[test]
    fn campaign_flag_in_either_form() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>().into_iter();
        assert_eq!(
            campaign_flag(args(&[
                "pl",
                "--",
                "pl",
                "--campaign",
                "mine",
                "write",
                "--to",
                ""
            ])),
            Some(PathBuf::from("mine"))
        );
        assert_eq!(
            campaign_flag(args(&["pl", "--campaign=x/y", "send"])),
            Some(PathBuf::from("x/y"))
        );
        assert_eq!(campaign_flag(args(&["pl", "write"])), None);
    }
}
