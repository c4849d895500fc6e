//! The one place fixtures are built: a throw-away copy of the default
//! campaign, the real binary run on it with an environment of its own,
//! `send` put together flag by flag, how a run ended and what it printed,
//! and mail parsed back with mail-parser.
//!
//! Servers are the test's own: it starts an [`SmtpServer`] (127.0.0.1 only)
//! and stops it, or it is stopped when the test drops it.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mail_parser::{Address, MessageParser};
use serde_json::Value;
use tempfile::TempDir;

use crate::smtp_server::{ServerConfig, SmtpServer};

/// Letter, recipient, name and organisation used by most tests.
pub const NAME: &str = "Jo Bloggs";
pub const ORGANISATION: &str = "Unite Branch 42";
pub const DATE: &str = "2026-11-22";
/// Where [`TestCampaign::sendable`] addresses its letters.
pub const DOMAIN: &str = "kz-gov.org";
/// The signer's own address when sending.
pub const EMAIL: &str = "jo@solidarity-union.org";
/// The branch account a members' list is sent from.
pub const ACCOUNT: &str = "sec@union.org";
/// The password test servers ask for.
pub const PASSWORD: &str = "Tr0ub4dor-and-3";
pub const COURT: &str = "supreme-court@kz-gov.org";
pub const MINISTRY: &str = "foreign-ministry@kz-gov.org";
/// One signer by email, in Britain: the default letter's three emails.
/// Every command of the tool (each `--help` has examples).
pub const COMMANDS: [&str; 7] = [
    "list",
    "check",
    "write",
    "send",
    "init",
    "completions",
    "man",
];
pub const SIGNER: [&str; 6] = ["--name", NAME, "--email", EMAIL, "--country", "GB"];
/// The longest a run may take before it counts as hung and is killed.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// A temporary folder holding `campaign/` (a copy of the repository's
/// default campaign), an empty working folder `work/`, a home folder and
/// config folders.
pub struct TestCampaign {
    root: TempDir,
}

