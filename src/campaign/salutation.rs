//! Salutations that spam filters hold against a letter.
//!
//! SpamAssassin's `DEAR_SOMETHING` rule adds about +2 to a message whose
//! body greets "Dear Sir or Madam", "Dear Madam …", "Dear Friend",
//! "Dear Customer" and the like: the openings of mass mail. A protest
//! letter should greet the office ("Dear Minister", "Your Excellency"),
//! so `check` warns, at the line, wherever a campaign uses such a form.

use crate::campaign::diagnostic::Problem;
use crate::campaign::{Recipient, SourceFile};

/// The words after "Dear" that the rule (and filters like it) look for.
const GENERIC: &[&str] = &[
    "sir",
    "sirs",
    "madam",
    "madame",
    "friend",
    "friends",
    "customer",
    "user",
    "member",
    "valued",
    "beneficiary",
    "investor",
    "candidate",
    "shopper",
    "webmaster",
    "recipient",
    "account",
    "owner",
];

/// Whether `salutation` opens like mass mail ("Dear Sir or Madam").
pub fn is_generic(salutation: &str) -> bool {
    let mut words = salutation
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    words.next().is_some_and(|w| w.eq_ignore_ascii_case("dear"))
        && words
            .next()
            .is_some_and(|w| GENERIC.iter().any(|g| w.eq_ignore_ascii_case(g)))
}

/// One warning per generic salutation in recipients.toml, at its line.
pub fn spam_warnings(file: &SourceFile, recipients: &[Recipient]) -> Vec<Problem> {
    let mut out = Vec::new();
    for r in recipients {
        let salutations = std::iter::once(r.salutation.as_str()).chain(
            r.translations
                .values()
                .filter_map(|w| w.salutation.as_deref()),
        );
        for salutation in salutations.filter(|s| is_generic(s)) {
            let message = format!(
                "recipient `{}`: the salutation \"{salutation}\" looks like mass mail to spam filters \
                 (SpamAssassin DEAR_SOMETHING, about +2 points)",
                r.id
            );
            let help = "greet the office instead: \"Dear Minister\", \"Dear Chair of the Supreme Court\", \
                        \"Your Excellency\"";
            // The value, not a comment that quotes it.
            let problem = Problem::warning_at_value(file, "salutation", salutation, message);
            out.push(problem.with_help(help));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_mass_mail_openings() {
        for s in [
            "Dear Sir or Madam",
            "Dear Madam Chair",
            "dear sir",
            "Dear Sirs",
            "Dear Friend",
        ] {
            assert!(is_generic(s), "{s}");
        }
        for s in [
            "Dear Minister",
            "Your Excellency",
            "Dear Chair of the Supreme Court",
            "Уважаемый Министр!",
            "Dear Siranush",
        ] {
            assert!(!is_generic(s), "{s}");
        }
    }
}
