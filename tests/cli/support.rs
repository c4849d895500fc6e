//! Shared helpers: a throw-away copy of the default campaign and commands
//! for the real binary that never see the developer's own settings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Letter, recipient, name and organisation used by most tests.
pub const NAME: &str = "Jo Bloggs";
pub const ORGANISATION: &str = "Unite Branch 42";
pub const DATE: &str = "2026-11-22";

/// A temporary folder holding `campaign/` (a copy of the repository's
/// default campaign), an empty working folder `work/` and config folders.
pub struct TestCampaign {
    root: TempDir,
}

impl TestCampaign {
    /// Copies recipients.toml and letters/*.txt so tests can break them freely.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("create a temporary folder");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let campaign = root.path().join("campaign");
        std::fs::create_dir_all(campaign.join("letters")).unwrap();
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        std::fs::copy(
            repo.join("recipients.toml"),
            campaign.join("recipients.toml"),
        )
        .unwrap();
        for entry in std::fs::read_dir(repo.join("letters")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "txt") {
                std::fs::copy(
                    &path,
                    campaign.join("letters").join(path.file_name().unwrap()),
                )
                .unwrap();
            }
        }
        TestCampaign { root }
    }

    /// A copy whose placeholder addresses are in `domain` instead, so that
    /// `send` accepts them (tests only ever mail a local server).
    /// The built-in campaign is a historical example past its deadline,
    /// which `send` refuses; this copy is made live again (deadline 2099).
    pub fn with_real_addresses(domain: &str) -> Self {
        let campaign = TestCampaign::new();
        campaign.replace_all("recipients.toml", "placeholder.invalid", domain);
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

    /// The binary, isolated: run in `work/`, no PROTEST_LETTER_* variables,
    /// a profile path that does not exist and config folders in the temp dir.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("protest-letter"));
        let ours: Vec<OsString> = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_string_lossy().starts_with("PROTEST_LETTER_"))
            .collect();
        for key in ours {
            cmd.env_remove(key);
        }
        cmd.env_remove("SOURCE_DATE_EPOCH")
            .env(
                "PROTEST_LETTER_PROFILE",
                self.root().join("no-profile.toml"),
            )
            .env("XDG_CONFIG_HOME", self.root().join("config"))
            .env("XDG_DATA_HOME", self.root().join("data"))
            .current_dir(self.work());
        cmd
    }

    /// [`Self::std_cmd`] as an `assert_cmd::Command` (built-in campaign).
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// [`Self::cmd`] pointed at this temporary campaign.
    pub fn campaign_cmd(&self) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.arg("--campaign").arg(self.dir());
        cmd
    }
}

/// Output as text, for messages that may go to either stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Both streams of a finished command, for "the output names …" checks.
pub fn all_output(output: &std::process::Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}