impl TestCampaign {
    /// Copies recipients.toml and letters/*.txt so tests can break them freely.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("create a temporary folder");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let campaign = root.path().join("campaign");
        for dir in ["campaign/letters", "work", "home"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        std::fs::copy(
            repo.join("recipients.toml"),
            campaign.join("recipients.toml"),
        )
        .unwrap();
        for entry in std::fs::read_dir(repo.join("letters")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "txt") {
                let name = path.file_name().unwrap();
                std::fs::copy(&path, campaign.join("letters").join(name)).unwrap();
            }
        }
        TestCampaign { root }
    }

    /// A campaign of the test's own: this recipients.toml and these
    /// `(file name, text)` letters, nothing of the built-in one.
    pub fn custom(recipients: &str, letters: &[(&str, &str)]) -> Self {
        let tc = TestCampaign::new();
        for entry in std::fs::read_dir(tc.dir().join("letters")).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        tc.write("recipients.toml", recipients);
        for (file, text) in letters {
            tc.write(&format!("letters/{file}"), text);
        }
        tc
    }

    /// Adds a recipient reached only by post, `court-registry`.
    pub fn add_postal_recipient(&self) -> &Self {
        let toml = self.read("recipients.toml");
        self.write(
            "recipients.toml",
            &format!(
                "{toml}\n[[recipient]]\nid = \"court-registry\"\nname = \"Court Registry\"\n\
                 salutation = \"Dear Sir or Madam\"\naddress = [\"1 Court Street\", \"Astana\"]\n"
            ),
        )
    }

    /// A copy of the built-in campaign with the first `from` in `file`
    /// replaced by `to` (see [`Self::replace`]).
    pub fn edited(file: &str, from: &str, to: &str) -> Self {
        let tc = TestCampaign::new();
        tc.replace(file, from, to);
        tc
    }

    /// What `send` tests start from: a copy whose placeholder addresses
    /// are in [`DOMAIN`] instead, so that `send` accepts them (tests only
    /// ever mail a local server). The built-in campaign is a historical
    /// example past its deadline, which `send` refuses; this copy is made
    /// live again (deadline 2099).
    pub fn sendable() -> Self {
        let campaign = TestCampaign::new();
        campaign.replace_all("recipients.toml", "placeholder.invalid", DOMAIN);
        campaign.replace(
            "recipients.toml",
            "deadline = 2011-12-31",
            "deadline = 2099-12-31",
        );
        campaign
    }

    /// Replaces every `from` in a campaign file, which must contain it.
    pub fn replace_all(&self, file: &str, from: &str, to: &str) -> &Self {
        let text = self.read(file);
        assert!(text.contains(from), "{file} no longer contains {from:?}");
        self.write(file, &text.replace(from, to))
    }

    /// The temporary root, for files beside the campaign (profiles, outputs).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `name` in the temporary root.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    /// Writes a file beside the campaign (a list, a certificate, a
    /// profile); returns its path.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Writes a file into the working folder; returns its path.
    pub fn work_file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.work().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The campaign folder (pass it with `--campaign`).
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("campaign")
    }

    /// The empty folder commands run in, so the built-in campaign is used.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// A campaign file's text (`"letters/sokolova.txt"`).
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir().join(file)).unwrap()
    }

    /// Replaces a campaign file's whole text.
    pub fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.dir().join(file), text).unwrap();
        self
    }

    /// Replaces the first `from` in a campaign file, which must contain it,
    /// so a changed default campaign breaks the test loudly, not silently.
    pub fn replace(&self, file: &str, from: &str, to: &str) -> &Self {
        let text = self.read(file);
        assert!(text.contains(from), "{file} no longer contains {from:?}");
        self.write(file, &text.replacen(from, to, 1))
    }

    /// 1-based number of the first line of a campaign file containing `needle`.
    pub fn line_of(&self, file: &str, needle: &str) -> usize {
        self.read(file)
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{file} has no line with {needle:?}"))
            + 1
    }

    /// `line:column` (1-based, in characters) where `needle` first stands
    /// in `file`, as diagnostics print it.
    pub fn place_of(&self, file: &str, needle: &str) -> String {
        let line = self.line_of(file, needle);
        let text = self.read(file);
        let line_text = text.lines().nth(line - 1).unwrap_or_default();
        let byte = line_text.find(needle).unwrap_or_default();
        format!("{line}:{}", line_text[..byte].chars().count() + 1)
    }

    /// The binary, isolated: run in `work/`, no PROTEST_LETTER_* variables
    /// of the caller's, a profile path that does not exist, home and config
    /// folders in the temp dir, and retries 10 ms apart.
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("protest-letter"));
        let ours: Vec<OsString> = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_string_lossy().starts_with("PROTEST_LETTER_"))
            .collect();
        for key in ours {
            cmd.env_remove(key);
        }
        cmd.env_remove("SOURCE_DATE_EPOCH")
            .env("PROTEST_LETTER_PROFILE", self.path("no-profile.toml"))
            .env("PROTEST_LETTER_RETRY_DELAY_MS", "10")
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("HOME", self.path("home"))
            .env("LC_ALL", "C.UTF-8")
            .current_dir(self.work());
        cmd
    }

    /// [`Self::std_cmd`] pointed at this temporary campaign.
    pub fn campaign_std_cmd(&self) -> Command {
        let mut cmd = self.std_cmd();
        cmd.arg("--campaign").arg(self.dir());
        cmd
    }

    /// [`Self::std_cmd`] as an `assert_cmd::Command` (built-in campaign),
    /// killed if it runs past [`RUN_LIMIT`].
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.timeout(RUN_LIMIT);
        cmd
    }

    /// [`Self::cmd`] pointed at this temporary campaign.
    pub fn campaign_cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.arg("--campaign").arg(self.dir());
        cmd
    }

    /// `send` of this campaign, journalled in the temp root: add the
    /// signer, the transport and the flags.
    pub fn send(&self) -> Sending {
        self.send_with_journal(&self.journal())
    }

    /// [`Self::send`] with the journal at `journal`.
    pub fn send_with_journal(&self, journal: &Path) -> Sending {
        let mut cmd = self.campaign_std_cmd();
        cmd.arg("send").arg("--journal").arg(journal);
        // Five quick tries, not five minutes of them; a test of
        // --retry-for gives its own (the last one given counts).
        cmd.args(["--retry-for", "0"]);
        Sending(cmd)
    }

    /// Where [`Self::send`] keeps its journal.
    pub fn journal(&self) -> PathBuf {
        self.path("journal.jsonl")
    }

    /// The journal's text; empty if there is none yet.
    pub fn journal_text(&self) -> String {
        std::fs::read_to_string(self.journal()).unwrap_or_default()
    }

    /// The journal's records, each line of which must be JSON.
    pub fn journal_records(&self) -> Vec<Value> {
        self.journal_text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The journal's records of one kind (`"sent"`, `"failed"`, …).
    pub fn journal_events(&self, event: &str) -> Vec<Value> {
        let records = self.journal_records().into_iter();
        records.filter(|r| r["event"] == event).collect()
    }

    /// Writes an executable file without this (multi-threaded) process ever
    /// holding it open for writing, so a concurrent fork cannot make its
    /// exec fail with "Text file busy".
    fn script(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        let status = Command::new("sh")
            .arg("-c")
            .arg("printf '%s' \"$2\" > \"$1\" && chmod 755 \"$1\"")
            .arg("sh")
            .arg(&path)
            .arg(text)
            .status()
            .unwrap();
        assert!(status.success());
        path
    }

    /// A sendmail stand-in: saves its arguments (one per line) and its
    /// stdin, one pair of files per call in the returned folder, then runs
    /// `then` (`exit 0`, `exit 75`, …). Returns (program, folder).
    pub fn fake_sendmail(&self, then: &str) -> (PathBuf, PathBuf) {
        let calls = self.path("calls");
        std::fs::create_dir_all(&calls).unwrap();
        let script = format!(
            "#!/bin/sh\n\
             dir='{}'\n\
             n=$(ls \"$dir\" | grep -c '^args' || true)\n\
             n=$((n + 1))\n\
             printf '%s\\n' \"$@\" > \"$dir/args.$n\"\n\
             cat > \"$dir/stdin.$n\"\n\
             {then}\n",
            calls.display()
        );
        (self.script("fake-sendmail", &script), calls)
    }
}

