//! Call sheets: for an office that only takes phone calls, a page with the
//! number, the time of day there, what to say (in the caller's language,
//! with the office's beside it) and boxes to note what happened. Pure
//! layout, like `layout` and `sheets`.

use super::layout::{BODY_SIZE, LEADING, MM, SMALL, Sheet, page_of, placed};
use super::measure::Measure;
use super::sheets::Table;
use crate::letters::call::{Call, Times};

/// The sheet's labels in the caller's language (Russian or English).
struct Words {
    title: &'static str,
    office: &'static str,
    number: &'static str,
    caller: &'static str,
    time: &'static str,
    there: &'static str,
    here: &'static str,
    no_zone: &'static str,
    hours_note: &'static str,
    say: &'static str,
    happened: &'static str,
    spoke: &'static str,
    message: &'static str,
    no_answer: &'static str,
    when: &'static str,
    notes: &'static str,
}

impl Words {
    fn new(lang: &str) -> Words {
        if lang.starts_with("ru") {
            Words {
                title: "Лист звонка",
                office: "Учреждение",
                number: "Телефон",
                caller: "Звонит",
                time: "Время в учреждении",
                there: "Там",
                here: "У вас",
                no_zone: "В кампании не указан часовой пояс учреждения: уточните время там перед звонком.",
                hours_note: "Обычные часы работы, с понедельника по пятницу; время на",
                say: "Что сказать",
                happened: "Итог звонка",
                spoke: "Поговорил(а) с сотрудником; имя:",
                message: "Оставил(а) сообщение",
                no_answer: "Никто не ответил",
                when: "Дата и время звонка:",
                notes: "Заметки:",
            }
        } else {
            Words {
                title: "Call sheet",
                office: "Office",
                number: "Number",
                caller: "Caller",
                time: "Time at the office",
                there: "There",
                here: "Your time",
                no_zone: "The campaign gives no time zone for this office: check the time there before you call.",
                hours_note: "Usual office hours, Monday to Friday; the times as on",
                say: "What to say",
                happened: "What happened",
                spoke: "Spoke to someone; their name:",
                message: "Left a message",
                no_answer: "No answer",
                when: "Date and time of the call:",
                notes: "Notes:",
            }
        }
    }
}

/// A language's own name, for the talking points' columns.
fn language_name(lang: &str) -> String {
    match lang.split(['-', '_']).next().unwrap_or(lang) {
        "en" => "English".into(),
        "ru" => "Русский".into(),
        "kk" => "Қазақша".into(),
        "de" => "Deutsch".into(),
        "fr" => "Français".into(),
        "es" => "Español".into(),
        other => other.to_string(),
    }
}

const TITLE_SIZE: f32 = 16.0;
const NUMBER_SIZE: f32 = 14.0;
const HEAD_SIZE: f32 = 11.0;
/// A tick box's side.
const BOX: f32 = 3.5 * MM;

/// The pages being filled, top to bottom.
struct Pen<'a> {
    sheet: &'a Sheet,
    pages: Vec<Table>,
    y: f32,
}

impl Pen<'_> {
    /// Starts a new page when `height` more does not fit on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > self.sheet.bottom {
            self.pages.push(Table::default());
            self.y = self.sheet.top;
        }
    }

    fn page(&mut self) -> &mut Table {
        self.pages.last_mut().expect("a page is started first")
    }

    /// One line of text at `x`, `size` high.
    fn line(&mut self, x: f32, size: f32, text: String) {
        self.room(size * 1.35);
        let y = self.y + size;
        self.page().runs.push(placed(x, y, size, text));
        self.y += size * 1.35;
    }

    fn rule(&mut self, x0: f32, x1: f32, y: f32) {
        self.page().rules.push([x0, y, x1, y]);
    }

    /// A tick box whose bottom is at `baseline`.
    fn tick_box(&mut self, x: f32, baseline: f32) {
        let top = baseline - BOX + 0.5;
        let rules = &mut self.page().rules;
        rules.push([x, top, x + BOX, top]);
        rules.push([x, baseline + 0.5, x + BOX, baseline + 0.5]);
        rules.push([x, top, x, baseline + 0.5]);
        rules.push([x + BOX, top, x + BOX, baseline + 0.5]);
    }
}

