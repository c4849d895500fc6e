//! A progress bar for batches, on stderr when it is a terminal; hidden
//! otherwise so logs and pipes stay clean. Nothing here fails or panics
//! when stderr is closed: lines that cannot be written are dropped.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` letters; visible only when `visible`.
    pub fn new(total: u64, visible: bool, verb: &str) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = format!(
            "{{spinner}} {verb} {{pos}}/{{len}} [{{bar:30}}] {{rate}}, ETA {{eta}} {{msg}}"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> ").with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", rate(state.per_sec()));
                },
            ));
        }
        Progress { bar }
    }

    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn message(&self, text: String) {
        self.bar.set_message(text);
    }

    /// Prints a line above the bar without tearing it.
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
        } else {
            self.bar.println(line);
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Letters a second, as a person reads it: `1,193/s`, `12.5/s`, `0.4/s`
/// (indicatif's own shows `1,192.778/s`).
fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".into();
    }
    if per_sec < 100.0 {
        let text = format!("{per_sec:.1}");
        return format!("{}/s", text.strip_suffix(".0").unwrap_or(&text));
    }
    let digits = format!("{:.0}", per_sec.round());
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    format!("{out}/s")
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn rates_are_rounded_for_reading() {
        assert_eq!(rate(1192.778), "1,193/s");
        assert_eq!(rate(1_234_567.4), "1,234,567/s");
        assert_eq!(rate(100.2), "100/s");
        assert_eq!(rate(12.46), "12.5/s");
        assert_eq!(rate(3.0), "3/s");
        assert_eq!(rate(0.04), "0/s");
        assert_eq!(rate(0.0), "0/s");
        assert_eq!(rate(f64::NAN), "0/s");
    }
}
