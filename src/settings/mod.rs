//! Resolves the command line, the environment and the profile once into
//! plain settings. After this, nothing reads clap structs, environment
//! variables or the clock.

pub mod pin;
pub mod profile;
pub mod providers;
pub mod rate;
mod smtp;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};

use crate::cli::Format;
use crate::cli::{self, Cli};
use crate::message::Clock;
use crate::settings::profile::Profile;
use crate::signers::signer::{Field, MESSAGE_LIMIT};
use smtp::smtp;
pub use smtp::{PasswordSource, Security, SmtpSettings, Sourced, TransportSettings};

/// What the process was started with, read once at the edge (in `main`).
#[derive(Debug, Clone)]
pub struct Environment {
    /// Environment variables (only the ones we read are needed).
    pub vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// `<config dir>/protest-letter`, if the platform has one.
    pub config_dir: Option<PathBuf>,
    /// `<data dir>/protest-letter`, home of the default send journal.
    pub data_dir: Option<PathBuf>,
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
        let dirs = directories::ProjectDirs::from("", "", "protest-letter");
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
            config_dir: dirs.as_ref().map(|d| d.config_dir().to_path_buf()),
            data_dir: dirs.as_ref().map(|d| d.data_dir().to_path_buf()),
            today: today(),
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

/// Today's date in the user's time zone. `jiff::Zoned::now()` finds the
/// system zone by name, and to do so first lists every file under
/// /usr/share/zoneinfo (about 40 directories read: a third of the
/// instructions of a one-letter `write`). A date needs only the zone's
/// rules, which /etc/localtime holds, so they are read from there, as jiff
/// itself does when the link names no zone; with `TZ` set, jiff decides.
fn today() -> jiff::civil::Date {
    let now = jiff::Timestamp::now();
    #[cfg(unix)]
    if std::env::var_os("TZ").is_none()
        && let Ok(data) = std::fs::read("/etc/localtime")
        && let Ok(zone) = jiff::tz::TimeZone::tzif("localtime", &data)
    {
        return now.to_zoned(zone).date();
    }
    jiff::Zoned::now().date()
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
    /// `-q`: nothing on stderr but errors and questions.
    pub quiet: bool,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    List {
        json: bool,
        /// `--providers`: the provider table, not the campaign.
        providers: bool,
    },
    Check {
        json: bool,
    },
    Write(Box<WriteSettings>),
    Send(Box<SendSettings>),
    Init(InitSettings),
    Completions(clap_complete::Shell),
    /// The man page: the main one, or a command's.
    Man(Option<String>),
}

/// `init`: where, and which campaign.
#[derive(Debug)]
pub struct InitSettings {
    pub dir: PathBuf,
    /// The folder as the user typed it, for the next-steps commands.
    pub shown: PathBuf,
    pub blank: bool,
}

/// Everything `send` needs, resolved.
#[derive(Debug)]
pub struct SendSettings {
    pub letter: Option<String>,
    pub signer: SignerDraft,
    pub to: Vec<String>,
    pub date: jiff::civil::Date,
    pub email: EmailSettings,
    /// `None` only with --dry-run and nothing configured.
    pub transport: Option<TransportSettings>,
    pub dry_run: bool,
    pub yes: bool,
    pub journal: PathBuf,
    pub resend: bool,
    /// `--resend-uncertain`: send uncertain letters again, same Message-ID.
    pub resend_uncertain: bool,
    /// `--wait`: wait for another run's lock on the journal.
    pub wait: bool,
    /// `--force`: replace an existing `--report` file.
    pub force: bool,
    pub verbose: bool,
    /// `-q`: no progress bar.
    pub quiet: bool,
    /// Where postal-only letters are written for printing.
    pub postal_dir: PathBuf,
    /// `--print-dir`: where postal-only letters also go as PDFs.
    pub print_dir: Option<PathBuf>,
    pub json_summary: bool,
    /// First retry delay, doubled on each retry (PROTEST_LETTER_RETRY_DELAY_MS).
    pub retry_delay: std::time::Duration,
    /// `--retry-for`: how long a letter refused for now is tried again.
    pub retry_for: std::time::Duration,
    pub batch: BatchSettings,
    pub connections: usize,
    /// Minimum time between two messages (`--rate`, else the provider's
    /// per-minute limit).
    pub interval: Option<std::time::Duration>,
    pub pacing: providers::Pacing,
    pub report: Option<PathBuf>,
    /// Send past the campaign's deadline or the letter's valid_until.
    pub after_deadline: bool,
    pub voice: VoiceSettings,
}

/// The signer's own words and whether to edit the letters.
#[derive(Debug, Clone, Default)]
pub struct VoiceSettings {
    /// `--message`, or the text of `--message-file`; empty if neither.
    pub message: String,
    pub edit: bool,
    /// `$VISUAL`, else `$EDITOR`.
    pub editor: Option<String>,
}

impl VoiceSettings {
    /// `list_on_stdin`: `--signatories -` reads standard input already.
    fn from_args(args: &cli::VoiceArgs, env: &Environment, list_on_stdin: bool) -> Result<Self> {
        let stdin = |flag: &str| {
            if list_on_stdin {
                bail!(
                    "{flag} - and --signatories - both read standard input; \
                     give one of them a file"
                );
            }
            bounded_text(
                std::io::stdin().lock(),
                &format!("{flag} -: standard input"),
            )
        };
        let message = match (&args.message, &args.message_file) {
            (Some(text), _) if text == "-" => stdin("--message")?,
            (Some(text), _) if text.len() > MESSAGE_LIMIT => bail!(
                "--message is {} KiB, over the {} KiB a message may hold; shorten it",
                text.len().div_ceil(1024),
                MESSAGE_LIMIT >> 10
            ),
            (Some(text), _) => text.clone(),
            (None, Some(path)) if path.as_os_str() == "-" => stdin("--message-file")?,
            (None, Some(path)) => {
                let path = env.cwd.join(path);
                let file = fs_err::File::open(&path)
                    .with_context(|| format!("--message-file: cannot read {}", path.display()))?;
                bounded_text(file, &format!("--message-file {}", path.display()))?
            }
            (None, None) => String::new(),
        };
        if let Some(c) = message
            .chars()
            .find(|&c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            bail!(
                "the message contains the control character U+{:04X}; give plain text",
                c as u32
            );
        }
        Ok(VoiceSettings {
            message: message.replace("\r\n", "\n").trim().to_string(),
            edit: args.edit,
            editor: env
                .var("VISUAL")
                .filter(|v| !v.trim().is_empty())
                .or_else(|| env.var("EDITOR"))
                .map(str::to_string),
        })
    }
}

/// The UTF-8 text `reader` gives until it ends (a FIFO: until its writer
/// closes it), but never more than `MESSAGE_LIMIT`: `/dev/zero` stops there.
fn bounded_text(reader: impl std::io::Read, what: &str) -> Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader
        .take(MESSAGE_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what}"))?;
    if bytes.len() > MESSAGE_LIMIT {
        bail!(
            "{what} holds more than the {} KiB a message may hold; shorten it",
            MESSAGE_LIMIT >> 10
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{what} is not UTF-8 text (byte {} is not); save it as UTF-8",
            e.utf8_error().valid_up_to() + 1
        )
    })
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
    pub batch: BatchSettings,
    /// `-q`: no progress bar.
    pub quiet: bool,
    pub voice: VoiceSettings,
}

