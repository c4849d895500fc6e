//! Where everything goes on the page, in points from the top-left corner:
//! pure geometry and line breaking, no PDF. The address sits where the
//! envelope's window is; the rest of the letter flows onto as many pages
//! as it needs.

use super::measure::Measure;
use crate::cli::Paper;
use crate::letters::reflow::{is_list, is_prose, marker, signature_start};

/// Points in a millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// Points in an inch.
const IN: f32 = 72.0;

pub const BODY_SIZE: f32 = 10.0;
pub const LEADING: f32 = BODY_SIZE * 1.35;
/// The room left for a handwritten signature, in lines.
const SIGNING: f32 = 3.0;
pub const SMALL: f32 = 7.0;

/// A rectangle; `y` is its top, measured down from the top of the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x && x <= self.x + self.w && y >= self.y && y <= self.y + self.h
    }
}

/// The fixed places on one paper size.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub width: f32,
    pub height: f32,
    /// The address field, seen through the envelope's window.
    pub window: Rect,
    /// The top of the field that holds the sender's return line; the
    /// recipient's address starts below it.
    pub return_zone: f32,
    /// The sender's block, beside the window.
    pub sender: Rect,
    pub left: f32,
    pub right: f32,
    /// Where the text starts on page 1 (under the address field) and on
    /// the pages after it (under the header).
    pub first_top: f32,
    pub top: f32,
    pub bottom: f32,
    /// Short lines at the left edge: where to fold, and where to punch.
    pub fold_marks: [f32; 2],
    pub hole_mark: f32,
}

impl Sheet {
    pub fn new(paper: Paper) -> Sheet {
        match paper {
            // DIN 5008, form B: the field 20 mm from the left and 45 mm
            // from the top, 85 × 45 mm, its first 17.7 mm for the return
            // line; folds at 105 and 210 mm, the hole mark at half height.
            Paper::A4 => Sheet {
                width: 210.0 * MM,
                height: 297.0 * MM,
                window: Rect {
                    x: 20.0 * MM,
                    y: 45.0 * MM,
                    w: 85.0 * MM,
                    h: 45.0 * MM,
                },
                return_zone: 17.7 * MM,
                sender: Rect {
                    x: 125.0 * MM,
                    y: 50.0 * MM,
                    w: 65.0 * MM,
                    h: 40.0 * MM,
                },
                left: 25.0 * MM,
                right: 190.0 * MM,
                first_top: 98.5 * MM,
                top: 27.0 * MM,
                bottom: 277.0 * MM,
                fold_marks: [105.0 * MM, 210.0 * MM],
                hole_mark: 148.5 * MM,
            },
            // A #10 envelope (9.5 × 4.125 in) has its 4.5 × 1.125 in window
            // 7/8 in from the left and 1/2 in from the bottom. A sheet
            // folded in three (panels of 3.667 in) resting on the bottom
            // shows 2.042 to 3.167 in from its top through it; sliding
            // sideways (the sheet is an inch narrower) it always shows
            // 0.875 to 4.375 in from its left. The field is that, 0.875 in
            // high, so the last lines stay in sight if it rides up. US
            // windows show no return line: the envelope carries it.
            Paper::Letter => Sheet {
                width: 8.5 * IN,
                height: 11.0 * IN,
                window: Rect {
                    x: 0.875 * IN,
                    y: 2.042 * IN,
                    w: 3.5 * IN,
                    h: 0.875 * IN,
                },
                return_zone: 0.0,
                sender: Rect {
                    x: 5.25 * IN,
                    y: 0.75 * IN,
                    w: 2.5 * IN,
                    h: 1.25 * IN,
                },
                left: 1.0 * IN,
                right: 7.5 * IN,
                first_top: 3.5 * IN,
                top: 1.0 * IN,
                bottom: 10.25 * IN,
                fold_marks: [11.0 / 3.0 * IN, 22.0 / 3.0 * IN],
                hole_mark: 5.5 * IN,
            },
        }
    }
}

/// One run of text: `y` is its baseline, from the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub text: String,
}

/// What a letter needs beyond its text.
pub struct Parts<'a> {
    pub body: &'a str,
    pub subject: &'a str,
    pub language: &'a str,
    pub name: &'a str,
    pub organisation: &'a str,
    pub address: &'a str,
}

