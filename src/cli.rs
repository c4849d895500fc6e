//! The command line as typed: clap derive structs and their value enums
//! (`Format`, `ReplyTo`, which the rooms below share).
//!
//! No I/O and no defaults that depend on the environment live here; those are
//! resolved once, in `settings`, so the rest of the program never sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Write and send protest letters: personalised, with every required copy,
/// never twice.
#[derive(Debug, Parser)]
#[command(name = "protest-letter", version, about, long_about = None)]
#[command(after_help = concat!(
    "Examples:\n",
    "  protest-letter init my-campaign          # start a campaign of your own\n",
    "  protest-letter write --name \"Jo Bloggs\" --to supreme-court\n",
    "  protest-letter send --dry-run --name \"Jo Bloggs\" --email jo@example.org\n",
    "  protest-letter help write                # more examples for each command\n",
    "\n",
    "With no --campaign, a recipients.toml in the current folder is used if there is one; \
otherwise the built-in Kazakhstan solidarity campaign.\n",
    "\n",
    "Exit codes: 0 done; 1 some letters were refused (the rest were sent); 2 bad input or configuration, nothing done; \
3 a failure while running (disk, network), see the message; 130 or 143 stopped by Ctrl-C or SIGTERM \
(send: the summary says what was done).",
))]
pub struct Cli {
    /// Campaign folder holding recipients.toml and letters/.
    #[arg(long, global = true, value_name = "DIR")]
    pub campaign: Option<PathBuf>,

    /// Print only errors and what was asked for: no notes, warnings,
    /// previews or progress bar.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Say what is happening at each step (never prints a password).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the campaign's letters and recipients.
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Validate the campaign and report every problem.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Render letters: print them, or write them to files.
    #[command(after_help = WRITE_EXAMPLES)]
    Write(Box<WriteArgs>),
    /// Email letters with every required copy: preview, confirm, send once.
    #[command(after_help = SEND_EXAMPLES)]
    Send(Box<SendArgs>),
    /// Start a campaign of your own: a copy of the built-in one, or a blank
    /// skeleton.
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const LIST_EXAMPLES: &str = "\
Examples:
  protest-letter list                          # the built-in campaign
  protest-letter --campaign my-campaign list --format json
  protest-letter list --providers              # the mail servers and limits protest-letter knows";

const CHECK_EXAMPLES: &str = "\
Examples:
  protest-letter check                         # the campaign in this folder
  protest-letter --campaign my-campaign check
  protest-letter check --format json           # for editors and CI";

const WRITE_EXAMPLES: &str = "\
Examples:
  # one letter, printed
  protest-letter write --name \"Jo Bloggs\" --organisation \"Unite Branch 42\" \\
      --to supreme-court
  # to a file
  protest-letter write --name \"Jo Bloggs\" --to supreme-court -o letter.txt
  # as an email, handed to msmtp (or sendmail -t)
  protest-letter write --name \"Jo Bloggs\" --email jo@example.org \\
      --to supreme-court --format eml | msmtp -t
  # a batch: one letter from each member of a list, one file each
  protest-letter write --signatories members.csv --out-dir letters-out/
  # a petition: one letter per recipient, signed by everyone on the list
  protest-letter write --signatories members.csv --group -o petition.txt";

const SEND_EXAMPLES: &str = "\
Examples:
  # see what would be sent, send nothing
  protest-letter send --dry-run --name \"Jo Bloggs\" --email jo@example.org \\
      --country GB
  # send, after a preview and a question
  protest-letter send --name \"Jo Bloggs\" --email jo@example.org \\
      --smtp smtp://jo@mail.example.org
  # a batch from a script, at most 2 a second
  protest-letter send --signatories members.csv --email branch@union.org \\
      --yes --smtp smtp://branch@mail.union.org --rate 2/s \\
      --report report.csv
  # a petition signed by everyone on the list
  protest-letter send --signatories members.csv --group \\
      --email branch@union.org --smtp smtp://branch@mail.union.org";

const INIT_EXAMPLES: &str = "\
Examples:
  protest-letter init my-campaign              # a copy of the built-in campaign
  protest-letter init --blank my-campaign      # one recipient, one letter
  cd my-campaign && protest-letter check";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  # in ~/.bashrc: completes the campaign's recipient and letter ids too
  source <(PROTEST_LETTER_COMPLETE=bash protest-letter)
  # or a static script (commands and flags only)
  mkdir -p ~/.local/share/bash-completion/completions && \\
      protest-letter completions bash \\
      > ~/.local/share/bash-completion/completions/protest-letter
  # zsh: with fpath+=~/.zfunc before compinit in ~/.zshrc
  mkdir -p ~/.zfunc && protest-letter completions zsh > ~/.zfunc/_protest-letter
  mkdir -p ~/.config/fish/completions && protest-letter completions fish \\
      > ~/.config/fish/completions/protest-letter.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  protest-letter man | man -l -                # read it now
  mkdir -p ~/.local/share/man/man1 && \\
      protest-letter man > ~/.local/share/man/man1/protest-letter.1
  protest-letter man send > ~/.local/share/man/man1/protest-letter-send.1";

/// `init [DIR]`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to create the campaign in (default: --campaign, else here).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A minimal campaign (one recipient, one letter) whose comments
    /// explain every key, instead of a copy of the built-in campaign.
    #[arg(long)]
    pub blank: bool,
}

