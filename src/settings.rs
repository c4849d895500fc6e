//! Resolves the command line, the environment and the profile once into
//! plain settings. After this, nothing reads clap structs, environment
//! variables or the clock.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

use crate::cli::{self, Cli};
use crate::message::Clock;
use crate::output::Format;
use crate::profile::Profile;
use crate::signer::Field;

/// What the process was started with, read once at the edge (in `main`).
#[derive(Debug, Clone)]
pub struct Environment {
    /// Environment variables (only the ones we read are needed).
    pub vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// `<config dir>/protest-letter`, if the platform has one.
    pub config_dir: Option<PathBuf>,
    pub today: jiff::civil::Date,
    pub terminal: Terminal,
}

/// Which standard streams are terminals: decided once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Terminal {
    /// Prompts need a person at both ends: input and where prompts show.
    pub fn can_prompt(self) -> bool {
        self.stdin && self.stderr
    }
}

impl Environment {
    /// Reads the real process environment.
    pub fn from_process() -> Self {
        let vars = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("PROTEST_LETTER_")
                    || k == "SOURCE_DATE_EPOCH"
                    || k == "EDITOR"
                    || k == "VISUAL"
            })
            .collect();
        Environment {
            vars,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            config_dir: directories::ProjectDirs::from("", "", "protest-letter")
                .map(|d| d.config_dir().to_path_buf()),
            today: jiff::Zoned::now().date(),
            terminal: Terminal {
                stdin: std::io::stdin().is_terminal(),
                stdout: std::io::stdout().is_terminal(),
                stderr: std::io::stderr().is_terminal(),
            },
        }
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// Where the campaign comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignChoice {
    Dir(PathBuf),
    Embedded,
}

/// The resolved program: one of the commands, with everything it needs.
#[derive(Debug)]
pub struct Settings {
    pub campaign: CampaignChoice,
    pub today: jiff::civil::Date,
    pub terminal: Terminal,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    List { json: bool },
    Check,
    Write(Box<WriteSettings>),
}

#[derive(Debug)]
pub struct WriteSettings {
    pub letter: Option<String>,
    pub signer: SignerDraft,
    pub to: Vec<String>,
    pub output: OutputSettings,
    /// The date printed on letters.
    pub date: jiff::civil::Date,
    pub email: EmailSettings,
}

/// How letters become emails.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub bcc_me: bool,
    /// Checked address for a country-dependent recipient (the embassy).
    pub embassy_email: Option<String>,
    /// Date and Message-ID clock; fixed by SOURCE_DATE_EPOCH.
    pub clock: crate::message::Clock,
}

/// Signer values as found (flag, then environment, then profile); missing
/// ones may still be asked for on a terminal.
#[derive(Debug, Clone, Default)]
pub struct SignerDraft {
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub lang: Option<String>,
    /// The profile's path, named in "how to set this" messages.
    pub profile_path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub format: crate::output::Format,
    pub target: Target,
    /// Replace existing files.
    pub force: bool,
}

impl Settings {
    pub fn resolve(cli: Cli, env: &Environment, profile: Profile) -> Result<Settings> {
        let campaign = match cli.campaign {
            Some(dir) => CampaignChoice::Dir(env.cwd.join(dir)),
            None if env.cwd.join("recipients.toml").is_file() => {
                CampaignChoice::Dir(env.cwd.clone())
            }
            None => CampaignChoice::Embedded,
        };
        let command = match cli.command {
            cli::Command::List(args) => Command::List {
                json: args.format == cli::ListFormat::Json,
            },
            cli::Command::Check => Command::Check,
            cli::Command::Write(args) => Command::Write(Box::new(WriteSettings {
                letter: args.letter,
                signer: SignerDraft::resolve(&args.signer, env, &profile),
                to: args.selection.to,
                output: output(&args.output, env),
                date: letter_date(args.output.date.as_deref(), env.today)?,
                email: email(&args.email, env)?,
            })),
        };
        Ok(Settings {
            campaign,
            today: env.today,
            terminal: env.terminal,
            command,
        })
    }
}

impl SignerDraft {
    fn resolve(args: &cli::SignerArgs, env: &Environment, profile: &Profile) -> Self {
        let pick = |flag: &Option<String>, var: &str, from_profile: &Option<String>| {
            flag.clone()
                .or_else(|| env.var(var).map(str::to_string))
                .or_else(|| from_profile.clone())
        };
        SignerDraft {
            name: pick(&args.name, Field::Name.env_var(), &profile.name)
                .filter(|n| !n.trim().is_empty()),
            organisation: pick(
                &args.organisation,
                Field::Organisation.env_var(),
                &profile.organisation,
            ),
            email: pick(&args.email, Field::Email.env_var(), &profile.email),
            address: pick(&args.address, Field::Address.env_var(), &profile.address),
            country: pick(&args.country, Field::Country.env_var(), &profile.country),
            lang: pick(&args.lang, "PROTEST_LETTER_LANG", &profile.lang),
            profile_path: profile.path.clone(),
        }
    }
}

fn output(args: &cli::OutputArgs, env: &Environment) -> OutputSettings {
    let target = match (&args.output, &args.out_dir) {
        (Some(file), _) if file.as_os_str() == "-" => Target::Stdout,
        (Some(file), _) => Target::File(env.cwd.join(file)),
        (None, Some(dir)) => Target::Dir(env.cwd.join(dir)),
        (None, None) => Target::Stdout,
    };
    let format = args
        .format
        .or_else(|| match &target {
            Target::File(path) => Format::from_path(path),
            _ => None,
        })
        .unwrap_or(Format::Text);
    OutputSettings {
        format,
        target,
        force: args.force,
    }
}

fn email(args: &cli::EmailArgs, env: &Environment) -> Result<EmailSettings> {
    let embassy_email = match &args.embassy_email {
        None => None,
        Some(text) => Some(
            crate::address::normalise(text.trim())
                .map_err(|reason| anyhow::anyhow!("--embassy-email `{text}`: {reason}"))?,
        ),
    };
    Ok(EmailSettings {
        bcc_me: args.bcc_me,
        embassy_email,
        clock: Clock::from_source_date_epoch(env.var("SOURCE_DATE_EPOCH"))?,
    })
}

/// `--date`, else today.
fn letter_date(flag: Option<&str>, today: jiff::civil::Date) -> Result<jiff::civil::Date> {
    match flag {
        None => Ok(today),
        Some(text) => jiff::civil::Date::from_str(text.trim())
            .with_context(|| format!("--date `{text}` is not a date"))
            .context("write the date as YYYY-MM-DD, e.g. --date 2026-11-22"),
    }
}

/// Rejects settings that cannot work together, with what to type instead.
pub fn ensure_campaign_dir(dir: &std::path::Path) -> Result<()> {
    if !dir.is_dir() {
        bail!(
            "campaign folder {} does not exist; give --campaign a folder holding recipients.toml and letters/",
            dir.display()
        );
    }
    Ok(())
}