/// Lays one call sheet out; it takes one page unless its points are long.
pub fn pages(call: &Call, sheet: &Sheet, m: &Measure) -> Vec<Table> {
    let words = Words::new(&call.language);
    let (left, right) = (sheet.left, sheet.right);
    let width = right - left;
    let mut pen = Pen {
        sheet,
        pages: vec![Table::default()],
        y: sheet.top,
    };
    pen.line(left, TITLE_SIZE, words.title.to_string());
    for line in m.wrap(&call.subject, BODY_SIZE, width, 0.0) {
        pen.line(left, BODY_SIZE, line);
    }
    pen.y += LEADING;
    let label = 30.0 * MM;
    let field = |pen: &mut Pen<'_>, name: &str, size: f32, values: &[&str]| {
        let start = pen.y;
        for value in values.iter().filter(|v| !v.trim().is_empty()) {
            for part in m.wrap(value, size, width - label, 0.0) {
                pen.line(left + label, size, part);
            }
        }
        let baseline = start + size;
        pen.page()
            .runs
            .push(placed(left, baseline, BODY_SIZE, name.to_string()));
    };
    field(
        &mut pen,
        words.office,
        BODY_SIZE,
        &[&call.office, &call.office_title],
    );
    field(&mut pen, words.number, NUMBER_SIZE, &[&call.phone]);
    field(&mut pen, words.caller, BODY_SIZE, &[&call.caller]);

    pen.y += LEADING;
    pen.line(left, HEAD_SIZE, words.time.to_string());
    match &call.times {
        None => {
            for line in m.wrap(words.no_zone, BODY_SIZE, width, 0.0) {
                pen.line(left, BODY_SIZE, line);
            }
        }
        Some(times) => clock_table(&mut pen, times, &words, left, m),
    }

    pen.y += LEADING;
    pen.line(left, HEAD_SIZE, words.say.to_string());
    talking_points(&mut pen, call, left, width, m);

    pen.y += LEADING;
    pen.room(HEAD_SIZE * 1.35 + 9.0 * LEADING);
    pen.line(left, HEAD_SIZE, words.happened.to_string());
    pen.y += 0.5 * LEADING;
    for (n, what) in [words.spoke, words.message, words.no_answer]
        .into_iter()
        .enumerate()
    {
        let baseline = pen.y + BODY_SIZE;
        pen.tick_box(left, baseline);
        pen.line(left + BOX + 2.0 * MM, BODY_SIZE, what.to_string());
        if n == 0 {
            let from = left + BOX + 4.0 * MM + m.width(what, BODY_SIZE);
            pen.rule(from, right, baseline + 1.0);
        }
        pen.y += 0.5 * LEADING;
    }
    let baseline = pen.y + BODY_SIZE;
    pen.line(left, BODY_SIZE, words.when.to_string());
    pen.rule(
        left + m.width(words.when, BODY_SIZE) + 2.0 * MM,
        right,
        baseline + 1.0,
    );
    pen.y += 0.5 * LEADING;
    pen.line(left, BODY_SIZE, words.notes.to_string());
    for _ in 0..4 {
        pen.y += 1.5 * LEADING;
        if pen.y > sheet.bottom {
            break;
        }
        let y = pen.y;
        pen.rule(left, right, y);
    }

    let total = pen.pages.len();
    let mut pages = pen.pages;
    if total > 1 {
        for (n, page) in pages.iter_mut().enumerate() {
            let number = page_of(&call.language, n + 1, total);
            let x = right - m.width(&number, SMALL);
            page.runs
                .push(placed(x, sheet.bottom + 4.0 * MM, SMALL, number));
        }
    }
    pages
}

/// The office's hours and the caller's clock, in two ruled columns.
fn clock_table(pen: &mut Pen<'_>, times: &Times, words: &Words, left: f32, m: &Measure) {
    let column = 45.0 * MM;
    let pad = 1.5 * MM;
    let heads = [
        format!("{}: {}", words.there, times.there),
        format!("{}: {}", words.here, times.here),
    ];
    let wide = heads
        .iter()
        .map(|h| m.width(h, BODY_SIZE) + 2.0 * pad)
        .fold(column, f32::max);
    let right = left + 2.0 * wide;
    pen.room(LEADING * (times.rows.len() + 3) as f32);
    let top = pen.y;
    pen.rule(left, right, top);
    let row = |pen: &mut Pen<'_>, cells: [&str; 2]| {
        let y = pen.y;
        for (i, cell) in cells.into_iter().enumerate() {
            let x = left + i as f32 * wide + pad;
            pen.page().runs.push(placed(
                x,
                y + BODY_SIZE + pad / 2.0,
                BODY_SIZE,
                cell.to_string(),
            ));
        }
        pen.y += LEADING;
    };
    row(pen, [&heads[0], &heads[1]]);
    pen.y += pad;
    let under_heads = pen.y;
    pen.rule(left, right, under_heads);
    for (there, here) in &times.rows {
        row(pen, [there, here]);
    }
    pen.y += pad;
    let bottom = pen.y;
    pen.rule(left, right, bottom);
    let rules = &mut pen.page().rules;
    for x in [left, left + wide, right] {
        rules.push([x, top, x, bottom]);
    }
    pen.line(
        left,
        SMALL + 1.5,
        format!("{} {}.", words.hours_note, times.on),
    );
}

