//! Where finished letters go, and in what form. A `Sink` takes letters one
//! at a time (so batches stream with flat memory) and writes them as text,
//! eml, mbox, json or pdf to standard output, one file, or a folder.

mod files;
mod formats;
pub mod pdf;

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

pub use files::{
    NOTHING_WRITTEN, UniqueNames, create_dir, create_private_dir, ensure_absent, is_special,
    open_special, private_options, slug, write_atomic, write_failed, write_private,
};
pub use formats::{mbox_separator, write_lf};

use crate::cli::Format;
use crate::error::runtime;
use crate::message::{Composed, Rendered};
use crate::settings::{OutputSettings, Target};

/// One letter on its way out; `composed` is there for the email formats.
pub struct Item<'a> {
    pub letter: &'a Rendered,
    pub composed: Option<&'a Composed>,
    /// Extra words for the file name (a batch's signer), may be empty.
    pub name_hint: &'a str,
    /// A petition's members, for its PDF's signature sheets; empty for
    /// one signer's letter.
    pub members: &'a [std::sync::Arc<crate::signers::signer::Signer>],
    /// For a PDF to an office that only takes phone calls: its call sheet,
    /// printed instead of the letter.
    pub call: Option<&'a crate::letters::call::Call>,
}

enum Destination<'a> {
    Stream(BufWriter<&'a mut dyn Write>),
    /// A batch for a stream: kept in a temporary file and copied to the
    /// stream by `finish`, so a failure part-way sends none of it.
    Spooled {
        tmp: BufWriter<std::fs::File>,
        out: Box<dyn Write + 'a>,
    },
    /// Written to a temporary file, renamed into place by `finish`.
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
    /// Something that is not a regular file (`/dev/null`, a FIFO, a
    /// terminal): written to directly, never replaced.
    Special {
        out: BufWriter<std::fs::File>,
        path: PathBuf,
    },
    /// Files are written into a hidden staging folder inside `dir` and
    /// moved into place together by `finish`.
    Dir(files::Staged),
}

/// Receives letters and writes them; call `finish` to complete the output.
pub struct Sink<'a> {
    format: Format,
    force: bool,
    destination: Destination<'a>,
    names: UniqueNames,
    count: usize,
    /// For `--format pdf`: the font, and the one PDF a stream or file
    /// gets (a folder gets one PDF per letter instead).
    printer: Option<pdf::Printer>,
    book: Option<pdf::Book>,
    /// Characters of the PDFs' text that the font cannot show.
    missing: std::collections::BTreeSet<char>,
}

impl<'a> Sink<'a> {
    /// The staging folders of killed runs that opening a folder removed.
    pub fn cleared(&self) -> &[String] {
        match &self.destination {
            Destination::Dir(staged) => &staged.cleared,
            _ => &[],
        }
    }

    /// Opens the target. Nothing is visible at a file or folder target
    /// until `finish`; with `whole` (a batch), not on standard output either.
    pub fn open(
        format: Format,
        settings: &OutputSettings,
        whole: bool,
        stdout: &'a mut dyn Write,
    ) -> Result<Self> {
        let destination = match &settings.target {
            Target::Stdout if whole => Destination::Spooled {
                tmp: spool()?,
                out: Box::new(stdout),
            },
            Target::Stdout => Destination::Stream(BufWriter::with_capacity(1 << 16, stdout)),
            Target::File(path) if path.is_dir() => bail!(
                "{} is a folder; give -o a file name, or use --out-dir for one file per letter",
                path.display()
            ),
            Target::File(path) if whole && files::is_special(path)? => Destination::Spooled {
                tmp: spool()?,
                out: Box::new(files::open_special(path)?),
            },
            Target::File(path) if files::is_special(path)? => Destination::Special {
                out: BufWriter::with_capacity(1 << 16, files::open_special(path)?),
                path: path.clone(),
            },
            Target::File(path) => {
                // Through a symbolic link, the file it points to is replaced,
                // not the link.
                let path = &files::resolve_link(path)?;
                ensure_absent(std::slice::from_ref(path), settings.force)?;
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if !dir.is_dir() {
                    bail!("folder {} does not exist; create it first", dir.display());
                }
                let tmp = files::letter_tempfile()
                    .tempfile_in(&dir)
                    .map_err(|e| write_failed(e, path, NOTHING_WRITTEN))?;
                Destination::File {
                    tmp: BufWriter::with_capacity(1 << 16, tmp),
                    path: path.clone(),
                }
            }
            Target::Dir(dir) => {
                if format == Format::Mbox {
                    bail!(
                        "mbox is a single stream: use -o FILE.mbox (or standard output) instead of --out-dir"
                    );
                }
                Destination::Dir(files::Staged::new(dir, settings.force)?)
            }
        };
        let printer = (format == Format::Pdf)
            .then(|| pdf::Printer::new(settings.paper, settings.blank_sheets));
        let book = match (&printer, &destination) {
            (Some(p), d) if !matches!(d, Destination::Dir(_)) => Some(p.book()),
            _ => None,
        };
        Ok(Sink {
            format,
            force: settings.force,
            destination,
            names: UniqueNames::default(),
            count: 0,
            printer,
            book,
            missing: Default::default(),
        })
    }