/// A members' list instead of (or as well as) one signer.
#[derive(Debug, Clone, Default)]
pub struct BatchSettings {
    /// The list; `-` is standard input.
    pub signatories: Option<PathBuf>,
    pub group: bool,
    pub skip_invalid: bool,
    /// `--encoding`: the list's encoding, when not detected.
    pub encoding: Option<String>,
    /// `--sheet`: the sheet of a spreadsheet list (else its first).
    pub sheet: Option<String>,
    pub reply_to: crate::cli::ReplyTo,
}

impl BatchSettings {
    fn from_args(args: &cli::BatchArgs, env: &Environment) -> Self {
        BatchSettings {
            signatories: args.signatories.as_ref().map(|p| {
                if p.as_os_str() == "-" {
                    p.clone()
                } else {
                    env.cwd.join(p)
                }
            }),
            group: args.group,
            skip_invalid: args.skip_invalid,
            encoding: args.encoding.clone(),
            sheet: args.sheet.clone(),
            reply_to: args.reply_to,
        }
    }
}

/// How letters become emails.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub bcc_me: bool,
    /// Checked address for a country-dependent recipient (the embassy).
    pub embassy_email: Option<String>,
    /// The Date header's clock: fixed by SOURCE_DATE_EPOCH for `write`,
    /// always the real time for `send`.
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
    pub format: crate::cli::Format,
    pub target: Target,
    /// Replace existing files.
    pub force: bool,
    /// `--paper`; without it each PDF letter follows its signer's country.
    pub paper: Option<crate::cli::Paper>,
    /// `--blank-sheets`: empty signature sheets after each PDF letter.
    pub blank_sheets: usize,
}

