//! Signature sheets: a petition's members in a numbered table after its
//! letter, and empty numbered lines (`--blank-sheets N`) to collect more
//! signatures by hand at a stall or a lobby. Pure layout, like `layout`.

use super::layout::{BODY_SIZE, LEADING, MM, Placed, SMALL, Sheet, placed};
use super::measure::Measure;

/// One page of a table: its text and its ruled lines (x0, y0, x1, y1).
#[derive(Debug, Default)]
pub struct Table {
    pub runs: Vec<Placed>,
    pub rules: Vec<[f32; 4]>,
}

/// What the sheets are for, and who has signed.
pub struct Signatures<'a> {
    pub subject: &'a str,
    pub language: &'a str,
    /// Number, name, organisation and country of each member.
    pub members: Vec<[&'a str; 3]>,
    pub blank: usize,
}

/// A blank row is tall enough to write in.
const BLANK_ROW: f32 = 9.0 * MM;

/// The sheets' pages: the members' table, then the blank sheets.
pub fn pages(s: &Signatures<'_>, sheet: &Sheet, m: &Measure) -> Vec<Table> {
    let ru = s.language.starts_with("ru");
    let words = |en: &'static str, ru_word: &'static str| if ru { ru_word } else { en };
    let number = words("No.", "№");
    let name = words("Name", "Имя");
    let organisation = words("Organisation", "Организация");
    let width = sheet.right - sheet.left;
    let mut out = Vec::new();
    if !s.members.is_empty() {
        let heads = [number, name, organisation, words("Country", "Страна")];
        let columns = columns(width, &[0.08, 0.4, 0.4, 0.12]);
        let rows: Vec<[String; 4]> = s
            .members
            .iter()
            .enumerate()
            .map(|(i, [n, o, c])| {
                [
                    format!("{}", i + 1),
                    n.to_string(),
                    o.to_string(),
                    c.to_string(),
                ]
            })
            .collect();
        table(s, sheet, m, &heads, &columns, &rows, None, &mut out);
    }
    if s.blank > 0 {
        let heads = [number, name, organisation, words("Signature", "Подпись")];
        let columns = columns(width, &[0.08, 0.34, 0.32, 0.26]);
        let per_page = rows_per_page(sheet);
        let first = s.members.len() + 1;
        let rows: Vec<[String; 4]> = (first..first + per_page * s.blank)
            .map(|n| [n.to_string(), String::new(), String::new(), String::new()])
            .collect();
        table(
            s,
            sheet,
            m,
            &heads,
            &columns,
            &rows,
            Some(per_page),
            &mut out,
        );
    }
    let total = out.len();
    for (n, page) in out.iter_mut().enumerate() {
        let label = match ru {
            true => format!("подписи, страница {} из {total}", n + 1),
            false => format!("signatures, page {} of {total}", n + 1),
        };
        let x = sheet.right - m.width(&label, SMALL);
        page.runs
            .push(placed(x, sheet.bottom + 4.0 * MM, SMALL, label));
    }
    out
}

/// Where each column starts, from fractions of the width.
fn columns(width: f32, shares: &[f32]) -> Vec<(f32, f32)> {
    let mut x = 0.0;
    shares
        .iter()
        .map(|share| {
            let column = (x, share * width);
            x += share * width;
            column
        })
        .collect()
}

/// The table's first row starts this far below the top of the page.
fn body_top(sheet: &Sheet) -> f32 {
    sheet.top + 3.0 * LEADING
}

fn rows_per_page(sheet: &Sheet) -> usize {
    ((sheet.bottom - body_top(sheet)) / BLANK_ROW).floor() as usize
}