    /// Runs `write` on the one stream (standard output or the temporary
    /// file), naming the file in any error.
    fn write_to_stream(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        match &mut self.destination {
            Destination::Stream(out) => write(out).map_err(|e| runtime(e.into())),
            Destination::Spooled { tmp, .. } => write(tmp).map_err(spool_failed),
            Destination::File { tmp, path } => {
                write(tmp).map_err(|e| write_failed(e, path, NOTHING_WRITTEN))
            }
            Destination::Special { out, path } => write(out).map_err(|e| {
                runtime(anyhow::Error::new(e).context(format!("cannot write {}", path.display())))
            }),
            Destination::Dir(_) => Ok(()),
        }
    }

    /// The warning for characters the PDFs cannot show, if there were any.
    pub fn missing_glyphs(&self) -> Option<String> {
        pdf::missing_warning(&self.missing)
    }

    /// Writes one letter.
    pub fn emit(&mut self, item: &Item<'_>) -> Result<()> {
        let first = self.count == 0;
        self.count += 1;
        let format = self.format;
        if let Some(printer) = &self.printer {
            printer.missing_glyphs(item.letter, item.members, &mut self.missing);
        }
        if let (Some(printer), Some(book)) = (&self.printer, &mut self.book) {
            match item.call {
                Some(call) => printer.add_call(book, item.letter, call),
                None => printer.add(book, item.letter, item.members),
            }
            return Ok(());
        }
        match &mut self.destination {
            Destination::Stream(_)
            | Destination::Spooled { .. }
            | Destination::File { .. }
            | Destination::Special { .. } => {
                self.write_to_stream(|out| formats::write_stream(format, item, first, out))
            }
            Destination::Dir(staged) => {
                let mut stem = file_stem(item.letter, item.name_hint);
                if item.call.is_some() {
                    stem.push_str("-call-sheet");
                }
                let name = self.names.name(&stem, self.format.extension());
                let bytes = match (&self.printer, item.call) {
                    (Some(printer), Some(call)) => printer.call_sheet(item.letter, call)?,
                    (Some(printer), None) => printer.letter(item.letter, item.members)?,
                    (None, _) => {
                        let mut bytes = Vec::with_capacity(item.letter.body.len() + 1024);
                        formats::write_stream(self.format, item, true, &mut bytes)?;
                        bytes
                    }
                };
                staged.write(&name, &bytes)
            }
        }
    }

    /// Flushes and, for a file target, moves the file into place. Returns
    /// the files written, for the user.
    pub fn finish(mut self) -> Result<Vec<String>> {
        if let Some(book) = self.book.take() {
            let bytes = book.finish()?;
            self.write_to_stream(|out| out.write_all(&bytes))?;
        }
        match self.destination {
            Destination::Stream(mut out) => {
                out.flush().map_err(|e| runtime(e.into()))?;
                Ok(Vec::new())
            }
            Destination::Spooled { tmp, mut out } => {
                let mut file = tmp.into_inner().map_err(|e| spool_failed(e.into_error()))?;
                std::io::Seek::rewind(&mut file)
                    .and_then(|()| std::io::copy(&mut file, &mut out))
                    .and_then(|_| out.flush())
                    .map_err(|e| runtime(e.into()))?;
                Ok(Vec::new())
            }
            Destination::File { tmp, path } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| write_failed(e.into_error(), &path, NOTHING_WRITTEN))?;
                tmp.as_file()
                    .sync_all()
                    .map_err(|e| write_failed(e, &path, NOTHING_WRITTEN))?;
                files::persist(tmp, &path, self.force)?;
                Ok(vec![path.display().to_string()])
            }
            Destination::Special { mut out, path } => {
                out.flush().map_err(|e| {
                    runtime(
                        anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
                    )
                })?;
                Ok(Vec::new())
            }
            Destination::Dir(staged) => staged.finish(),
        }
    }
}

/// A temporary file that holds a batch for a stream until it is complete.
fn spool() -> Result<BufWriter<std::fs::File>> {
    let file = tempfile::tempfile().map_err(spool_failed)?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}

/// A batch for standard output waits in a temporary file (in TMPDIR)
/// until it is complete; when that cannot be written, nothing is printed.
fn spool_failed(e: std::io::Error) -> anyhow::Error {
    let dir = std::env::temp_dir();
    write_failed(
        e,
        &dir,
        "a batch for standard output is kept there until it is complete (set TMPDIR to \
         use another folder); nothing was printed",
    )
}

/// `letter-recipient[-country][-hint]`: readable and safe on any disk.
pub fn file_stem(letter: &Rendered, hint: &str) -> String {
    let recipient = &letter.recipient;
    let mut parts = vec![slug(&letter.letter_id), slug(&recipient.id)];
    if let Some(country) = &recipient.country {
        parts.push(slug(country));
    }
    let hint = slug(hint);
    if !hint.is_empty() {
        parts.push(hint);
    }
    parts.join("-")
}
