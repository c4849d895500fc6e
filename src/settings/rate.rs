//! `--rate`: how many messages per second, minute or hour, turned into the
//! gap between two messages. Parsed once, bounded, and never a panic on
//! odd numbers (`1e-18` once overflowed a Duration).

use std::time::Duration;

use anyhow::{Result, bail};

/// The slowest rate accepted: one message a day.
const SLOWEST: Duration = Duration::from_secs(24 * 60 * 60);
/// The fastest: 100,000 a second (faster than any server accepts mail).
const FASTEST: Duration = Duration::from_micros(10);

/// `30`, `30/min`, `2/s`, `500/h` (also `/sec`, `/second`, `/m`,
/// `/minute`, `/hour`) → the time between two messages. A bare number is
/// per minute.
pub fn interval(text: &str) -> Result<Duration> {
    let help = "write it as N/s, N/min or N/h, e.g. --rate 30/min";
    let (number, unit) = match text.trim().split_once('/') {
        Some((n, unit)) => (n.trim(), unit.trim()),
        None => (text.trim(), "min"),
    };
    let seconds_per_unit = match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hr" | "hour" => 3600.0,
        _ => bail!("--rate `{text}`: unknown unit `/{unit}`; {help}"),
    };
    let count: f64 = match number.parse() {
        Ok(n) if f64::is_finite(n) && n > 0.0 => n,
        _ => bail!("--rate `{text}` is not a positive number of messages; {help}"),
    };
    let gap = seconds_per_unit / count;
    if gap > SLOWEST.as_secs_f64() {
        bail!(
            "--rate `{text}` is slower than one message a day; leave --rate out to send at full speed, or {help}"
        );
    }
    if gap < FASTEST.as_secs_f64() {
        bail!(
            "--rate `{text}` is faster than 100000 messages a second, which no server accepts; leave --rate out to send at full speed"
        );
    }
    Duration::try_from_secs_f64(gap).map_err(|_| anyhow::anyhow!("--rate `{text}`: {help}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(interval("30").unwrap(), Duration::from_secs(2));
        assert_eq!(interval("30/min").unwrap(), Duration::from_secs(2));
        assert_eq!(interval(" 30 / m ").unwrap(), Duration::from_secs(2));
        assert_eq!(interval("2/s").unwrap(), Duration::from_millis(500));
        assert_eq!(interval("4/sec").unwrap(), Duration::from_millis(250));
        assert_eq!(interval("3600/h").unwrap(), Duration::from_secs(1));
        assert_eq!(interval("0.5/min").unwrap(), Duration::from_secs(120));
        assert_eq!(interval("1/HOUR").unwrap(), Duration::from_secs(3600));
    }

    #[test]
    fn absurd_values_are_errors_not_panics() {
        for bad in [
            "1e-18",
            "1e-18/s",
            "1e300/h",
            "1e18/s",
            "0",
            "-5",
            "nan",
            "inf",
            "",
            "/min",
            "x/min",
            "0.5/day",
            "30/fortnight",
            "1/25h",
        ] {
            let err = interval(bad).expect_err(bad).to_string();
            assert!(err.starts_with("--rate `"), "{bad}: {err}");
        }
        assert!(
            interval("1e-18")
                .unwrap_err()
                .to_string()
                .contains("slower than one message a day")
        );
        assert!(
            interval("2/day")
                .unwrap_err()
                .to_string()
                .contains("unknown unit `/day`")
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(interval("0.05/h").unwrap(), Duration::from_secs(72_000));
        assert!(interval("0.04/h").is_err()); // one every 25 hours
        assert_eq!(interval("100000/s").unwrap(), FASTEST);
        assert!(interval("200000/s").is_err());
    }
}