/// `completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man [COMMAND]`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// A command's own page (protest-letter-send(1)) instead of the main one.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// List the mail providers protest-letter knows (server, login,
    /// limits, and where the figures come from) instead of the campaign.
    #[arg(long)]
    pub providers: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format: text, or json (one object per line and problem, with
    /// severity, file, line, column, message and help) for editors and CI.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// What both `write` and `send` take: which letter, who signs, to whom,
/// and the email and batch options.
#[derive(Debug, Args)]
pub struct LetterArgs {
    /// The letter (see `list`); default: the campaign's default letter.
    #[arg(value_name = "LETTER", value_hint = clap::ValueHint::Other)]
    pub letter: Option<String>,

    #[command(flatten)]
    pub signer: SignerArgs,

    #[command(flatten)]
    pub selection: SelectionArgs,

    #[command(flatten)]
    pub email: EmailArgs,

    #[command(flatten)]
    pub batch: BatchArgs,

    #[command(flatten)]
    pub voice: VoiceArgs,
}

/// The signer's own words: officials skim identical letters.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Your own words")]
pub struct VoiceArgs {
    /// A paragraph of your own, put after the letter's opening (in a
    /// members' list, for members whose `message` column is empty); `-`
    /// reads it from standard input. At most 64 KiB.
    #[arg(long, value_name = "TEXT", conflicts_with = "message_file")]
    pub message: Option<String>,
    /// The same, read from a file (UTF-8; blank lines separate paragraphs;
    /// `-` is standard input). At most 64 KiB.
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Open each finished letter in $VISUAL or $EDITOR before it is written
    /// or sent, and use what you save.
    #[arg(long)]
    pub edit: bool,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    #[command(flatten)]
    pub common: LetterArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// A members' list: one letter per member, or one petition signed by all.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Batch")]
pub struct BatchArgs {
    /// CSV with a header row (name or first and last name, organisation,
    /// email, country, language, any other columns for templates); `,` `;`
    /// or tab separated, as spreadsheets export it; or the spreadsheet
    /// itself (.xlsx, .xls, .ods). `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub signatories: Option<std::path::PathBuf>,
    /// The sheet of a spreadsheet list to read (default: its first sheet).
    #[arg(long, value_name = "NAME", requires = "signatories")]
    pub sheet: Option<String>,
    /// The list's encoding (utf-8, utf-16le, windows-1251, windows-1252…);
    /// default: found from a byte-order mark or the text itself.
    #[arg(long, value_name = "NAME", requires = "signatories")]
    pub encoding: Option<String>,
    /// One letter per recipient signed by everyone on the list (a petition).
    #[arg(long, requires = "signatories")]
    pub group: bool,
    /// Skip (and list) bad rows instead of stopping before anything is done.
    #[arg(long, requires = "signatories")]
    pub skip_invalid: bool,
    /// Members' letters go From the sending account: `none` prints the
    /// member's address under the signature; `member` makes it the
    /// Reply-To, which spam filters score when it is a freemail address
    /// (FREEMAIL_FORGED_REPLYTO).
    #[arg(long, value_enum, value_name = "WHO", default_value_t = ReplyTo::None)]
    pub reply_to: ReplyTo,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub common: LetterArgs,

    #[command(flatten)]
    pub transport: TransportArgs,

    /// The date written in the letter, YYYY-MM-DD (default: today). Only the
    /// text: an email's Date header is always the time it is sent, and
    /// SOURCE_DATE_EPOCH (which fixes it for `write`) is ignored by `send`.
    #[arg(long, value_name = "YYYY-MM-DD", help_heading = "Output")]
    pub date: Option<String>,
    /// Where postal-only letters are written for printing (default: here).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out_dir: Option<std::path::PathBuf>,
    /// Also write each postal-only letter as a PDF for a window envelope,
    /// and a call sheet for each phone call, into this folder (which must
    /// exist); the paper follows the signer's country.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub print_dir: Option<std::path::PathBuf>,
    /// Replace the --report file if it already exists.
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// How the run's summary is printed on standard output.
    #[arg(long, value_enum, default_value_t = ListFormat::Text, help_heading = "Output")]
    pub format: ListFormat,
    /// Send even though the campaign's deadline or the letter's
    /// valid_until has passed.
    #[arg(long, help_heading = "Sending")]
    pub after_deadline: bool,
}

#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Sending")]
pub struct TransportArgs {
    /// SMTP server: smtp://[user@]host[:587] (STARTTLS) or smtps://[user@]host[:465].
    /// The password comes from PROTEST_LETTER_SMTP_PASSWORD, the profile's
    /// password_command, or a hidden prompt; never from the URL.
    #[arg(long, value_name = "URL", conflicts_with = "sendmail")]
    pub smtp: Option<String>,
    /// Hand messages to a sendmail-compatible program (default: sendmail on PATH).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "sendmail")]
    pub sendmail: Option<std::path::PathBuf>,
    /// A PEM file with the certificate authority that signed the server's
    /// certificate, or the server's own (self-signed) certificate.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Accept only the server certificate with this SHA-256 fingerprint
    /// (AB:CD:…, as `openssl x509 -noout -fingerprint -sha256` prints it).
    #[arg(long, value_name = "SHA256")]
    pub tls_fingerprint: Vec<String>,
    /// The name this machine gives in EHLO (default: its fully qualified
    /// name, else its address as [192.0.2.1]).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// How to log in: auto chooses from what the server offers. xoauth2 and
    /// oauthbearer take an OAuth2 access token where a password would go
    /// (PROTEST_LETTER_SMTP_PASSWORD, password_command, or the prompt).
    #[arg(long, value_enum, value_name = "MECHANISM")]
    pub auth: Option<SmtpAuth>,
    /// Do everything except deliver.
    #[arg(long)]
    pub dry_run: bool,
    /// Send without asking for confirmation (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The send journal (default: in your data folder). Records every
    /// delivered letter so that re-runs never send twice.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<std::path::PathBuf>,
    /// Send again letters the journal says were already delivered.
    #[arg(long)]
    pub resend: bool,
    /// Send again letters whose earlier attempt is uncertain (the message
    /// left, no definite reply came), with the same Message-ID so that mail
    /// systems and readers can drop a duplicate.
    #[arg(long)]
    pub resend_uncertain: bool,
    /// If another send is using the journal, wait for it to finish instead
    /// of stopping at once.
    #[arg(long)]
    pub wait: bool,
    /// SMTP connections used at once (each one reused for many messages).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,
    /// At most this many messages, evenly spaced: N/s, N/min or N/h
    /// (e.g. 2/s, 30/min, 500/h; a bare number is per minute). Default:
    /// the provider's per-minute limit, if it has one; else full speed.
    #[arg(long, value_name = "RATE")]
    pub rate: Option<String>,
    /// Seconds to wait for the SMTP server to connect or answer before
    /// giving up on that attempt (decimals allowed). A message whose reply
    /// does not come in time is uncertain: never sent again on its own.
    /// Also bounds each run of a --sendmail program.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub timeout: std::time::Duration,
    /// Keep retrying a letter the server refuses for now (a 4xx, such as
    /// greylisting) this long, with backoff, while the other letters go on:
    /// 30s, 5m, 1h (0: five quick tries). Then it is reported as refused
    /// temporarily, and the next run tries it again.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration,
          overrides_with = "retry_for")]
    pub retry_for: std::time::Duration,
    /// The mail provider of an address on your own domain, for its server
    /// and limits (e.g. microsoft365, google-workspace; `list --providers`
    /// shows them). Default: found from your address's domain.
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// At most this many recipients (To, Cc and Bcc) in any 24 hours,
    /// whatever the provider's own limit, counting the journal's letters of
    /// the last day: the run stops before the server would refuse, and the
    /// next run goes on from there.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub daily_limit: Option<u32>,
    /// Write every letter of the run with its state, the server's reply
    /// and its Message-ID to this CSV (a record, and the rows to fix and
    /// re-run); checked before sending.
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
}

