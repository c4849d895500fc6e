//! Filters of our own that letters may use beside Tera's.
//!
//! `guillemets` puts a name in «»: inside a Russian sentence a quoted name
//! stays in the nominative («от имени организации «Единство»»), so a
//! letter reads right whatever organisation signs it, one word or several,
//! Cyrillic or Latin.

/// The pairs a name may already be wrapped in: «», "", “” and „“ (or „”).
const PAIRS: &[(char, char)] = &[('«', '»'), ('"', '"'), ('“', '”'), ('„', '“'), ('„', '”')];

/// `name` in «», once: a name the signer already quoted keeps its one pair
/// (as «»), never ««…»». Quotes inside a name nest, as in Russian legal
/// names: `Профсоюз «Единство»` becomes `«Профсоюз «Единство»»`, and so
/// does `Профсоюз "Единство"` (typed quotes in pairs become «»).
pub fn guillemets(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return String::new();
    }
    let inner = wrapped(name).map_or(name, str::trim);
    format!("«{}»", typed_quotes(inner))
}

/// `"…"` pairs as `«…»`; an odd number of `"` is left as typed.
fn typed_quotes(text: &str) -> std::borrow::Cow<'_, str> {
    let count = text.matches('"').count();
    if count == 0 || count % 2 == 1 {
        return text.into();
    }
    let mut open = true;
    text.chars()
        .map(|c| match c {
            '"' => {
                open = !open;
                if open { '»' } else { '«' }
            }
            c => c,
        })
        .collect::<String>()
        .into()
}

/// The text inside `name`'s quotes, when one pair wraps all of it (not
/// `«А» и «Б»`, which starts and ends with quotes of two pairs).
fn wrapped(name: &str) -> Option<&str> {
    PAIRS.iter().find_map(|&(open, close)| {
        let inner = name.strip_prefix(open)?.strip_suffix(close)?;
        let one_pair = if open == '«' {
            // Nested «» are fine as long as the first one closes last.
            let mut depth = 0usize;
            inner.chars().all(|c| {
                match c {
                    '«' => depth += 1,
                    '»' if depth == 0 => return false,
                    '»' => depth -= 1,
                    _ => {}
                }
                true
            }) && depth == 0
        } else {
            !inner.contains([open, close])
        };
        one_pair.then_some(inner)
    })
}

#[cfg(test)]
mod tests {
    use super::guillemets;

    #[test]
    fn a_name_is_quoted_once_whatever_it_looks_like() {
        for (name, quoted) in [
            ("Единство", "«Единство»"),
            (
                "Профсоюз работников образования",
                "«Профсоюз работников образования»",
            ),
            ("Unite Branch 42", "«Unite Branch 42»"),
            ("Профсоюз «Единство»", "«Профсоюз «Единство»»"),
            ("«Единство»", "«Единство»"),
            ("«Профсоюз «Единство»»", "«Профсоюз «Единство»»"),
            ("\"Единство\"", "«Единство»"),
            ("“Solidarity”", "«Solidarity»"),
            ("„Solidarność“", "«Solidarność»"),
            ("  « Единство » ", "«Единство»"),
            ("«А» и «Б»", "««А» и «Б»»"),
            ("\"A\" and \"B\"", "««A» and «B»»"),
            ("Профсоюз \"Единство\"", "«Профсоюз «Единство»»"),
            ("Union \"Unity", "«Union \"Unity»"),
            ("", ""),
            ("   ", ""),
        ] {
            assert_eq!(guillemets(name), quoted, "{name:?}");
        }
    }
}