/// (arguments, message) of each call of a [`TestCampaign::fake_sendmail`],
/// in call order.
pub fn sendmail_calls(calls: &Path) -> Vec<(Vec<String>, Vec<u8>)> {
    let mut out = Vec::new();
    for n in 1.. {
        let args = calls.join(format!("args.{n}"));
        if !args.exists() {
            break;
        }
        let args = std::fs::read_to_string(args).unwrap();
        let stdin = std::fs::read(calls.join(format!("stdin.{n}"))).unwrap();
        out.push((args.lines().map(str::to_string).collect(), stdin));
    }
    out
}

/// A [`TestCampaign::sendable`] campaign and a test server started with
/// `config`, which the test stops (or drops) when it is done.
pub fn serving(config: ServerConfig) -> (TestCampaign, SmtpServer) {
    (TestCampaign::sendable(), SmtpServer::start(config))
}

/// `send` being put together; a `Command` underneath, so `arg`, `env`,
/// `spawn` and [`Runs`] work on it as they are.
pub struct Sending(Command);

impl Sending {
    /// Adds arguments, keeping the builder.
    pub fn with<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.0.args(args);
        self
    }

    /// One signer: [`SIGNER`].
    pub fn signer(self) -> Self {
        self.with(SIGNER)
    }

    /// A members' list signed from the branch account, dated [`DATE`].
    pub fn members(self, list: impl AsRef<OsStr>) -> Self {
        self.with([OsStr::new("--signatories"), list.as_ref()])
            .with(["--email", ACCOUNT, "--organisation", ORGANISATION])
            .with(["--date", DATE])
    }

    /// Through the test server, without a login.
    pub fn smtp(self, server: &SmtpServer) -> Self {
        self.with(["--smtp", &server.url()])
    }

    /// Through a sendmail-like program.
    pub fn sendmail(self, program: &Path) -> Self {
        self.with([OsStr::new("--sendmail"), program.as_os_str()])
    }

    /// Unattended, with the summary as JSON on stdout.
    pub fn json(self) -> Self {
        self.with(["--yes", "--format", "json"])
    }
}