/// Lays out one letter: its pages, each a list of runs of text.
pub fn pages(parts: &Parts<'_>, sheet: &Sheet, m: &Measure) -> Vec<Vec<Placed>> {
    let blocks: Vec<&str> = parts.body.trim_end().split("\n\n").collect();
    let mut first = Vec::new();
    heading(parts, blocks[0], sheet, m, &mut first);
    let width = sheet.right - sheet.left;
    let flow = flow(&blocks, parts.subject, width, m);
    let mut pages = vec![first];
    let mut y = sheet.first_top;
    for item in flow {
        match item {
            Flow::Space(h) => y += h,
            Flow::Keep(h) if y + h > sheet.bottom && y > sheet.top => {
                pages.push(Vec::new());
                y = sheet.top;
            }
            Flow::Keep(_) => {}
            Flow::Line(indent, text) => {
                if y + LEADING > sheet.bottom {
                    pages.push(Vec::new());
                    y = sheet.top;
                }
                let page = pages.last_mut().expect("one page at least");
                page.push(Placed {
                    x: sheet.left + indent,
                    y: y + BODY_SIZE,
                    size: BODY_SIZE,
                    text,
                });
                y += LEADING;
            }
        }
    }
    let total = pages.len();
    let title = blocks[0].lines().next().unwrap_or("").trim();
    for (n, page) in pages.iter_mut().enumerate().skip(1) {
        let y = sheet.top - 2.0 * LEADING;
        let number = page_of(parts.language, n + 1, total);
        let room = sheet.right - sheet.left - m.width(&number, SMALL) - 6.0 * MM;
        page.insert(0, placed(sheet.left, y, SMALL, fit(title, room, m)));
        let x = sheet.right - m.width(&number, SMALL);
        page.insert(1, placed(x, y, SMALL, number));
    }
    pages
}

pub fn placed(x: f32, y: f32, size: f32, text: String) -> Placed {
    Placed { x, y, size, text }
}

/// "page 2 of 3", in the letter's language.
pub fn page_of(language: &str, n: usize, total: usize) -> String {
    if language.starts_with("ru") {
        format!("страница {n} из {total}")
    } else {
        format!("page {n} of {total}")
    }
}

/// `text` cut to the words that fit `room` points.
fn fit(text: &str, room: f32, m: &Measure) -> String {
    m.wrap(text, SMALL, room, 0.0).swap_remove(0)
}

/// Page 1's fixed parts: the return line and the address in the window,
/// the sender's block beside it.
fn heading(parts: &Parts<'_>, address: &str, sheet: &Sheet, m: &Measure, out: &mut Vec<Placed>) {
    let window = sheet.window;
    let inner = window.w - 2.0 * MM;
    let address_lines = parts
        .address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let back: Vec<&str> = [parts.name, parts.organisation]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .chain(address_lines.clone())
        .collect();
    let back = back.join(" · ");
    if !back.is_empty() && sheet.return_zone > 0.0 {
        let y = window.y + window.return_line_baseline(sheet.return_zone);
        out.push(placed(window.x, y, SMALL, fit(&back, inner, m)));
    }
    // A long address is set smaller rather than hidden by the envelope.
    let room = window.h - sheet.return_zone;
    let mut size = BODY_SIZE;
    let lines = loop {
        let lines: Vec<String> = address
            .lines()
            .flat_map(|line| m.wrap(line.trim(), size, inner, 0.0))
            .collect();
        if address_height(lines.len(), size) <= room || size <= MIN_ADDRESS {
            break lines;
        }
        size -= 0.5;
    };
    let mut y = window.y + sheet.return_zone + size;
    for part in lines {
        out.push(placed(window.x, y, size, part));
        y += size * ADDRESS_LEADING;
    }
    let mut y = sheet.sender.y + SMALL + 1.5;
    let sender = [parts.name, parts.organisation]
        .into_iter()
        .chain(address_lines)
        .filter(|s| !s.trim().is_empty());
    for line in sender {
        for part in m.wrap(line.trim(), SMALL + 1.5, sheet.sender.w, 0.0) {
            out.push(placed(sheet.sender.x, y, SMALL + 1.5, part));
            y += (SMALL + 1.5) * 1.35;
        }
    }
}

/// Lines in the window are closer than the body's: DIN 5008's six
/// lines fit in its 27.3 mm, the #10 window's five in 0.875 in.
const ADDRESS_LEADING: f32 = 1.2;
/// The smallest an address is set, to keep a long one in the window.
const MIN_ADDRESS: f32 = 7.0;

/// The height of `lines` address lines of `size`, descenders included.
fn address_height(lines: usize, size: f32) -> f32 {
    size + (lines.max(1) - 1) as f32 * size * ADDRESS_LEADING + 0.25 * size
}

impl Rect {
    /// The return line's baseline, at the foot of its zone.
    fn return_line_baseline(&self, zone: f32) -> f32 {
        zone - 3.0
    }
}

