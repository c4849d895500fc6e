//! `init`: a campaign folder of one's own, for someone who has only the
//! binary. Either the built-in campaign's files (to adapt), or a blank
//! skeleton whose comments explain every key. An existing file is never
//! replaced: if any would be, nothing is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::campaign::Sources;
use crate::error::{ExitStatus, runtime};
use crate::output::write_atomic;
use crate::settings::InitSettings;

const BLANK_RECIPIENTS: &str = include_str!("blank/recipients.toml");
const BLANK_LETTER: &str = include_str!("blank/letter.txt");

/// The files of the new campaign: path inside the folder, and text.
pub fn files(blank: bool) -> Vec<(PathBuf, String)> {
    if blank {
        return vec![
            ("recipients.toml".into(), BLANK_RECIPIENTS.to_string()),
            (
                Path::new("letters").join("letter.txt"),
                BLANK_LETTER.to_string(),
            ),
        ];
    }
    let built_in = Sources::embedded();
    let mut files = vec![("recipients.toml".into(), built_in.recipients.text.clone())];
    for letter in &built_in.letters {
        let name = Sources::file_name(letter);
        files.push((Path::new("letters").join(name), letter.text.clone()));
    }
    files
}

pub fn run(s: &InitSettings, quiet: bool, stdout: &mut dyn Write) -> Result<ExitStatus> {
    let files = files(s.blank);
    if s.dir.exists() && !s.dir.is_dir() {
        bail!(
            "{} exists and is not a folder; give init a new or empty folder",
            s.dir.display()
        );
    }
    let existing: Vec<String> = files
        .iter()
        .filter(|(rel, _)| std::fs::symlink_metadata(s.dir.join(rel)).is_ok())
        .map(|(rel, _)| s.shown.join(rel).display().to_string())
        .collect();
    if !existing.is_empty() {
        let named = match existing.as_slice() {
            [one] => format!("{one} already exists"),
            [a, b] => format!("{a} and {b} already exist"),
            [a, rest @ ..] => format!("{a} and {} other files already exist", rest.len()),
            [] => String::new(),
        };
        bail!(
            "{named}; nothing was written. init never replaces a file: give it a new or empty folder"
        );
    }
    let letters = s.dir.join("letters");
    std::fs::create_dir_all(&letters).map_err(|e| {
        runtime(anyhow::Error::new(e).context(format!("cannot create {}", letters.display())))
    })?;
    for (rel, text) in &files {
        write_atomic(&s.dir.join(rel), text.as_bytes(), false)?;
    }
    if !quiet {
        next_steps(s, &files, stdout).map_err(|e| runtime(e.into()))?;
    }
    Ok(ExitStatus::Success)
}

/// What was written, and the commands to run next.
fn next_steps(
    s: &InitSettings,
    files: &[(PathBuf, String)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let here = s.shown == Path::new(".");
    let shown = |rel: &Path| {
        if here {
            rel.display().to_string()
        } else {
            s.shown.join(rel).display().to_string()
        }
    };
    let what = if s.blank {
        "a blank campaign"
    } else {
        "a copy of the built-in campaign"
    };
    let folder = if here {
        "this folder".to_string()
    } else {
        s.shown.display().to_string()
    };
    writeln!(out, "Wrote {what} in {folder}:")?;
    for (rel, _) in files {
        writeln!(out, "  {}", shown(rel))?;
    }
    let pl = if here {
        "protest-letter".to_string()
    } else {
        format!(
            "protest-letter --campaign {}",
            shell_quote(&s.shown.display().to_string())
        )
    };
    let recipients = shown(Path::new("recipients.toml"));
    writeln!(out)?;
    writeln!(out, "Next steps:")?;
    writeln!(
        out,
        "  1. Edit {recipients}: replace every …@placeholder.invalid address with a real, verified one{}.",
        if s.blank {
            format!(
                ", and write your letter in {}",
                shown(&Path::new("letters").join("letter.txt"))
            )
        } else {
            String::new()
        }
    )?;
    // The copy is a record of 2011: `send` refuses it until the dates move.
    if let Some(deadline) = files.first().and_then(|(_, text)| deadline_in(text)) {
        writeln!(
            out,
            "     Then set `deadline` in [campaign] to your campaign's last day (e.g. 2030-12-31), or delete it:\n     \
             `send` refuses after the copy's {deadline}; a letter's `valid_until` works the same way."
        )?;
    }
    writeln!(out, "  2. Check the campaign:      {pl} check")?;
    writeln!(
        out,
        "  3. Read a letter:           {pl} write --name \"Your Name\""
    )?;
    writeln!(
        out,
        "  4. See what would be sent:  {pl} send --dry-run --name \"Your Name\" --email you@example.org"
    )?;
    Ok(())
}

/// The `deadline = …` of a recipients.toml's text, if it sets one.
fn deadline_in(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("deadline"))
        .and_then(|rest| rest.trim_start().strip_prefix('='))
        .map(str::trim)
}

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+,:@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("my-campaign"), "my-campaign");
        assert_eq!(shell_quote("My Campaign"), "'My Campaign'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_deadline_is_found_and_a_commented_one_is_not() {
        assert_eq!(
            deadline_in("[campaign]\ndeadline = 2011-12-31\n"),
            Some("2011-12-31")
        );
        assert_eq!(deadline_in("# deadline = 2030-12-31\n"), None);
    }

    #[test]
    fn the_copy_is_the_built_in_campaign() {
        let files = files(false);
        assert_eq!(files[0].1, Sources::embedded().recipients.text);
        assert!(files.iter().any(|(p, _)| p.ends_with("_signature.txt")));
        assert_eq!(files.len(), 1 + Sources::embedded().letters.len());
    }
}
