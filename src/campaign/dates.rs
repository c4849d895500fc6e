//! The date on a letter, written the way the letter's language writes it.
//!
//! jiff formats dates but knows only English month names, and the ICU4X
//! crates that do know Russian bring a large data set and a long build for
//! the twenty-four words needed here. So each language we write letters in
//! has a small table, checked by the tests below; a language without one
//! gets the ISO date, which no reader misreads, never English month names.

/// "22 November 2026", "22 ноября 2026 г.", else "2026-11-22".
pub fn format_date(date: jiff::civil::Date, lang: &str) -> String {
    let month = usize::try_from(date.month() - 1).unwrap_or(0);
    match primary(lang) {
        "en" => format!("{} {} {}", date.day(), ENGLISH[month], date.year()),
        // Russian dates use the genitive: «1 декабря 2026 г.».
        "ru" => format!(
            "{} {} {} г.",
            date.day(),
            RUSSIAN_GENITIVE[month],
            date.year()
        ),
        _ => date.to_string(),
    }
}

/// Whether letters in `lang` get their month names written out.
pub fn has_month_names(lang: &str) -> bool {
    matches!(primary(lang), "en" | "ru")
}

/// "ru" of "ru-KZ".
fn primary(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

const ENGLISH: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const RUSSIAN_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> jiff::civil::Date {
        text.parse().unwrap()
    }

    #[test]
    fn english_matches_jiff() {
        for month in 1..=12 {
            let d = jiff::civil::date(2026, month, 2);
            assert_eq!(format_date(d, "en"), d.strftime("%-d %B %Y").to_string());
        }
    }

    #[test]
    fn russian_uses_the_genitive_and_the_year_mark() {
        assert_eq!(format_date(date("2026-12-01"), "ru"), "1 декабря 2026 г.");
        assert_eq!(format_date(date("2011-03-08"), "ru-KZ"), "8 марта 2011 г.");
        assert_eq!(format_date(date("2026-05-31"), "ru"), "31 мая 2026 г.");
        let all: Vec<String> = (1..=12)
            .map(|m| format_date(jiff::civil::date(2026, m, 1), "ru"))
            .collect();
        assert!(all.iter().all(|d| d.ends_with(" 2026 г.")));
        assert!(
            all.iter()
                .all(|d| !d.chars().any(|c| c.is_ascii_alphabetic()))
        );
    }

    #[test]
    fn other_languages_get_the_iso_date() {
        assert_eq!(format_date(date("2026-11-22"), "kk"), "2026-11-22");
        assert!(!has_month_names("kk"));
        assert!(has_month_names("en-GB"));
    }
}
