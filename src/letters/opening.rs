//! Where a letter starts saying what it is about: the paragraph after the
//! salutation, which `send` shows in its preview of each message.

use crate::message::Rendered;

/// The letter's first paragraph after its salutation, whatever the
/// salutation ends with ("Dear Minister," or «Уважаемый господин Министр!»).
pub fn opening(letter: &Rendered) -> &str {
    after_salutation(
        &letter.body,
        letter.recipient.salutation_in(&letter.language),
    )
}

/// The paragraph after the one that greets with `salutation`; else after
/// the first one-line paragraph that reads as a greeting (a letter with a
/// salutation of its own); else the first paragraph.
fn after_salutation<'a>(body: &'a str, salutation: &str) -> &'a str {
    let paragraphs: Vec<&str> = body
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .collect();
    let salutation = salutation.trim();
    let greets = |p: &&str| {
        let last = p.lines().last().unwrap_or("").trim();
        !salutation.is_empty() && last.starts_with(salutation)
    };
    let reads_as_greeting = |p: &&str| !p.contains('\n') && p.trim_end().ends_with([',', '!', ':']);
    let at = paragraphs
        .iter()
        .position(greets)
        .or_else(|| paragraphs.iter().position(reads_as_greeting));
    match at {
        Some(i) => paragraphs.get(i + 1).copied().unwrap_or(""),
        None => paragraphs.first().copied().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::after_salutation;

    const RUSSIAN: &str = "Председателю Верховного Суда Республики Казахстан\n\n\
                           22 ноября 2026 г.\n\nУважаемый Председатель Верховного Суда!\n\n\
                           Я обращаюсь к Вам по делу Натальи\nСоколовой.\n\n\
                           Прошу сообщить мне о принятых мерах.\n\nС уважением,\nJo Bloggs\n";

    #[test]
    fn a_salutation_ending_in_an_exclamation_mark_is_found() {
        assert_eq!(
            after_salutation(RUSSIAN, "Уважаемый Председатель Верховного Суда!"),
            "Я обращаюсь к Вам по делу Натальи\nСоколовой."
        );
    }

    #[test]
    fn a_salutation_with_a_comma_added_by_the_letter_is_found() {
        let english = "The Chair\nSupreme Court\n\n22 November 2026\n\n\
                       Dear Chair of the Supreme Court,\n\nI write about her case.\n\n\
                       Yours sincerely,\nJo Bloggs\n";
        assert_eq!(
            after_salutation(english, "Dear Chair of the Supreme Court"),
            "I write about her case."
        );
    }

    #[test]
    fn a_greeting_of_the_letters_own_is_found_by_its_punctuation() {
        // Not the closing («С уважением,»): the first greeting-like line.
        assert_eq!(
            after_salutation(RUSSIAN, "Dear Sir or Madam"),
            "Я обращаюсь к Вам по делу Натальи\nСоколовой."
        );
        let own = "22 November 2026\n\nFriends:\n\nWe write.\n";
        assert_eq!(after_salutation(own, ""), "We write.");
    }

    #[test]
    fn a_salutation_on_the_last_line_of_a_block_is_found() {
        let body = "Ministry\n22 November 2026\nDear Minister,\n\nWe write.\n";
        assert_eq!(after_salutation(body, "Dear Minister"), "We write.");
    }

    #[test]
    fn a_letter_without_a_greeting_opens_with_its_first_paragraph() {
        assert_eq!(
            after_salutation("We write.\n\nMore.\n", "Dear Minister"),
            "We write."
        );
        assert_eq!(after_salutation("", "Dear Minister"), "");
    }
}
