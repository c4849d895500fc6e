//! Where a campaign's files come from: a folder on disk, or the default
//! campaign compiled into the binary.
//!
//! This is the only part of `campaign` that touches the file system; the
//! rest parses the texts gathered here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fs_err as fs;

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
        let recipients = read_text(&recipients_path).with_context(|| {
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
            .map(|p| read_text(p))
            .collect::<Result<Vec<_>>>()?;
        Ok(Sources {
            root: Some(dir.to_path_buf()),
            recipients,
            letters,
        })
    }

    /// File name inside `letters/` of a letter source (`sokolova.txt`).
    pub fn file_name(file: &SourceFile) -> &str {
        file.name.rsplit(['/', '\\']).next().unwrap_or(&file.name)
    }
}

fn read_text(path: &Path) -> Result<SourceFile> {
    let bytes = fs::read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{} is not valid UTF-8: {e}", path.display()))?;
    Ok(SourceFile {
        name: path.display().to_string(),
        text,
    })
}