/// Who signs. Each flag falls back to PROTEST_LETTER_<FIELD>, then the profile.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Signer")]
pub struct SignerArgs {
    /// Your name, as it is signed [env: PROTEST_LETTER_NAME]
    #[arg(long)]
    pub name: Option<String>,
    /// The organisation you sign for; empty to sign as an individual. Also
    /// spelt --organization [env: PROTEST_LETTER_ORGANISATION or
    /// PROTEST_LETTER_ORGANIZATION]
    #[arg(long)]
    pub organisation: Option<String>,
    /// --organisation spelt with a z: a flag of its own, so that giving
    /// both is an error naming both.
    #[arg(long, hide = true, conflicts_with = "organisation")]
    pub organization: Option<String>,
    /// Your email address [env: PROTEST_LETTER_EMAIL]
    #[arg(long)]
    pub email: Option<String>,
    /// Your postal address, printed under your signature [env: PROTEST_LETTER_ADDRESS]
    #[arg(long)]
    pub address: Option<String>,
    /// Your country (ISO code such as GB); picks the embassy [env: PROTEST_LETTER_COUNTRY]
    #[arg(long)]
    pub country: Option<String>,
    /// The letter's language (e.g. en, ru, ru-KZ); one the letter lacks is an error.
    /// Default: each recipient's own language [env: PROTEST_LETTER_LANG]
    #[arg(long)]
    pub lang: Option<String>,
}

