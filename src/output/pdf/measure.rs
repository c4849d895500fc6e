//! The embedded font and its measured widths, so lines break where the
//! printed text really ends, not after a count of characters.

use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

/// DejaVu Sans: Latin, Cyrillic and Greek in one face, under a licence
/// that allows embedding (assets/fonts/LICENSE-DejaVu.txt).
pub static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Advance widths of the font at size 1, looked up once per character.
pub struct Measure {
    /// Characters below U+0530 (Latin, Greek, Cyrillic): nearly every
    /// letter's text, read from this table.
    common: Vec<f32>,
    /// Which of those characters the font has a glyph for.
    covered: Vec<bool>,
    font: skrifa::FontRef<'static>,
}

const COMMON: u32 = 0x530;

impl Default for Measure {
    fn default() -> Measure {
        Measure::new()
    }
}

impl Measure {
    pub fn new() -> Measure {
        // The font is ours, compiled in; a parse failure is a build error.
        let font = skrifa::FontRef::new(FONT).expect("the embedded font parses");
        let mut m = Measure {
            common: Vec::new(),
            covered: Vec::new(),
            font,
        };
        m.common = (0..COMMON)
            .map(|c| char::from_u32(c).map_or(0.0, |c| m.lookup(c)))
            .collect();
        m.covered = (0..COMMON)
            .map(|c| char::from_u32(c).is_some_and(|c| m.has(c)))
            .collect();
        m
    }

    fn has(&self, c: char) -> bool {
        self.font.charmap().map(c).is_some()
    }

    /// Adds to `out` the characters of `text` that the font cannot show
    /// (Chinese, Japanese, Korean, Devanagari…): they would print as empty
    /// boxes. White space and control characters are not printed.
    pub fn missing(&self, text: &str, out: &mut std::collections::BTreeSet<char>) {
        for c in text.chars() {
            let known = match self.covered.get(c as usize) {
                Some(&known) => known,
                None => self.has(c),
            };
            if !known && !c.is_whitespace() && !c.is_control() {
                out.insert(c);
            }
        }
    }

    fn lookup(&self, c: char) -> f32 {
        let glyph = self.font.charmap().map(c).unwrap_or_default();
        // At size 1 the advance comes in ems.
        self.font
            .glyph_metrics(Size::new(1.0), LocationRef::default())
            .advance_width(glyph)
            .unwrap_or(0.0)
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| match self.common.get(c as usize) {
                Some(w) => *w,
                None => self.lookup(c),
            })
            .sum::<f32>()
            * size
    }

    /// Breaks `words` into lines no wider than `width` points (the first
    /// line `first` points narrower, for a list's marker); a word wider
    /// than a line is cut where it must be.
    pub fn wrap(&self, words: &str, size: f32, width: f32, first: f32) -> Vec<String> {
        let space = self.width(" ", size);
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = 0.0;
        for word in words.split_whitespace() {
            let room = if lines.is_empty() {
                width - first
            } else {
                width
            };
            let w = self.width(word, size);
            if !line.is_empty() && used + space + w <= room {
                line.push(' ');
                line.push_str(word);
                used += space + w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            used = 0.0;
            for c in word.chars() {
                let cw = self.width(c.encode_utf8(&mut [0; 4]), size);
                let room = if lines.is_empty() {
                    width - first
                } else {
                    width
                };
                if !line.is_empty() && used + cw > room {
                    lines.push(std::mem::take(&mut line));
                    used = 0.0;
                }
                line.push(c);
                used += cw;
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font() {
        let m = Measure::new();
        // Proportional: a W is wider than an i, Cyrillic is measured too.
        assert!(m.width("WWWW", 10.0) > 2.0 * m.width("iiii", 10.0));
        assert!(m.width("Ж", 10.0) > 0.0);
        assert!((m.width("ab", 20.0) - 2.0 * m.width("ab", 10.0)).abs() < 1e-3);
    }

    #[test]
    fn lines_break_by_width_and_keep_every_word() {
        let m = Measure::new();
        let text = "iiii iiii iiii iiii WWWW WWWW WWWW WWWW Жжжж";
        let width = m.width("WWWW WWWW", 10.0) + 0.1;
        let lines = m.wrap(text, 10.0, width, 0.0);
        assert!(lines.iter().all(|l| m.width(l, 10.0) <= width), "{lines:?}");
        // Narrow letters share a line that wide ones do not.
        assert_eq!(lines[0], "iiii iiii iiii iiii");
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn characters_the_font_lacks_are_found() {
        let m = Measure::new();
        let mut missing = std::collections::BTreeSet::new();
        m.missing("Jo Bloggs, Анна Петрова, Ελένη «ok»\n\t", &mut missing);
        assert!(missing.is_empty(), "{missing:?}");
        m.missing("李伟 and 김민준", &mut missing);
        assert_eq!(missing.len(), 5, "{missing:?}");
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let m = Measure::new();
        let lines = m.wrap("Mmmmmmmmmmmmmmmmmmmm", 10.0, m.width("Mmmmm", 10.0), 0.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), "Mmmmmmmmmmmmmmmmmmmm");
    }
}