/// The letter after its address, as lines and spaces.
enum Flow {
    Space(f32),
    /// What follows, this high, goes to the next page unless it fits.
    Keep(f32),
    Line(f32, String),
}

fn flow(blocks: &[&str], subject: &str, width: f32, m: &Measure) -> Vec<Flow> {
    let signature = signature_start(blocks);
    let mut out = Vec::new();
    let lines = |text: &str, out: &mut Vec<Flow>| {
        for part in m.wrap(text, BODY_SIZE, width, 0.0) {
            out.push(Flow::Line(0.0, part));
        }
    };
    // The date, when the letter starts with one line, then the subject.
    let dated = blocks.get(1).is_some_and(|b| b.lines().count() == 1);
    let mut rest = 1;
    if dated {
        lines(blocks[1].trim(), &mut out);
        out.push(Flow::Space(LEADING));
        rest = 2;
    }
    if !subject.trim().is_empty() {
        lines(subject.trim(), &mut out);
    }
    for (i, block) in blocks.iter().enumerate().skip(rest) {
        let signing = i == signature + 1 && blocks[signature].lines().count() == 1;
        let gap = if signing { SIGNING + 1.0 } else { 1.0 };
        if i == signature {
            // The closing is not left on a page without the name.
            let rest = &blocks[signature..];
            let lines = rest.iter().map(|b| b.lines().count() + 1).sum::<usize>();
            out.push(Flow::Keep((lines as f32 + SIGNING) * LEADING));
        }
        if !out.is_empty() {
            out.push(Flow::Space(gap * LEADING));
        }
        let block_lines: Vec<&str> = block.lines().collect();
        if i >= signature {
            for (n, line) in block_lines.iter().enumerate() {
                if i == signature && n == 1 {
                    // Room to sign by hand, between the closing and the name.
                    out.push(Flow::Space(SIGNING * LEADING));
                }
                lines(line.trim_end(), &mut out);
            }
        } else if is_list(&block_lines) {
            list(&block_lines, width, m, &mut out);
        } else if is_prose(&block_lines) {
            lines(&block_lines.join(" "), &mut out);
        } else {
            for line in block_lines {
                lines(line.trim_end(), &mut out);
            }
        }
    }
    out
}