impl Settings {
    pub fn resolve(cli: Cli, env: &Environment, profile: Profile) -> Result<Settings> {
        let (quiet, verbose) = (cli.quiet, cli.verbose);
        let campaign_flag = cli.campaign.clone();
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
                providers: args.providers,
            },
            cli::Command::Check(args) => Command::Check {
                json: args.format == cli::ListFormat::Json,
            },
            cli::Command::Send(args) => Command::Send(Box::new(send_settings(
                *args, env, &profile, quiet, verbose,
            )?)),
            cli::Command::Write(args) => Command::Write(Box::new(WriteSettings {
                letter: args.common.letter,
                signer: SignerDraft::resolve(&args.common.signer, env, &profile)?,
                to: args.common.selection.to,
                output: output(&args.output, env),
                date: letter_date(args.output.date.as_deref(), env.today)?,
                email: email(
                    &args.common.email,
                    Clock::from_source_date_epoch(env.var("SOURCE_DATE_EPOCH"))?,
                )?,
                batch: BatchSettings::from_args(&args.common.batch, env),
                quiet,
                voice: VoiceSettings::from_args(
                    &args.common.voice,
                    env,
                    args.common.batch.signatories.as_deref() == Some(Path::new("-")),
                )?,
            })),
            cli::Command::Init(args) => {
                let shown = args
                    .dir
                    .or(campaign_flag.clone())
                    .unwrap_or_else(|| PathBuf::from("."));
                Command::Init(InitSettings {
                    dir: env.cwd.join(&shown),
                    shown,
                    blank: args.blank,
                })
            }
            cli::Command::Completions(args) => Command::Completions(args.shell),
            cli::Command::Man(args) => Command::Man(args.command),
        };
        let reads_campaign = matches!(
            command,
            Command::List { .. } | Command::Check { .. } | Command::Write(_) | Command::Send(_)
        );
        if let (true, Some(typed)) = (reads_campaign, &campaign_flag) {
            refuse_a_file(typed, env)?;
        }
        Ok(Settings {
            campaign,
            today: env.today,
            terminal: env.terminal,
            quiet,
            command,
        })
    }
}

impl SignerDraft {
    fn resolve(args: &cli::SignerArgs, env: &Environment, profile: &Profile) -> Result<Self> {
        let pick = |flag: &Option<String>, var: &str, from_profile: &Option<String>| {
            flag.clone()
                .or_else(|| env.var(var).map(str::to_string))
                .or_else(|| from_profile.clone())
        };
        let lang = match (&args.lang, env.var("PROTEST_LETTER_LANG"), &profile.lang) {
            (Some(l), _, _) => Some((l.as_str(), "--lang".to_string())),
            (None, Some(l), _) => Some((l, "PROTEST_LETTER_LANG".to_string())),
            (None, None, Some(l)) => Some((l.as_str(), profile.origin("lang"))),
            (None, None, None) => None,
        };
        let lang = lang
            .filter(|(l, _)| !l.trim().is_empty())
            .map(|(l, from)| crate::campaign::language::ensure_tag(l, &from))
            .transpose()?;
        Ok(SignerDraft {
            name: pick(&args.name, Field::Name.env_var(), &profile.name)
                .filter(|n| !n.trim().is_empty()),
            organisation: args
                .organisation
                .clone()
                .or_else(|| args.organization.clone())
                .or(organisation_from_env(env)?)
                .or_else(|| profile.organisation.clone()),
            email: pick(&args.email, Field::Email.env_var(), &profile.email),
            address: pick(&args.address, Field::Address.env_var(), &profile.address),
            country: pick(&args.country, Field::Country.env_var(), &profile.country),
            lang,
            profile_path: profile.path.clone(),
        })
    }
}