#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Recipients")]
pub struct SelectionArgs {
    /// Recipient id (repeatable); default: the letter's own recipients.
    #[arg(long = "to", value_name = "ID", value_hint = clap::ValueHint::Other)]
    pub to: Vec<String>,
}

#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write to this file instead of standard output.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "out_dir"
    )]
    pub output: Option<PathBuf>,
    /// Write one file per letter into this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    /// The letter's date, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// text, eml (one message, for `sendmail -t`), mbox (many messages),
    /// json (one object per line) or pdf (to print, for a window
    /// envelope; a call sheet for an office with only a phone). Default:
    /// from -o's extension, else text.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The paper of --format pdf. Default: letter when the signer's
    /// country (a petition's: --country) is US or CA, else a4.
    #[arg(long, value_enum)]
    pub paper: Option<Paper>,
    /// With --format pdf: N empty signature sheets after each letter
    /// (numbered lines; name, organisation, signature), to collect
    /// signatures by hand.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=500))]
    pub blank_sheets: u16,
}

/// `--paper`: the sheet a PDF letter is laid out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Paper {
    /// A4, 210 × 297 mm, address where a DIN 5008 (form B) window is.
    A4,
    /// US Letter, 8.5 × 11 in, address where a #10 envelope's window is.
    Letter,
}