/// A list's items, each with its marker and a hanging indent.
fn list(block: &[&str], width: f32, m: &Measure, out: &mut Vec<Flow>) {
    let mut items: Vec<(String, String)> = Vec::new();
    for line in block {
        match (marker(line), items.last_mut()) {
            (Some(at), _) => items.push((line[..at].to_string(), line[at..].trim().to_string())),
            (None, Some((_, words))) => {
                words.push(' ');
                words.push_str(line.trim());
            }
            (None, None) => items.push((String::new(), line.trim().to_string())),
        }
    }
    for (lead, words) in items {
        let spaces = lead.len() - lead.trim_start().len();
        let indent = m.width(&lead, BODY_SIZE);
        let start = m.width(&lead[..spaces], BODY_SIZE);
        for (n, part) in m
            .wrap(&words, BODY_SIZE, width - indent, 0.0)
            .into_iter()
            .enumerate()
        {
            out.push(if n == 0 {
                Flow::Line(start, format!("{}{part}", lead.trim_start()))
            } else {
                Flow::Line(indent, part)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(body: &str) -> Parts<'_> {
        Parts {
            body,
            subject: "A review of her conviction",
            language: "en",
            name: "Jo Bloggs",
            organisation: "Unite Branch 42",
            address: "1 High Street\nLondon N1 1AA",
        }
    }

    const BODY: &str = "The Minister of Foreign Affairs\nMinistry of Foreign Affairs\n\n\
        22 November 2026\n\nDear Minister,\n\nI write about a case that\nconcerns us all.\n\n\
        Yours faithfully,\n\nJo Bloggs\nUnite Branch 42";

    #[test]
    fn the_address_lies_in_the_window_below_the_return_line() {
        let m = Measure::new();
        for paper in [Paper::A4, Paper::Letter] {
            let sheet = Sheet::new(paper);
            let pages = pages(&parts(BODY), &sheet, &m);
            let run = |text: &str| {
                pages[0]
                    .iter()
                    .find(|p| p.text == text)
                    .unwrap_or_else(|| panic!("{text} not on page 1: {:?}", pages[0]))
            };
            for line in [
                "The Minister of Foreign Affairs",
                "Ministry of Foreign Affairs",
            ] {
                let p = run(line);
                let w = sheet.window;
                assert!(w.contains(p.x, p.y - p.size), "{paper:?} {line} top");
                assert!(
                    w.contains(p.x + m.width(line, p.size), p.y),
                    "{paper:?} {line}"
                );
            }
            let back = "Jo Bloggs · Unite Branch 42 · 1 High Street · London N1 1AA";
            if paper == Paper::Letter {
                assert!(!pages[0].iter().any(|p| p.text == back), "no return line");
                continue;
            }
            let back = run(back);
            assert!(
                sheet.window.contains(back.x, back.y),
                "{paper:?} return line"
            );
            assert!(back.y < run("The Minister of Foreign Affairs").y - BODY_SIZE);
        }
    }

    #[test]
    fn six_lines_fit_the_din_window_and_a_longer_address_is_set_smaller() {
        let m = Measure::new();
        for (paper, fits) in [(Paper::A4, 6), (Paper::Letter, 5)] {
            let sheet = Sheet::new(paper);
            for n in [fits, fits + 2] {
                let address: Vec<String> = (1..=n).map(|i| format!("Address line {i}")).collect();
                let body = format!("{}\n\n22 November 2026\n\nText.\n\nJo", address.join("\n"));
                let pages = pages(&parts(&body), &sheet, &m);
                let lines: Vec<&Placed> = pages[0]
                    .iter()
                    .filter(|p| p.text.starts_with("Address line"))
                    .collect();
                assert_eq!(lines.len(), n);
                let w = sheet.window;
                for p in &lines {
                    assert!(w.contains(p.x, p.y - p.size), "{paper:?} {n}: {}", p.text);
                    assert!(
                        w.contains(p.x, p.y + 0.25 * p.size),
                        "{paper:?} {n}: {}",
                        p.text
                    );
                }
                let size = lines[0].size;
                assert_eq!(
                    size == BODY_SIZE,
                    n == fits,
                    "{paper:?} {n} lines at {size} pt"
                );
            }
        }
    }

    #[test]
    fn din_5008_form_b_and_the_us_letter() {
        let a4 = Sheet::new(Paper::A4);
        assert!((a4.width - 595.28).abs() < 0.01 && (a4.height - 841.89).abs() < 0.01);
        let w = a4.window;
        assert_eq!(
            (w.x, w.y, w.w, w.h),
            (20.0 * MM, 45.0 * MM, 85.0 * MM, 45.0 * MM)
        );
        assert_eq!(a4.fold_marks, [105.0 * MM, 210.0 * MM]);
        assert_eq!(a4.hole_mark, 148.5 * MM);
        let letter = Sheet::new(Paper::Letter);
        assert_eq!((letter.width, letter.height), (612.0, 792.0));
        // The part of a #10 window that shows the sheet wherever it slides.
        let w = letter.window;
        assert_eq!((w.x, w.w, w.h), (0.875 * 72.0, 3.5 * 72.0, 0.875 * 72.0));
        assert!((w.y - 2.042 * 72.0).abs() < 0.01);
    }

    #[test]
    fn room_to_sign_between_the_closing_and_the_name() {
        let m = Measure::new();
        let pages = pages(&parts(BODY), &Sheet::new(Paper::A4), &m);
        // The last run of each text: the name is in the sender's block too.
        let y = |t: &str| pages[0].iter().rfind(|p| p.text == t).unwrap().y;
        assert!(y("Jo Bloggs") - y("Yours faithfully,") >= SIGNING * LEADING);
        assert!(
            y("I write about a case that concerns us all.") - y("Dear Minister,") < 2.5 * LEADING
        );
        // The subject comes after the date, before the salutation.
        let subject = y("A review of her conviction");
        assert!(y("22 November 2026") < subject && subject < y("Dear Minister,"));
    }

    #[test]
    fn later_pages_have_a_header_and_their_number() {
        let m = Measure::new();
        let long = "word ".repeat(4000);
        let body = format!("The Minister\n\n22 November 2026\n\n{long}\n\nYours faithfully,\n\nJo");
        let pages = pages(&parts(&body), &Sheet::new(Paper::A4), &m);
        let total = pages.len();
        assert!(total > 2, "{total} pages");
        assert!(!pages[0].iter().any(|p| p.text.starts_with("page ")));
        for (n, page) in pages.iter().enumerate().skip(1) {
            assert_eq!(page[0].text, "The Minister");
            assert_eq!(page[1].text, format!("page {} of {total}", n + 1));
        }
        let words: usize = pages
            .iter()
            .flatten()
            .map(|p| p.text.matches("word").count())
            .sum();
        assert_eq!(words, 4000, "no word lost across pages");
        assert_eq!(page_of("ru-KZ", 2, 3), "страница 2 из 3");
    }
}