/// `--campaign FILE` is refused here, where the path is still as typed,
/// with the folder to give instead (`mine/recipients.toml`: `mine`).
fn refuse_a_file(typed: &std::path::Path, env: &Environment) -> Result<()> {
    if env.cwd.join(typed).is_file() {
        let parent = typed
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        bail!(
            "--campaign {}: that is a file; --campaign takes the campaign's folder, the one \
             holding recipients.toml and letters/: --campaign {}",
            typed.display(),
            parent.display()
        );
    }
    Ok(())
}

/// PROTEST_LETTER_ORGANISATION, or the same spelt with a z; both set is
/// an error, whichever would be used.
fn organisation_from_env(env: &Environment) -> Result<Option<String>> {
    const Z: &str = "PROTEST_LETTER_ORGANIZATION";
    let s = Field::Organisation.env_var();
    match (env.var(s), env.var(Z)) {
        (Some(_), Some(_)) => bail!(
            "both {s} and {Z} are set: they are one setting, spelt two ways; unset one of them"
        ),
        (one, other) => Ok(one.or(other).map(str::to_string)),
    }
}

fn output(args: &cli::OutputArgs, env: &Environment) -> OutputSettings {
    let target = match (&args.output, &args.out_dir) {
        // Our own standard output, however it is spelt: opening it again
        // would truncate a file that `>>` appends to.
        (Some(file), _) if is_stdout(file) => Target::Stdout,
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
        paper: args.paper,
        blank_sheets: usize::from(args.blank_sheets),
    }
}

fn is_stdout(path: &std::path::Path) -> bool {
    ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"]
        .iter()
        .any(|name| path.as_os_str() == *name)
}

fn email(args: &cli::EmailArgs, clock: Clock) -> Result<EmailSettings> {
    let embassy_email = match &args.embassy_email {
        None => None,
        Some(text) => Some(
            crate::campaign::address::normalise(text.trim())
                .map_err(|reason| anyhow::anyhow!("--embassy-email `{text}`: {reason}"))?,
        ),
    };
    Ok(EmailSettings {
        bcc_me: args.bcc_me,
        embassy_email,
        clock,
    })
}

fn send_settings(
    args: cli::SendArgs,
    env: &Environment,
    profile: &Profile,
    quiet: bool,
    verbose: bool,
) -> Result<SendSettings> {
    let t = &args.transport;
    let signer = SignerDraft::resolve(&args.common.signer, env, profile)?;
    let known = providers::choose(
        t.provider.as_deref(),
        profile.smtp.provider.as_deref(),
        signer.email.as_deref(),
    )?;
    let transport = match (
        &t.smtp,
        &t.sendmail,
        &profile.smtp.url,
        &profile.smtp.sendmail,
    ) {
        (Some(url), _, _, _) => Some(TransportSettings::Smtp(smtp(
            url, "--smtp", t, env, profile,
        )?)),
        (None, Some(path), _, _) => Some(TransportSettings::Sendmail {
            program: path.clone(),
            timeout: t.timeout,
        }),
        (None, None, Some(url), _) => Some(TransportSettings::Smtp(smtp(
            url,
            &profile.origin("[smtp] url"),
            t,
            env,
            profile,
        )?)),
        (None, None, None, Some(path)) => Some(TransportSettings::Sendmail {
            program: path.clone(),
            timeout: t.timeout,
        }),
        (None, None, None, None) => match &known {
            // The provider's submission server, logging in as the sender.
            Some(c) => {
                let url = c.provider.url(signer.email.as_deref().map(str::trim));
                let from = format!("{}'s server", c.provider.label);
                Some(TransportSettings::Smtp(smtp(&url, &from, t, env, profile)?))
            }
            None if t.dry_run => None,
            None => bail!(
                "how should the letters be sent? Pass --smtp smtp://you@mail.example.org (STARTTLS) \
                 or --sendmail, or set url under [smtp] in your profile; --provider NAME picks a \
                 known provider's server (`protest-letter list --providers`). --dry-run shows what \
                 would be sent"
            ),
        },
    };
    let pacing = providers::Pacing::resolve(known, t, profile, transport.as_ref())?;
    // A provider that takes only tokens (Outlook.com) is logged in to with
    // XOAUTH2 unless --auth says otherwise; the prompt then asks for a token.
    let mut transport = transport;
    if let (Some(TransportSettings::Smtp(smtp)), Some(choice)) = (&mut transport, &pacing.provider)
        && smtp.auth == crate::cli::SmtpAuth::Auto
        && choice.provider.oauth_only()
    {
        smtp.auth = crate::cli::SmtpAuth::Xoauth2;
    }
    let journal = match (&t.journal, env.var("PROTEST_LETTER_JOURNAL"), &env.data_dir) {
        (Some(path), _, _) => env.cwd.join(path),
        (None, Some(path), _) => env.cwd.join(path),
        (None, None, Some(dir)) => dir.join("journal.jsonl"),
        (None, None, None) => {
            bail!("no data folder on this system for the send journal: pass --journal FILE")
        }
    };
    Ok(SendSettings {
        letter: args.common.letter,
        signer,
        to: args.common.selection.to,
        date: letter_date(args.date.as_deref(), env.today)?,
        after_deadline: args.after_deadline,
        voice: VoiceSettings::from_args(
            &args.common.voice,
            env,
            args.common.batch.signatories.as_deref() == Some(Path::new("-")),
        )?,
        // Real mail dated 2001 scores as spam (DATE_IN_PAST_96_XX): the
        // reproducible clock is for files only.
        email: email(&args.common.email, Clock::Now)?,
        transport,
        dry_run: t.dry_run,
        yes: t.yes,
        journal,
        resend: t.resend,
        resend_uncertain: t.resend_uncertain,
        wait: t.wait,
        force: args.force,
        verbose,
        quiet,
        postal_dir: args
            .out_dir
            .map_or_else(|| env.cwd.clone(), |d| env.cwd.join(d)),
        print_dir: args.print_dir.map(|d| env.cwd.join(d)),
        json_summary: args.format == cli::ListFormat::Json,
        batch: BatchSettings::from_args(&args.common.batch, env),
        connections: usize::from(t.connections),
        interval: match t.rate.as_deref() {
            Some(rate) => Some(crate::settings::rate::interval(rate)?),
            None => pacing.provider.as_ref().and_then(|c| c.provider.interval()),
        },
        pacing,
        report: t.report.as_ref().map(|p| env.cwd.join(p)),
        retry_for: t.retry_for,
        retry_delay: match env.var("PROTEST_LETTER_RETRY_DELAY_MS") {
            None => std::time::Duration::from_secs(1),
            Some(ms) => std::time::Duration::from_millis(ms.trim().parse().with_context(|| {
                format!("PROTEST_LETTER_RETRY_DELAY_MS `{ms}` is not a number of milliseconds")
            })?),
        },
    })
}

