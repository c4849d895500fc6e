//! Offices' time zones (`time_zone` in recipients.toml), for call sheets:
//! looked up in the system's zone database, else in the copy compiled in
//! (a container without tzdata still prints the time there).

use jiff::tz::{TimeZone, TimeZoneDatabase};

use super::diagnostic::{Problem, Severity};
use super::model::Recipient;
use super::source::SourceFile;

pub const HELP: &str =
    "write the office's IANA time zone, e.g. time_zone = \"Asia/Almaty\" or \"Europe/London\"";

/// Whether `name` has the form of an IANA zone name ("Asia/Almaty",
/// "America/Argentina/Buenos_Aires", "UTC"): checked at every start-up,
/// without reading the database.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
        })
}

/// The zone called `name`: the system's rules first (kept up to date by
/// the system), else the compiled-in copy.
pub fn get(name: &str) -> Option<TimeZone> {
    jiff::tz::db()
        .get(name)
        .or_else(|_| TimeZoneDatabase::bundled().get(name))
        .ok()
}

/// For `check`: every zone that neither database knows (an error: the
/// call sheet would give no time), and each phone number whose office has
/// no zone (a warning).
pub fn problems(file: &SourceFile, recipients: &[Recipient]) -> Vec<Problem> {
    let mut out = Vec::new();
    for r in recipients {
        let zones = r
            .time_zone
            .iter()
            .chain(r.countries.values().filter_map(|c| c.time_zone.as_ref()));
        for zone in zones.filter(|z| get(z).is_none()) {
            let mut p = Problem::warning_at_value(
                file,
                "time_zone",
                zone,
                format!("unknown time zone `{zone}` (recipient `{}`)", r.id),
            )
            .with_help(HELP);
            p.severity = Severity::Error;
            out.push(p);
        }
        let phone_without_zone = (r.phone.is_some() && r.time_zone.is_none())
            || r.countries
                .values()
                .any(|c| c.phone.is_some() && c.time_zone.is_none() && r.time_zone.is_none());
        if phone_without_zone {
            let message = format!(
                "`{}` has a phone number but no time_zone: its call sheet cannot say what time \
                 it is at the office",
                r.id
            );
            out.push(Problem::warning_at_value(file, "id", &r.id, message).with_help(HELP));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lookups() {
        for name in [
            "Asia/Almaty",
            "America/Argentina/Buenos_Aires",
            "UTC",
            "Etc/GMT+5",
        ] {
            assert!(is_name(name), "{name}");
        }
        for name in [
            "",
            "Asia//Almaty",
            "Asia/Almaty ",
            "../etc/passwd",
            "Europe/Lon don",
        ] {
            assert!(!is_name(name), "{name}");
        }
        assert!(get("Asia/Almaty").is_some());
        assert!(get("Asia/Atlantis").is_none());
    }

    #[test]
    fn the_bundled_copy_knows_the_built_in_offices() {
        let db = TimeZoneDatabase::bundled();
        for name in ["Asia/Almaty", "Europe/London", "America/New_York"] {
            assert!(db.get(name).is_ok(), "{name}");
        }
    }
}
