//! What a call sheet says: for an office that only takes phone calls, its
//! number, the time of day there beside the caller's, and the talking
//! points in the caller's language and the office's. `output::pdf::call`
//! lays it out.

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::campaign::{Addressee, Letter};
use crate::message::Rendered;

/// What a call sheet says.
pub struct Call {
    /// The caller's language: the sheet's labels and first column.
    pub language: String,
    pub subject: String,
    pub office: String,
    pub office_title: String,
    pub phone: String,
    /// Who calls: name, organisation.
    pub caller: String,
    pub points: Vec<String>,
    /// The points in the office's language, when it is another one.
    pub theirs: Option<(String, Vec<String>)>,
    /// `None` when the campaign gives no time zone for the office.
    pub times: Option<Times>,
}

/// The office's clock beside the caller's, over the office's working day.
#[derive(Debug, PartialEq)]
pub struct Times {
    /// "Asia/Almaty, UTC+05:00".
    pub there: String,
    pub here: String,
    /// Each hour of the office's day there, and the caller's clock then.
    pub rows: Vec<(String, String)>,
    /// The day the clocks are for ("7 December 2026"): summer time moves them.
    pub on: String,
}

/// The hours a government office usually answers the phone.
const OFFICE_HOURS: std::ops::RangeInclusive<i8> = 9..=18;

impl Times {
    /// On `date`, each office hour in `office` (named `name`) and the same
    /// moment on the `caller`'s clock, marked when it falls on another day.
    pub fn new(name: &str, office: &TimeZone, caller: &TimeZone, date: Date, lang: &str) -> Times {
        let (before, after) = if lang.starts_with("ru") {
            ("накануне", "на следующий день")
        } else {
            ("the day before", "the next day")
        };
        let mut rows = Vec::new();
        let mut offsets = None;
        for hour in OFFICE_HOURS {
            let Ok(there) = date.at(hour, 0, 0, 0).to_zoned(office.clone()) else {
                continue;
            };
            let here = there.with_time_zone(caller.clone());
            offsets.get_or_insert((there.offset(), here.offset()));
            let day = match here.date().cmp(&there.date()) {
                std::cmp::Ordering::Less => format!(" ({before})"),
                std::cmp::Ordering::Greater => format!(" ({after})"),
                std::cmp::Ordering::Equal => String::new(),
            };
            rows.push((
                there.strftime("%H:%M").to_string(),
                format!("{}{day}", here.strftime("%H:%M")),
            ));
        }
        let (at_office, at_caller) =
            offsets.unwrap_or((jiff::tz::Offset::UTC, jiff::tz::Offset::UTC));
        let here = match caller.iana_name() {
            Some(zone) => format!("{zone}, {}", utc(at_caller)),
            None => utc(at_caller),
        };
        Times {
            there: format!("{name}, {}", utc(at_office)),
            here,
            rows,
            on: crate::campaign::dates::format_date(date, lang),
        }
    }
}

/// "UTC+05:00", "UTC−03:30".
fn utc(offset: jiff::tz::Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '−' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Whether `r` is an office that can only be phoned: its PDF is a call
/// sheet, not a letter.
pub fn phone_only(r: &Addressee) -> bool {
    r.phone.is_some() && r.email.is_none() && r.address.is_empty()
}

/// The call sheet for `rendered`'s office, which has a phone number.
/// `caller_lang`: the language the caller asked for (`--lang`, a list's
/// `language` column), else the letter's default. The clocks are those of
/// `date`; `clock` is the caller's time zone (the system's).
pub fn sheet(
    letter: &Letter,
    rendered: &Rendered,
    caller_lang: Option<&str>,
    date: Date,
    clock: &TimeZone,
) -> Call {
    let r = &rendered.recipient;
    let wanted = caller_lang
        .filter(|l| !l.is_empty())
        .unwrap_or(&letter.language);
    let (language, points) = letter
        .talking_points_in(wanted)
        .unwrap_or((&letter.language, &letter.talking_points));
    let language = language.to_string();
    // The letter's subject, in the caller's language when that file's
    // subject is plain text (a templated one would need rendering).
    let subject = match letter.variant_in(&language) {
        Some(v)
            if !same_language(&language, &rendered.language)
                && !v.subject_text.contains("{{")
                && !v.subject_text.contains("{%") =>
        {
            v.subject_text.clone()
        }
        _ => rendered.subject.clone(),
    };
    let mut points = points.to_vec();
    if points.is_empty() {
        points.push(match language.starts_with("ru") {
            true => format!("Я звоню по поводу: {subject}."),
            false => format!("I am calling about: {subject}."),
        });
    }
    let theirs = r
        .language
        .as_deref()
        .and_then(|l| letter.talking_points_in(l))
        .filter(|(l, p)| !same_language(l, &language) && !p.is_empty())
        .map(|(l, p)| (l.to_string(), p.to_vec()));
    let times = r.time_zone.as_deref().and_then(|name| {
        let office = crate::campaign::zones::get(name)?;
        Some(Times::new(name, &office, clock, date, &language))
    });
    let signer = &rendered.signer;
    let caller = [signer.name.as_str(), signer.organisation.as_str()]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let office = r.localised(&language);
    Call {
        language,
        subject,
        office: office.name,
        office_title: office.title,
        phone: r.phone.clone().unwrap_or_default(),
        caller,
        points,
        theirs,
        times,
    }
}

/// "ru" and "ru-KZ" are one language here.
fn same_language(a: &str, b: &str) -> bool {
    let primary = |l: &str| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase();
    primary(a) == primary(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        crate::campaign::zones::get(name).expect(name)
    }

    #[test]
    fn office_hours_in_astana_on_a_london_and_a_new_york_clock() {
        let date = Date::constant(2026, 12, 7);
        let almaty = zone("Asia/Almaty");
        let london = Times::new("Asia/Almaty", &almaty, &zone("Europe/London"), date, "en");
        assert_eq!(london.there, "Asia/Almaty, UTC+05:00");
        assert_eq!(london.here, "Europe/London, UTC+00:00");
        assert_eq!(london.rows.len(), 10);
        assert_eq!(london.rows[0], ("09:00".into(), "04:00".into()));
        assert_eq!(london.rows[9], ("18:00".into(), "13:00".into()));
        let new_york = Times::new(
            "Asia/Almaty",
            &almaty,
            &zone("America/New_York"),
            date,
            "ru",
        );
        assert_eq!(new_york.here, "America/New_York, UTC−05:00");
        assert_eq!(
            new_york.rows[0],
            ("09:00".into(), "23:00 (накануне)".into())
        );
        assert_eq!(new_york.rows[1], ("10:00".into(), "00:00".into()));
        // In summer London is an hour ahead of its winter clock.
        let june = Times::new(
            "",
            &almaty,
            &zone("Europe/London"),
            Date::constant(2026, 6, 1),
            "en",
        );
        assert_eq!(june.rows[0].1, "05:00");
    }
}