/// The talking points, numbered: one column, or the caller's language
/// beside the office's, each point level with its translation.
fn talking_points(pen: &mut Pen<'_>, call: &Call, left: f32, width: f32, m: &Measure) {
    let gap = 6.0 * MM;
    let columns: Vec<(&str, &[String])> = match &call.theirs {
        Some((lang, points)) => vec![(&call.language, &call.points), (lang, points)],
        None => vec![(&call.language, &call.points)],
    };
    let column = (width - gap * (columns.len() - 1) as f32) / columns.len() as f32;
    if columns.len() > 1 {
        pen.room(LEADING);
        let y = pen.y;
        for (i, (lang, _)) in columns.iter().enumerate() {
            let x = left + i as f32 * (column + gap);
            pen.page()
                .runs
                .push(placed(x, y + SMALL + 1.5, SMALL + 1.5, language_name(lang)));
        }
        pen.y += LEADING;
    }
    let most = columns.iter().map(|(_, p)| p.len()).max().unwrap_or(0);
    for n in 0..most {
        let marker = format!("{}. ", n + 1);
        let indent = m.width(&marker, BODY_SIZE);
        let cells: Vec<Vec<String>> = columns
            .iter()
            .map(|(_, points)| {
                let text = points.get(n).map_or("", String::as_str);
                let mut lines = m.wrap(text, BODY_SIZE, column - indent, 0.0);
                if let Some(first) = lines.first_mut().filter(|_| !text.is_empty()) {
                    first.insert_str(0, &marker);
                }
                lines
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..height {
            pen.room(LEADING);
            let y = pen.y + BODY_SIZE;
            for (c, cell) in cells.iter().enumerate() {
                let Some(text) = cell.get(i).filter(|t| !t.is_empty()) else {
                    continue;
                };
                let x = left + c as f32 * (column + gap) + if i == 0 { 0.0 } else { indent };
                pen.page().runs.push(placed(x, y, BODY_SIZE, text.clone()));
            }
            pen.y += LEADING;
        }
        pen.y += 0.4 * LEADING;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Paper;
    use jiff::civil::Date;
    use jiff::tz::TimeZone;

    fn zone(name: &str) -> TimeZone {
        crate::campaign::zones::get(name).expect(name)
    }

    fn call(times: Option<Times>, theirs: bool) -> Call {
        Call {
            language: "en".into(),
            subject: "Natalia Sokolova: a review of her conviction".into(),
            office: "The Head of the Presidential Administration".into(),
            office_title: "Administration of the President".into(),
            phone: "+7 7172 74 55 24".into(),
            caller: "Jo Bloggs, Unite Branch 42".into(),
            points: vec![
                "I am calling about Natalia Sokolova. ".repeat(3),
                "I ask that her conviction be reviewed.".into(),
            ],
            theirs: theirs.then(|| {
                (
                    "ru".to_string(),
                    vec![
                        "Я звоню по поводу Натальи Соколовой.".into(),
                        "Прошу пересмотреть приговор.".into(),
                    ],
                )
            }),
            times,
        }
    }

    fn texts(pages: &[Table]) -> Vec<&str> {
        pages
            .iter()
            .flat_map(|p| p.runs.iter().map(|r| r.text.as_str()))
            .collect()
    }

    #[test]
    fn one_page_with_every_point_side_by_side_and_the_boxes() {
        let m = Measure::new();
        let sheet = Sheet::new(Paper::A4);
        let times = Times::new(
            "Asia/Almaty",
            &zone("Asia/Almaty"),
            &zone("Europe/London"),
            Date::constant(2026, 12, 7),
            "en",
        );
        let pages = pages(&call(Some(times), true), &sheet, &m);
        assert_eq!(pages.len(), 1);
        let t = texts(&pages);
        for want in [
            "Call sheet",
            "+7 7172 74 55 24",
            "There: Asia/Almaty, UTC+05:00",
            "Your time: Europe/London, UTC+00:00",
            "04:00",
            "English",
            "Русский",
            "1. Я звоню по поводу Натальи Соколовой.",
            "2. I ask that her conviction be reviewed.",
            "Spoke to someone; their name:",
            "Left a message",
            "No answer",
        ] {
            assert!(t.contains(&want), "{want} not in {t:?}");
        }
        // The second point starts level with its translation.
        let y = |text: &str| pages[0].runs.iter().find(|r| r.text == text).unwrap().y;
        assert_eq!(
            y("2. I ask that her conviction be reviewed."),
            y("2. Прошу пересмотреть приговор.")
        );
        // Three boxes of four sides, and nothing below the foot of the page.
        assert!(pages[0].rules.len() >= 12);
        assert!(pages[0].runs.iter().all(|r| r.y <= sheet.bottom));
    }

    #[test]
    fn without_a_zone_the_sheet_says_so_and_long_points_go_on() {
        let m = Measure::new();
        let mut c = call(None, false);
        c.points = (0..40)
            .map(|i| format!("Point {i}: {}", "word ".repeat(40)))
            .collect();
        let pages = pages(&c, &Sheet::new(Paper::Letter), &m);
        assert!(pages.len() > 1);
        let t = texts(&pages);
        assert!(
            t.iter()
                .any(|l| l.starts_with("The campaign gives no time zone"))
        );
        assert!(t.contains(&format!("page 2 of {}", pages.len()).as_str()));
        let words: usize = t.iter().map(|l| l.matches("word").count()).sum();
        assert_eq!(words, 40 * 40, "no word lost");
        assert!(!t.contains(&"Русский"));
    }
}