/// `--date`, else today.
fn letter_date(flag: Option<&str>, today: jiff::civil::Date) -> Result<jiff::civil::Date> {
    match flag {
        None => Ok(today),
        Some(text) => jiff::civil::Date::from_str(text.trim()).with_context(|| {
            format!("--date `{text}` is not a date; write it as YYYY-MM-DD, e.g. --date 2026-11-22")
        }),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// The auth `send` would log in with, for these arguments.
    fn auth_of(args: &[&str]) -> crate::cli::SmtpAuth {
        let cli = crate::cli::Cli::parse_from(
            [
                "protest-letter",
                "send",
                "--journal",
                "/nonexistent/j.jsonl",
            ]
            .iter()
            .chain(args),
        );
        let env = super::Environment {
            vars: Default::default(),
            cwd: "/".into(),
            config_dir: None,
            data_dir: None,
            today: jiff::civil::date(2026, 12, 7),
            terminal: super::Terminal::default(),
        };
        let settings = super::Settings::resolve(cli, &env, Default::default()).unwrap();
        let super::Command::Send(send) = settings.command else {
            panic!("not send");
        };
        match send.transport {
            Some(super::TransportSettings::Smtp(smtp)) => smtp.auth,
            _ => panic!("no SMTP server"),
        }
    }

    #[test]
    fn a_provider_that_takes_only_tokens_logs_in_with_xoauth2() {
        use crate::cli::SmtpAuth;
        assert_eq!(auth_of(&["--email", "jo@outlook.com"]), SmtpAuth::Xoauth2);
        assert_eq!(auth_of(&["--email", "jo@gmail.com"]), SmtpAuth::Auto);
        let asked = ["--email", "jo@outlook.com", "--auth", "oauthbearer"];
        assert_eq!(auth_of(&asked), SmtpAuth::Oauthbearer);
    }

    #[test]
    fn today_is_jiffs_today() {
        // Retried: the two clocks may straddle midnight.
        let same = (0..3).any(|_| super::today() == jiff::Zoned::now().date());
        assert!(same);
    }
}