impl Paper {
    /// The paper a signer from `country` (ISO code) uses: Letter in the
    /// US and Canada, A4 everywhere else.
    pub fn for_country(country: &str) -> Paper {
        if ["US", "CA"].iter().any(|c| country.eq_ignore_ascii_case(c)) {
            Paper::Letter
        } else {
            Paper::A4
        }
    }
}

/// Email options shared by `write` and `send`.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Email")]
pub struct EmailArgs {
    /// Send yourself a blind copy, as proof of sending (`--copy-to-self`
    /// too). It counts in a provider's limits; in eml/mbox it is a Bcc
    /// header, which `sendmail -t` delivers and strips; `send` puts it in
    /// the envelope only.
    #[arg(long, visible_alias = "copy-to-self")]
    pub bcc_me: bool,
    /// The embassy's address, for a country the campaign does not list.
    #[arg(long, value_name = "ADDRESS")]
    pub embassy_email: Option<String>,
}

/// `--timeout`: a positive number of seconds, decimals allowed.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 86400 (e.g. 60 or 2.5)"
        )),
    }
}

/// `--retry-for`: 0, or a number with s, m or h (a bare number is seconds).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let scale = match unit {
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n >= 0.0 && (n * scale) <= 7.0 * 86_400.0 => {
            Ok(std::time::Duration::from_secs_f64(n * scale))
        }
        _ => Err(format!(
            "`{text}` is not a duration up to a week: 0, 90s, 5m or 1h"
        )),
    }
}

/// `--auth` (and `auth` under `[smtp]` in the profile): the SASL
/// mechanism to log in with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpAuth {
    /// Choose from the server's EHLO reply (an OAuth2 mechanism when the
    /// server offers no other, or the secret is an access token).
    #[default]
    Auto,
    /// AUTH PLAIN with a password.
    Plain,
    /// AUTH LOGIN with a password.
    Login,
    /// SASL XOAUTH2 with an OAuth2 access token (Google, Microsoft).
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with an OAuth2 access token.
    Oauthbearer,
}

impl SmtpAuth {
    /// Whether the secret is an OAuth2 access token, not a password.
    pub fn takes_token(self) -> bool {
        matches!(self, SmtpAuth::Xoauth2 | SmtpAuth::Oauthbearer)
    }
}

/// How letters are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The letter as plain text, for reading, printing or pasting.
    Text,
    /// One RFC 5322 message (`| sendmail -t`).
    Eml,
    /// Many messages in one mbox stream (mboxrd quoting).
    Mbox,
    /// One JSON object per line: recipient, envelope, subject, body.
    Json,
    /// A PDF to print: one letter a page or more, for a window envelope.
    Pdf,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Eml => "eml",
            Format::Mbox => "mbox",
            Format::Json => "json",
            Format::Pdf => "pdf",
        }
    }

    /// Whether letters in this format are emails (need From, skip
    /// recipients without an address).
    pub fn is_email(self) -> bool {
        !matches!(self, Format::Text | Format::Pdf)
    }

    /// The format a file name asks for (`-o letter.eml`).
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "eml" => Some(Format::Eml),
            "mbox" => Some(Format::Mbox),
            "json" | "jsonl" | "ndjson" => Some(Format::Json),
            "txt" => Some(Format::Text),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// `--reply-to`: where replies to a member's letter sent from the branch's
/// account go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplyTo {
    /// Reply-To is the member's address.
    Member,
    /// No Reply-To; the member's address is printed under the signature.
    /// The default: most members' addresses are freemail, and a freemail
    /// Reply-To on mail From another domain is what SpamAssassin's
    /// FREEMAIL_FORGED_REPLYTO scores (measured in tests/e2e/postfix.sh).
    #[default]
    None,
}
