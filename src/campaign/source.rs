//! Where a campaign's files come from: a folder on disk, or the default
//! campaign compiled into the binary.
//!
//! This is the only part of `campaign` that touches the file system; the
//! rest parses the texts gathered here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fs_err as fs;

use crate::campaign::diagnostic::{Problem, Severity};

/// A campaign file's display name (as shown in errors) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// All the texts of one campaign.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The folder, or `None` for the built-in campaign.
    pub root: Option<PathBuf>,
    pub recipients: SourceFile,
    /// `letters/*.txt`, sorted by file name.
    pub letters: Vec<SourceFile>,
    /// Files that are not UTF-8 (read with U+FFFD for the bad bytes, so the
    /// rest of them is still checked).
    pub problems: Vec<Problem>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_campaign.rs"));
}

impl Sources {
    /// The Kazakhstan campaign shipped inside the binary.
    pub fn embedded() -> Self {
        Sources {
            root: None,
            recipients: SourceFile {
                name: "<built-in>/recipients.toml".into(),
                text: embedded::RECIPIENTS.to_string(),
            },
            letters: embedded::LETTERS
                .iter()
                .map(|(file, text)| SourceFile {
                    name: format!("<built-in>/letters/{file}"),
                    text: text.to_string(),
                })
                .collect(),
            problems: Vec::new(),
        }
    }

    /// Reads `dir/recipients.toml` and every `dir/letters/*.txt`.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            anyhow::bail!(
                "campaign folder {} does not exist; give --campaign a folder holding recipients.toml and letters/",
                dir.display()
            );
        }
        let recipients_path = dir.join("recipients.toml");
        let mut problems = Vec::new();
        let recipients = read_text(&recipients_path, &mut problems).with_context(|| {
            format!(
                "{} is not a campaign folder: it needs a recipients.toml and a letters/ folder",
                dir.display()
            )
        })?;
        let letters_dir = dir.join("letters");
        let mut paths = Vec::new();
        for entry in fs::read_dir(&letters_dir).with_context(|| {
            format!(
                "a campaign needs a letters/ folder beside {}",
                recipients_path.display()
            )
        })? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "txt") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let letters = paths
            .iter()
            .map(|p| read_text(p, &mut problems))
            .collect::<Result<Vec<_>>>()?;
        Ok(Sources {
            root: Some(dir.to_path_buf()),
            recipients,
            letters,
            problems,
        })
    }

    /// File name inside `letters/` of a letter source (`sokolova.txt`).
    pub fn file_name(file: &SourceFile) -> &str {
        file.name.rsplit(['/', '\\']).next().unwrap_or(&file.name)
    }
}

/// Reads a campaign file; bytes that are not UTF-8 (a file saved as
/// Latin-1) are a problem at their line and column, not a byte index.
fn read_text(path: &Path, problems: &mut Vec<Problem>) -> Result<SourceFile> {
    let bytes = fs::read(path)?;
    let name = path.display().to_string();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let bad = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // The same place in the lossy text: everything before is valid.
            let at = bad;
            let byte = bytes.get(bad).copied().unwrap_or_default();
            problems.push(
                Problem::at(
                    Severity::Error,
                    &name,
                    &text,
                    at..at + '\u{fffd}'.len_utf8(),
                    format!("the file is not UTF-8: byte 0x{byte:02X} here is not valid text"),
                )
                .with_help(
                    "save the file as UTF-8 (it looks like Latin-1 or Windows-1252); \
                     e.g. `iconv -f latin1 -t utf-8 FILE > FILE.new`",
                ),
            );
            text
        }
    };
    Ok(SourceFile { name, text })
}