impl Deref for Sending {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.0
    }
}

impl DerefMut for Sending {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.0
    }
}

/// A letter to the Supreme Court from Britain, unattended, with `words`
/// (who signs, how it goes).
pub fn to_the_court(f: &TestCampaign, words: &[&str]) -> Run {
    f.send()
        .with(["--to", "supreme-court", "--country", "GB", "--yes"])
        .with(words)
        .run()
}

/// The items of a JSON array, which `value` must be.
pub fn array(value: &Value) -> &[Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
}

/// The strings of a JSON array of strings.
pub fn texts(value: &Value) -> Vec<&str> {
    array(value).iter().map(|v| v.as_str().unwrap()).collect()
}

/// The names of the entries of `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `Member 1 … Member n` with their own addresses, all in Britain.
pub fn members_csv(n: usize) -> String {
    let mut out = String::from("name,organisation,email,country\n");
    for i in 1..=n {
        out.push_str(&format!("Member {i},,{},GB\n", member_email(i)));
    }
    out
}

/// The address of `Member i` in [`members_csv`].
pub fn member_email(i: usize) -> String {
    format!("member{i}@union.org")
}

/// How a run of the binary ended and what it printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    fn new(output: Output, took: Duration) -> Run {
        let utf8 = |bytes: Vec<u8>, what| {
            String::from_utf8(bytes).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"))
        };
        Run {
            code: output.status.code().expect("killed by a signal"),
            stdout: utf8(output.stdout, "stdout"),
            stderr: utf8(output.stderr, "stderr"),
            took,
        }
    }

    /// Both streams, for "nothing shows the secret" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Standard output as one JSON document (a `send --format json` summary).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// Checks numbers of the JSON summary on stdout (`("sent", 3)`, …);
    /// returns the summary.
    #[track_caller]
    pub fn counts(&self, expected: &[(&str, u64)]) -> Value {
        let summary = self.json();
        for (key, n) in expected {
            assert_eq!(summary[key], *n, "{key}: {self:?}");
        }
        summary
    }

    /// Checks that standard error contains `needle`.
    #[track_caller]
    pub fn says(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "{needle:?}: {self:?}");
        self
    }

    /// Checks that standard output contains `needle`.
    #[track_caller]
    pub fn prints(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "{needle:?}: {self:?}");
        self
    }

    /// Checks that nothing went to standard output.
    #[track_caller]
    pub fn no_stdout(&self) -> &Self {
        assert!(self.stdout.is_empty(), "stdout must be empty: {self:?}");
        self
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// Runs a command to its end, on either kind of command.
pub trait Runs {
    /// Whatever the exit code.
    fn run(&mut self) -> Run;

    /// Checks that it exited 0.
    #[track_caller]
    fn succeeds(&mut self) -> Run {
        self.exits(0)
    }

    /// Checks its exit code.
    #[track_caller]
    fn exits(&mut self, code: i32) -> Run {
        let run = self.run();
        assert_eq!(run.code, code, "{run:?}");
        run
    }
}

impl Runs for Command {
    /// As `output()` does (no stdin), but a run past [`RUN_LIMIT`] is killed.
    fn run(&mut self) -> Run {
        let started = Instant::now();
        let mut child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start protest-letter");
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = wait_with_timeout(&mut child, RUN_LIMIT);
        let output = Output {
            status: status.unwrap_or_else(|| panic!("still running after {RUN_LIMIT:?}")),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        Run::new(output, started.elapsed())
    }
}

impl Runs for assert_cmd::Command {
    fn run(&mut self) -> Run {
        let started = Instant::now();
        Run::new(
            self.output().expect("run protest-letter"),
            started.elapsed(),
        )
    }
}

/// Reads a child's pipe to its end on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).unwrap();
        }
        bytes
    })
}

