//! Where finished letters go, and in what form: standard output, one file,
//! or one file per letter in a folder.

mod files;

use std::io::Write;

use anyhow::Result;

pub use files::{UniqueNames, create_dir, ensure_absent, slug, write_atomic};

use crate::error::runtime;
use crate::render::Rendered;
use crate::settings::{OutputSettings, Target};

/// Separates letters in one text stream: a form feed starts a new page
/// when printed.
const PAGE_BREAK: &str = "\x0c\n";

/// Writes text letters to the chosen target.
pub fn write_text(
    letters: &[Rendered],
    settings: &OutputSettings,
    stdout: &mut dyn Write,
) -> Result<Vec<String>> {
    match &settings.target {
        Target::Stdout => {
            let mut bytes = Vec::new();
            text_stream(letters, &mut bytes)?;
            stdout.write_all(&bytes).map_err(|e| runtime(e.into()))?;
            stdout.flush().map_err(|e| runtime(e.into()))?;
            Ok(Vec::new())
        }
        Target::File(path) => {
            ensure_absent(std::slice::from_ref(path), settings.force)?;
            let mut bytes = Vec::new();
            text_stream(letters, &mut bytes)?;
            write_atomic(path, &bytes, settings.force)?;
            Ok(vec![path.display().to_string()])
        }
        Target::Dir(dir) => {
            let mut names = UniqueNames::default();
            let paths: Vec<_> = letters
                .iter()
                .map(|l| dir.join(names.name(&file_stem(l), "txt")))
                .collect();
            ensure_absent(&paths, settings.force)?;
            create_dir(dir)?;
            for (letter, path) in letters.iter().zip(&paths) {
                write_atomic(path, letter.body.as_bytes(), settings.force)?;
            }
            Ok(paths.iter().map(|p| p.display().to_string()).collect())
        }
    }
}

/// All letters as one text stream, page breaks between them.
fn text_stream(letters: &[Rendered], out: &mut Vec<u8>) -> Result<()> {
    for (i, letter) in letters.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(PAGE_BREAK.as_bytes());
        }
        out.extend_from_slice(letter.body.as_bytes());
    }
    Ok(())
}

/// `letter-recipient[-country][-signer]`: readable and safe on any disk.
pub fn file_stem(letter: &Rendered) -> String {
    let mut parts = vec![slug(&letter.letter_id), slug(&letter.recipient.id)];
    if let Some(country) = &letter.recipient.country {
        parts.push(slug(country));
    }
    parts.join("-")
}