/// Lays `rows` out under `heads`, repeated on every page; `per_page`
/// fixes blank rows' count (and height) a page.
#[allow(clippy::too_many_arguments)]
fn table(
    s: &Signatures<'_>,
    sheet: &Sheet,
    m: &Measure,
    heads: &[&str; 4],
    columns: &[(f32, f32)],
    rows: &[[String; 4]],
    per_page: Option<usize>,
    out: &mut Vec<Table>,
) {
    let pad = 1.5 * MM;
    let (left, right) = (sheet.left, sheet.right);
    let mut y = f32::INFINITY;
    let mut on_page = 0;
    for row in rows {
        let cells: Vec<Vec<String>> = row
            .iter()
            .zip(columns)
            .map(|(text, (_, w))| m.wrap(text, BODY_SIZE, w - 2.0 * pad, 0.0))
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
        let height = match per_page {
            Some(_) => BLANK_ROW,
            None => lines as f32 * LEADING + pad,
        };
        let full = per_page.is_some_and(|n| on_page == n);
        if y + height > sheet.bottom || full {
            let mut page = Table::default();
            let title = format!("{} — {}", heads_title(s.language), s.subject);
            let mut top = sheet.top;
            for line in m.wrap(&title, BODY_SIZE, right - left, 0.0) {
                page.runs
                    .push(placed(left, top + BODY_SIZE, BODY_SIZE, line));
                top += LEADING;
            }
            y = top.max(body_top(sheet) - LEADING - pad);
            page.rules.push([left, y, right, y]);
            for (head, (x, _)) in heads.iter().zip(columns) {
                page.runs.push(placed(
                    left + x + pad,
                    y + BODY_SIZE + pad / 2.0,
                    BODY_SIZE,
                    head.to_string(),
                ));
            }
            let head_top = y;
            y += LEADING + pad;
            page.rules.push([left, y, right, y]);
            dividers(columns, left, head_top, y, &mut page.rules);
            out.push(page);
            on_page = 0;
        }
        let page = out.last_mut().expect("a page was started");
        for (cell, (x, _)) in cells.iter().zip(columns) {
            for (n, line) in cell.iter().enumerate() {
                if !line.is_empty() {
                    let baseline = y + BODY_SIZE + pad / 2.0 + n as f32 * LEADING;
                    page.runs
                        .push(placed(left + x + pad, baseline, BODY_SIZE, line.clone()));
                }
            }
        }
        dividers(columns, left, y, y + height, &mut page.rules);
        y += height;
        on_page += 1;
        page.rules.push([left, y, right, y]);
    }
}

/// The lines between the columns, from `top` to `bottom`.
fn dividers(columns: &[(f32, f32)], left: f32, top: f32, bottom: f32, rules: &mut Vec<[f32; 4]>) {
    for (x, _) in columns.iter().skip(1) {
        rules.push([left + x, top, left + x, bottom]);
    }
}

fn heads_title(language: &str) -> &'static str {
    if language.starts_with("ru") {
        "Подписи"
    } else {
        "Signatures"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Paper;

    fn signatures(members: Vec<[&str; 3]>, blank: usize) -> Signatures<'_> {
        Signatures {
            subject: "A review of her conviction",
            language: "en",
            members,
            blank,
        }
    }

    fn texts(page: &Table) -> Vec<&str> {
        page.runs.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn every_member_numbered_with_headers_on_every_page() {
        let m = Measure::new();
        let names: Vec<String> = (1..=120).map(|i| format!("Member {i}")).collect();
        let members = names.iter().map(|n| [n.as_str(), "Unite", "GB"]).collect();
        let pages = pages(&signatures(members, 0), &Sheet::new(Paper::A4), &m);
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let total = pages.len();
        for (n, page) in pages.iter().enumerate() {
            let t = texts(page);
            for head in ["No.", "Name", "Organisation", "Country"] {
                assert!(t.contains(&head), "page {n}: {t:?}");
            }
            assert!(t.contains(&format!("signatures, page {} of {total}", n + 1).as_str()));
        }
        let all: Vec<&str> = pages.iter().flat_map(texts).collect();
        for (i, name) in names.iter().enumerate() {
            let at = all.iter().position(|t| t == name).expect("every member");
            assert_eq!(all[at - 1], (i + 1).to_string(), "numbered in order");
        }
    }

    #[test]
    fn blank_sheets_continue_the_numbering() {
        let m = Measure::new();
        let sheet = Sheet::new(Paper::Letter);
        let pages = pages(&signatures(vec![["Jo", "", "GB"]], 2), &sheet, &m);
        // One page of members, two blank sheets.
        assert_eq!(pages.len(), 3);
        let blank = texts(&pages[1]);
        assert!(
            blank.contains(&"Signature") && blank.contains(&"2"),
            "{blank:?}"
        );
        let per_page = rows_per_page(&sheet);
        assert!(per_page >= 20, "{per_page} lines a sheet");
        let last = (1 + 2 * per_page).to_string();
        assert!(texts(&pages[2]).contains(&last.as_str()));
        assert!(
            pages
                .iter()
                .all(|p| p.rules.iter().all(|r| r[1] <= sheet.bottom))
        );
    }
}
