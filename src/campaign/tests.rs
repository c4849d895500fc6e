//! Unit tests for loading: campaigns made in memory, problems checked by
//! file, line and message.

use super::*;

fn today() -> jiff::civil::Date {
    "2026-11-22".parse().unwrap()
}

const RECIPIENTS: &str = r#"[campaign]
name = "Test"
copies_to = ["copies@campaign.org"]
default_letter = "one"

[[recipient]]
id = "court"
name = "The Court"
salutation = "Dear Judge"
email = "court@court.org"
cc = ["clerk@court.org"]

[[recipient]]
id = "embassy"
name = "The Embassy"
[recipient.countries.GB]
email = "gb@embassy.org"
"#;

const LETTER: &str = "+++\nsubject = \"Hello {{ recipient.name }}\"\nrecipients = [\"court\", \"embassy\"]\n+++\n{{ recipient.salutation }},\n\nFrom {{ signer.name }}.\n";

fn sources(recipients: &str, letters: &[(&str, &str)]) -> Sources {
    Sources {
        root: None,
        recipients: SourceFile {
            name: "recipients.toml".into(),
            text: recipients.into(),
        },
        letters: letters
            .iter()
            .map(|(name, text)| SourceFile {
                name: format!("letters/{name}"),
                text: text.to_string(),
            })
            .collect(),
        problems: Vec::new(),
    }
}

fn problems(recipients: &str, letters: &[(&str, &str)]) -> Vec<String> {
    match load(sources(recipients, letters), today()) {
        Ok(_) => Vec::new(),
        Err(p) => {
            p.0.iter()
                .filter(|p| p.is_error())
                .map(|p| p.to_string())
                .collect()
        }
    }
}

#[test]
fn loads_a_valid_campaign() {
    let campaign = load(sources(RECIPIENTS, &[("one.txt", LETTER)]), today()).unwrap();
    assert_eq!(campaign.letters.len(), 1);
    assert_eq!(
        campaign.letter("one").unwrap().recipients,
        ["court", "embassy"]
    );
    assert_eq!(campaign.recipient("court").unwrap().cc, ["clerk@court.org"]);
    assert!(campaign.warnings.is_empty());
}

#[test]
fn the_embedded_campaign_is_valid() {
    let campaign = load(Sources::embedded(), today()).unwrap();
    for id in [
        "supreme-court",
        "foreign-ministry",
        "presidential-administration",
        "embassy",
    ] {
        campaign.recipient(id).unwrap();
    }
    assert!(campaign.letters.len() >= 4);
}

#[test]
fn malformed_toml_names_line_and_column() {
    let broken = RECIPIENTS.replace("name = \"The Court\"", "name = \"The Court");
    let found = problems(&broken, &[("one.txt", LETTER)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("recipients.toml:8:"), "{}", found[0]);
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let broken = RECIPIENTS.replace("salutation =", "salutaton =");
    let found = problems(&broken, &[("one.txt", LETTER)]);
    assert!(found[0].contains("unknown field `salutaton`"), "{found:?}");
}

#[test]
fn every_semantic_problem_is_reported() {
    let broken = RECIPIENTS
        .replace("id = \"embassy\"", "id = \"court\"")
        .replace("clerk@court.org", "clerk at court");
    let letter = LETTER.replace("\"embassy\"", "\"embasy\"");
    let found = problems(&broken, &[("one.txt", &letter)]);
    let all = found.join("\n");
    assert!(all.contains("duplicate recipient id `court`"), "{all}");
    assert!(all.contains("invalid cc address `clerk at court`"), "{all}");
    assert!(all.contains("letters/one.txt:3:"), "{all}");
    assert!(all.contains("unknown recipient `embasy`"), "{all}");
}

#[test]
fn template_syntax_errors_keep_the_files_line_numbers() {
    let letter = LETTER.replace("From {{ signer.name }}.", "From {{ signer.name }.");
    let found = problems(RECIPIENTS, &[("one.txt", &letter)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("letters/one.txt"), "{}", found[0]);
    assert!(
        found[0].contains("7:"),
        "the error points at line 7: {}",
        found[0]
    );
}

#[test]
fn placeholders_and_past_deadlines_are_warnings() {
    let text = RECIPIENTS
        .replace("court@court.org", "court@placeholder.invalid")
        .replace("default_letter", "deadline = 2020-01-01\ndefault_letter");
    let campaign = load(sources(&text, &[("one.txt", LETTER)]), today()).unwrap();
    let warnings: Vec<String> = campaign.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("placeholder")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("deadline 2020-01-01 has passed")),
        "{warnings:?}"
    );
}

#[test]
fn country_dependent_recipients() {
    let campaign = load(sources(RECIPIENTS, &[("one.txt", LETTER)]), today()).unwrap();
    let embassy = campaign.recipient("embassy").unwrap();
    match embassy.resolve(Some("gb"), None).unwrap() {
        CountryOutcome::Found(a) => assert_eq!(a.email.as_deref(), Some("gb@embassy.org")),
        CountryOutcome::NoCountry(_) => panic!("GB is known"),
    }
    let err = embassy.resolve(Some("ZZ"), None).err().unwrap().to_string();
    assert!(err.contains("known countries: GB"), "{err}");
    assert!(matches!(
        embassy.resolve(Some("ZZ"), Some("zz@embassy.org")),
        Ok(CountryOutcome::Found(_))
    ));
    assert!(matches!(
        embassy.resolve(None, None),
        Ok(CountryOutcome::NoCountry(_))
    ));
}

#[test]
fn loading_for_one_letter_compiles_only_that_letter() {
    let broken = LETTER.replace("From {{ signer.name }}.", "From {{ signer.name }.");
    let letters = [("one.txt", LETTER), ("two.txt", broken.as_str())];
    let campaign = load_for_letter(sources(RECIPIENTS, &letters), today(), Some("one")).unwrap();
    assert!(
        campaign
            .templates
            .tera()
            .get_template_names()
            .all(|n| !n.starts_with("two"))
    );
    assert!(
        load(sources(RECIPIENTS, &letters), today()).is_err(),
        "a full load still finds it"
    );
}
