//! `--format pdf`: letters laid out for a window envelope ([`layout`]),
//! set in one embedded font ([`measure`]) and written by krilla, which
//! subsets and embeds the font and keeps the text extractable.

pub mod call;
pub mod layout;
pub mod measure;
pub mod sheets;

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use crate::cli::Paper;
use crate::letters::call::Call;
use crate::message::Rendered;
use crate::signers::signer::Signer;
use layout::{Parts, Sheet};
use measure::Measure;

/// What every PDF is made with: the font, parsed once for a run.
pub struct Printer {
    measure: Measure,
    font: Font,
    /// `--paper`; `None` follows each signer's country.
    paper: Option<Paper>,
    /// `--blank-sheets`: empty signature sheets after each letter.
    blank_sheets: usize,
}

impl Printer {
    pub fn new(paper: Option<Paper>, blank_sheets: usize) -> Printer {
        Printer {
            measure: Measure::new(),
            font: Font::new(measure::FONT.into(), 0).expect("the embedded font parses"),
            paper,
            blank_sheets,
        }
    }

    /// The paper `letter` is printed on.
    pub fn paper(&self, letter: &Rendered) -> Paper {
        self.paper
            .unwrap_or_else(|| Paper::for_country(&letter.signer.country))
    }

    /// A new, empty PDF.
    pub fn book(&self) -> Book {
        Book {
            document: Document::new(),
            titled: false,
        }
    }

    /// One letter as one PDF.
    pub fn letter(&self, letter: &Rendered, members: &[Arc<Signer>]) -> Result<Vec<u8>> {
        let mut book = self.book();
        self.add(&mut book, letter, members);
        book.finish()
    }

    /// Adds `letter`'s pages to `book`, then the signature sheets: the
    /// petition's `members` (none for one signer's letter) and the blank
    /// sheets asked for.
    pub fn add(&self, book: &mut Book, letter: &Rendered, members: &[Arc<Signer>]) {
        book.title(&letter.subject, &letter.language);
        let sheet = Sheet::new(self.paper(letter));
        let signer = &letter.signer;
        let parts = Parts {
            body: &letter.body,
            subject: &letter.subject,
            language: &letter.language,
            name: &signer.name,
            organisation: &signer.organisation,
            address: &signer.address,
        };
        let pages = layout::pages(&parts, &sheet, &self.measure);
        for (n, runs) in pages.iter().enumerate() {
            let rules = if n == 0 { marks(&sheet) } else { Vec::new() };
            self.page(book, &sheet, runs, &rules);
        }
        let signatures = sheets::Signatures {
            subject: &letter.subject,
            language: &letter.language,
            members: members
                .iter()
                .map(|m| [m.name.as_str(), m.organisation.as_str(), m.country.as_str()])
                .collect(),
            blank: self.blank_sheets,
        };
        for table in sheets::pages(&signatures, &sheet, &self.measure) {
            self.page(book, &sheet, &table.runs, &table.rules);
        }
    }

    /// Adds to `out` the characters of `letter` (and of a petition's
    /// `members`) that the font has no glyph for.
    pub fn missing_glyphs(
        &self,
        letter: &Rendered,
        members: &[Arc<Signer>],
        out: &mut BTreeSet<char>,
    ) {
        let signer = &letter.signer;
        for text in [
            &letter.body,
            &letter.subject,
            &signer.name,
            &signer.organisation,
            &signer.address,
        ] {
            self.measure.missing(text, out);
        }
        for m in members {
            self.measure.missing(&m.name, out);
            self.measure.missing(&m.organisation, out);
        }
    }

    /// One call sheet as one PDF, on the paper `letter` would be printed on.
    pub fn call_sheet(&self, letter: &Rendered, call: &Call) -> Result<Vec<u8>> {
        let mut book = self.book();
        self.add_call(&mut book, letter, call);
        book.finish()
    }

    /// Adds a call sheet to `book`: what an office that only takes phone
    /// calls gets instead of `letter`.
    pub fn add_call(&self, book: &mut Book, letter: &Rendered, call: &Call) {
        book.title(&call.subject, &call.language);
        let sheet = Sheet::new(self.paper(letter));
        for table in call::pages(call, &sheet, &self.measure) {
            self.page(book, &sheet, &table.runs, &table.rules);
        }
    }

    /// One page: its ruled lines, then its text.
    fn page(&self, book: &mut Book, sheet: &Sheet, runs: &[layout::Placed], rules: &[[f32; 4]]) {
        let settings =
            PageSettings::from_wh(sheet.width, sheet.height).expect("paper sizes are positive");
        let mut page = book.document.start_page_with(settings);
        let mut surface = page.surface();
        stroke(&mut surface, rules);
        surface.set_fill(Some(Fill::default()));
        for run in runs {
            surface.draw_text(
                Point::from_xy(run.x, run.y),
                self.font.clone(),
                run.size,
                &run.text,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
}

/// The paper a petition is printed on when `--paper` is not given: the
/// organiser's (`--country`), not its first member's; `None` leaves each
/// letter to its signer's country.
pub fn petition_paper(petition: bool, country: Option<&str>) -> Option<Paper> {
    country.filter(|_| petition).map(Paper::for_country)
}

/// The warning for characters no PDF of this run can show, or `None`.
pub fn missing_warning(missing: &BTreeSet<char>) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let shown: Vec<String> = missing.iter().take(12).map(char::to_string).collect();
    let shown = shown.join(" ");
    let more = if missing.len() > 12 { "…" } else { "" };
    Some(format!(
        "warning: the PDF font (DejaVu Sans: Latin, Greek, Cyrillic) has no glyph for {shown}{more}: \
         those characters print as empty boxes; for such names print --format text with a font that has them"
    ))
}

/// The fold marks and the hole mark: short lines at the left edge.
fn marks(sheet: &Sheet) -> Vec<[f32; 4]> {
    let at = |y: f32, length: f32| [4.0 * layout::MM, y, (4.0 + length) * layout::MM, y];
    vec![
        at(sheet.fold_marks[0], 5.0),
        at(sheet.fold_marks[1], 5.0),
        at(sheet.hole_mark, 8.0),
    ]
}

/// Draws thin lines.
fn stroke(surface: &mut krilla::surface::Surface<'_>, rules: &[[f32; 4]]) {
    let mut path = PathBuilder::new();
    for [x0, y0, x1, y1] in rules {
        path.move_to(*x0, *y0);
        path.line_to(*x1, *y1);
    }
    if let Some(path) = path.finish() {
        surface.set_fill(None);
        surface.set_stroke(Some(Stroke {
            width: 0.4,
            ..Stroke::default()
        }));
        surface.draw_path(&path);
        surface.set_stroke(None);
    }
}

/// A PDF being filled with letters.
pub struct Book {
    document: Document,
    titled: bool,
}

impl Book {
    /// The document's title and language: its first letter's.
    fn title(&mut self, subject: &str, language: &str) {
        if !self.titled {
            self.document.set_metadata(
                krilla::metadata::Metadata::new()
                    .title(subject.to_string())
                    .language(language.to_string())
                    .creator("protest-letter".to_string()),
            );
            self.titled = true;
        }
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        self.document
            .finish()
            .map_err(|e| anyhow!("could not write the PDF: {e:?}"))
    }
}