/// The child's exit status, or `None` (and the child killed) if it runs
/// past `limit`.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Output as text, for messages that may go to either stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One email as its reader sees it, parsed with mail-parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The first From mailbox's display name.
    pub from_name: String,
    /// Every address of each header, as written.
    pub from: Vec<String>,
    pub to: Vec<String>,
    /// The first To mailbox's display name, decoded.
    pub to_name: String,
    pub cc: Vec<String>,
    /// A Bcc header, even an empty one, is there.
    pub has_bcc: bool,
    pub reply_to_name: String,
    pub reply_to: String,
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    pub body: String,
    /// The member a batch letter is from, in lower case: Reply-To, else an
    /// address alone on the letter's last line (under the signature);
    /// empty for a letter of one's own or a petition.
    pub member: String,
}

/// Parses one message, which must parse.
pub fn mail(bytes: &[u8]) -> Mail {
    let m = MessageParser::default()
        .parse(bytes)
        .unwrap_or_else(|| panic!("mail-parser cannot parse:\n{}", text(bytes)));
    let addresses = |a: Option<&Address<'_>>| -> Vec<String> {
        a.map(|a| a.iter().filter_map(|x| x.address()).map(str::to_string))
            .into_iter()
            .flatten()
            .collect()
    };
    let name = |a: Option<&Address<'_>>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.name())
            .unwrap_or_default()
            .to_string()
    };
    let body = m.body_text(0).unwrap_or_default().into_owned();
    let reply_to = addresses(m.reply_to())
        .into_iter()
        .next()
        .unwrap_or_default();
    let under_signature = body
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        .filter(|l| l.contains('@') && !l.contains(' '))
        .unwrap_or_default();
    Mail {
        from_name: name(m.from()),
        from: addresses(m.from()),
        to: addresses(m.to()),
        to_name: name(m.to()),
        cc: addresses(m.cc()),
        has_bcc: m.bcc().is_some() || m.header_raw("Bcc").is_some(),
        reply_to_name: name(m.reply_to()),
        member: if reply_to.is_empty() {
            under_signature.to_lowercase()
        } else {
            reply_to.to_lowercase()
        },
        reply_to,
        subject: m.subject().unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        body,
    }
}

impl Mail {
    /// The member's name: Reply-To's, else From's without
    /// ` via ORGANISATION`.
    pub fn member_name(&self) -> String {
        if !self.reply_to_name.is_empty() {
            return self.reply_to_name.clone();
        }
        let via = format!(" via {ORGANISATION}");
        self.from_name
            .strip_suffix(&via)
            .unwrap_or_default()
            .to_string()
    }
}

/// Checks that every word of `want` is among the words of `got`, in the
/// same order (`got` may have more: a PDF's headers, a second column).
#[track_caller]
pub fn words_in_order(want: &str, got: &str) {
    let mut words = got.split_whitespace();
    for (n, word) in want.split_whitespace().enumerate() {
        assert!(
            words.any(|w| w == word),
            "word {n} `{word}` missing or out of order in:\n{got}"
        );
    }
}
