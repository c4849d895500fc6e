//! Languages: the Russian letters' structure (forms of address, requests,
//! signature, a Russian date), `--lang` checks, each recipient's own
//! language as the default, and batches that mix languages.

use crate::core_list::listing;
use crate::support::{DATE, NAME, ORGANISATION, Run, Runs, TestCampaign, array, mail};

/// The Russian forms each office is addressed with: the dative heading and
/// the salutation.
const OFFICES: &[(&str, &str, &str)] = &[
    (
        "supreme-court",
        "Председателю Верховного Суда Республики Казахстан",
        "Уважаемый Председатель Верховного Суда!",
    ),
    (
        "foreign-ministry",
        "Министру иностранных дел Республики Казахстан",
        "Уважаемый господин Министр!",
    ),
    (
        "presidential-administration",
        "Руководителю Администрации Президента Республики Казахстан",
        "Уважаемый Руководитель Администрации Президента!",
    ),
    (
        "embassy",
        "Чрезвычайному и Полномочному Послу Республики Казахстан в Соединённом Королевстве Великобритании и Северной Ирландии",
        "Ваше Превосходительство!",
    ),
];

const LETTERS: &[&str] = &[
    "sokolova",
    "drop-charges",
    "mangystau-oil-workers",
    "kuramshin",
];

/// The Russian months in the genitive, as a date names them.
const RUSSIAN_MONTHS: &str = "января февраля марта апреля мая июня июля августа \
                              сентября октября ноября декабря";

fn write_ru(tc: &TestCampaign, letter: &str, recipient: &str) -> String {
    let mut cmd = tc.cmd();
    cmd.args(["write", letter, "--to", recipient, "--lang", "ru"])
        .args(["--name", NAME, "--organisation", ORGANISATION])
        .args(["--date", DATE, "--country", "GB"]);
    cmd.succeeds().stdout
}

/// "22 ноября 2026 г.": a day, a Russian month in the genitive, the year.
fn is_russian_date(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    matches!(parts.as_slice(), [day, month, year, "г."]
        if day.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
            && RUSSIAN_MONTHS.split_whitespace().any(|m| m == *month)
            && year.len() == 4 && year.parse::<u16>().is_ok())
}

#[test]
fn every_russian_letter_has_the_right_address_requests_signature_and_date() {
    let tc = TestCampaign::new();
    let mut checked = 0;
    for letter in LETTERS {
        for (recipient, heading, salutation) in OFFICES {
            if *letter != "sokolova" && *letter != "drop-charges" && *recipient == "supreme-court" {
                continue; // not among that letter's recipients
            }
            let out = write_ru(&tc, letter, recipient);
            let blocks: Vec<&str> = out.split("\n\n").collect();
            assert_eq!(
                blocks[0].replace('\n', " "),
                *heading,
                "{letter} to {recipient}: the heading\n{out}"
            );
            assert_eq!(blocks[1], "22 ноября 2026 г.", "{letter} to {recipient}");
            assert!(is_russian_date(blocks[1]));
            assert_eq!(blocks[2], *salutation, "{letter} to {recipient}");
            assert!(
                blocks[3].starts_with("Я обращаюсь к Вам от имени организации «Unite Branch 42» "),
                "the organisation is in the first sentence: {}",
                blocks[3]
            );
            assert!(out.contains("По состоянию на "), "dated facts: {out}");
            let requests = blocks
                .iter()
                .position(|b| b.contains("прошу"))
                .unwrap_or_else(|| panic!("{letter} to {recipient}: no request\n{out}"));
            assert!(
                blocks[requests + 1].starts_with(" - "),
                "the requests follow as a list:\n{out}"
            );
            let signature: Vec<&str> = out
                .split_once("\nС уважением,\n")
                .unwrap_or_else(|| panic!("no closing in\n{out}"))
                .1
                .lines()
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(signature, [NAME, ORGANISATION]);
            for english in ["Dear", "Yours", "November", "I write", "Mr "] {
                assert!(
                    !out.contains(english),
                    "{english:?} in {letter} to {recipient}"
                );
            }
            assert!(
                out.lines().all(|l| l.chars().count() <= 72),
                "reflowed:\n{out}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14);
}

/// After «от имени» a name would have to be declined, which no template
/// can do: the letters say «от имени организации «…»», where any name
/// stays in the nominative, quoted once.
#[test]
fn any_organisation_stays_grammatical_in_every_russian_letter() {
    let tc = TestCampaign::new();
    let names = [
        ("Единство", "«Единство»"),
        (
            "Профсоюз работников нефтегазовой отрасли",
            "«Профсоюз работников нефтегазовой отрасли»",
        ),
        ("Профсоюз «Единство»", "«Профсоюз «Единство»»"),
        ("Профсоюз \"Единство\"", "«Профсоюз «Единство»»"),
        ("«Единство»", "«Единство»"),
        ("\"Единство\"", "«Единство»"),
        ("Amnesty International UK", "«Amnesty International UK»"),
    ];
    for letter in LETTERS {
        for (organisation, quoted) in names {
            let mut cmd = tc.cmd();
            cmd.args(["write", letter, "--to", "foreign-ministry", "--lang", "ru"])
                .args(["--name", NAME, "--organisation", organisation])
                .args(["--date", DATE]);
            let out = cmd.succeeds().stdout;
            let opening = out.split("\n\n").nth(3).unwrap().replace('\n', " ");
            let expected = format!("Я обращаюсь к Вам от имени организации {quoted} ");
            assert!(
                opening.starts_with(&expected),
                "{letter}, {organisation}: {opening}"
            );
            // The signature keeps the name as the signer wrote it.
            assert!(
                out.ends_with(&format!("\n{NAME}\n{organisation}\n")),
                "{out}"
            );
        }
    }
}

/// The To header names the recipient as the letter does: in Russian for a
/// Russian letter (recipients.toml's `[recipient.translations.ru]`).
#[test]
fn the_to_header_names_the_recipient_in_the_letters_language() {
    let tc = TestCampaign::new();
    let to_name = |lang: &str, country: &str, to: &str| {
        let mut cmd = tc.cmd();
        cmd.args(["write", "--to", to, "--lang", lang, "--format", "eml"])
            .args(["--name", NAME, "--email", "jo@example.org"])
            .args(["--country", country, "--date", DATE]);
        mail(cmd.succeeds().stdout.as_bytes()).to_name
    };
    for (lang, country, to, name) in [
        (
            "ru",
            "GB",
            "supreme-court",
            "Верховный Суд Республики Казахстан",
        ),
        (
            "ru",
            "DE",
            "embassy",
            "Посольство Республики Казахстан в Германии",
        ),
        (
            "ru-KZ",
            "GB",
            "foreign-ministry",
            "Министерство иностранных дел Республики Казахстан",
        ),
        (
            "en",
            "GB",
            "supreme-court",
            "The Chair of the Supreme Court",
        ),
    ] {
        assert_eq!(to_name(lang, country, to), name, "{lang} {to}");
    }
    // A batch of both languages: each letter its own To.
    tc.work_file(
        "m.csv",
        "name,email,language\nAnn Lee,ann@example.org,ru\nBo Chan,bo@example.org,en\n",
    );
    let mut cmd = tc.cmd();
    cmd.args([
        "write",
        "--signatories",
        "m.csv",
        "--to",
        "foreign-ministry",
    ])
    .args([
        "--format",
        "mbox",
        "--email",
        "sec@example.org",
        "--date",
        DATE,
    ]);
    let out = cmd.succeeds().stdout;
    let names: Vec<String> = out
        .split("\nFrom ")
        .map(|m| m.split_once('\n').map_or(m, |(_, rest)| rest))
        .map(|m| mail(m.as_bytes()).to_name)
        .collect();
    assert_eq!(
        names,
        [
            "Министерство иностранных дел Республики Казахстан",
            "The Minister of Foreign Affairs"
        ]
    );
}

/// `send`'s preview shows each letter's opening, after a Russian
/// salutation ending in "!" too (it showed the signature), and names the
/// recipient as the To header does.
#[test]
fn the_send_preview_shows_a_russian_letters_opening() {
    let tc = TestCampaign::sendable();
    let out = tc
        .send()
        .signer()
        .with(["--dry-run", "--lang", "ru", "--organisation", ORGANISATION])
        .with(["--to", "supreme-court", "--to", "foreign-ministry"])
        .succeeds();
    out.says("   To: Верховный Суд Республики Казахстан <supreme-court@kz-gov.org>")
        .says("   To: Министерство иностранных дел Республики Казахстан <")
        .says("   | Я обращаюсь к Вам от имени организации «Unite Branch 42» по делу");
    assert!(!out.all().contains("| С уважением"), "{out:?}");
    assert_eq!(
        out.all().matches("   | Я обращаюсь к Вам").count(),
        2,
        "{out:?}"
    );
}

#[test]
fn a_russian_petition_speaks_for_everyone() {
    let tc = TestCampaign::new();
    tc.work_file("m.csv", "name\nАнна Иванова\nJo Bloggs\n");
    let mut cmd = tc.cmd();
    cmd.args(["write", "--signatories", "m.csv", "--group", "--lang", "ru"])
        .args(["--to", "foreign-ministry", "--date", DATE]);
    let out = cmd.succeeds();
    out.prints("Мы, нижеподписавшиеся, обращаемся к Вам")
        .prints("просим Вас")
        .prints("С уважением,\n\nНижеподписавшиеся:\nАнна Иванова\nJo Bloggs");
    assert!(!out.stdout.contains("прошу"), "{out:?}");
}

/// `write` of the built-in campaign with `args`, which must refuse (exit 2).
fn refused(tc: &TestCampaign, args: &[&str]) -> Run {
    tc.cmd().arg("write").args(args).exits(2)
}

#[test]
fn lang_the_letter_lacks_is_an_error_listing_what_it_has() {
    let tc = TestCampaign::new();
    refused(&tc, &["--lang", "de", "--name", NAME])
        .no_stdout()
        .says("has no `de` version")
        .says("written in: en, ru");
    // A letter with one language only.
    tc.write(
        "letters/one.txt",
        "+++\nsubject = \"One\"\nrecipients = [\"foreign-ministry\"]\n+++\nDear Minister,\n\nText.\n",
    );
    let out = tc
        .campaign_cmd()
        .args(["write", "one", "--lang", "ru", "--name", NAME])
        .exits(2);
    out.says("has no `ru` version; it is written in: en");
}

#[test]
fn lang_must_be_a_language_tag_from_flag_or_environment() {
    let tc = TestCampaign::new();
    for bad in ["english", "en gb", "../ru", "1"] {
        refused(&tc, &["--lang", bad, "--name", NAME])
            .no_stdout()
            .says("is not a language tag");
    }
    let mut cmd = tc.cmd();
    cmd.args(["write", "--name", NAME])
        .env("PROTEST_LETTER_LANG", "Russian!");
    cmd.exits(2).says("`Russian!` is not a language tag");
    // A region subtag finds the language.
    let mut cmd = tc.cmd();
    cmd.args(["write", "--lang", "ru-KZ", "--to", "foreign-ministry"])
        .args(["--name", NAME]);
    cmd.succeeds().prints("Уважаемый господин Министр!");
}

#[test]
fn each_recipient_gets_its_own_language_without_lang() {
    let tc = TestCampaign::new();
    let sokolova = ["write", "sokolova", "--name", NAME, "--country", "GB"];
    let out = tc.cmd().args(sokolova).args(["--date", DATE]).succeeds();
    // supreme-court and presidential-administration read Russian; the
    // ministry and the embassy English (recipients.toml).
    out.prints("Уважаемый Председатель Верховного Суда!")
        .prints("Уважаемый Руководитель Администрации Президента!")
        .prints("\nDear Minister,\n")
        .prints("\nYour Excellency,\n")
        .prints("22 ноября 2026 г.")
        .prints("22 November 2026");
    out.says("the letter to `supreme-court` is in Russian")
        .says("--lang en");
    // --lang overrides every recipient's language.
    let english = tc.cmd().args(sokolova).args(["--lang", "en"]).succeeds();
    assert!(!english.stdout.chars().any(|c| ('а'..='я').contains(&c)));
}

#[test]
fn a_batch_mixes_languages_by_recipient() {
    let tc = TestCampaign::new();
    tc.work_file(
        "m.csv",
        "name,message\nAnn Lee,My union has followed this case.\nBo Chan,I was at the London protest.\n",
    );
    let mut cmd = tc.cmd();
    cmd.args(["write", "--signatories", "m.csv", "--date", DATE])
        .args(["--to", "supreme-court", "--to", "foreign-ministry"]);
    let out = cmd.succeeds().stdout;
    assert_eq!(
        out.matches("Уважаемый Председатель Верховного Суда!")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(out.matches("\nDear Minister,\n").count(), 2, "{out}");
}

#[test]
fn list_shows_languages_and_that_the_campaign_is_historical() {
    let tc = TestCampaign::new();
    let out = tc.cmd().arg("list").succeeds();
    out.prints("Historical worked example")
        .prints("Deadline: 2011-12-31")
        .prints("A record: as of November 2011")
        .prints("Alina Bulatovna Rakhimbekova (historical)");
    assert_eq!(
        out.stdout.matches("languages: en, ru").count(),
        4,
        "{out:?}"
    );
    let json = listing();
    assert_eq!(
        json["letters"][0]["languages"],
        serde_json::json!(["en", "ru"])
    );
    let court = array(&json["recipients"])
        .iter()
        .find(|r| r["id"] == "supreme-court")
        .unwrap();
    assert_eq!(court["historical_name"], "Alina Bulatovna Rakhimbekova");
    assert_eq!(court["language"], "ru");
    assert!(!court["name"].as_str().unwrap().contains("Rakhimbekova"));
}

/// A letter in a language its recipient has no names in would greet them
/// in another: `check` warns, naming the recipient and the missing keys.
#[test]
fn check_warns_of_a_recipient_without_names_in_a_letter_s_language() {
    let recipients = "[campaign]\nname = \"Languages\"\n\n\
        [[recipient]]\nid = \"court\"\nname = \"The Court\"\ntitle = \"Supreme Court\"\n\
        salutation = \"Dear Judges\"\nemail = \"court@court.kz\"\n\n\
        [recipient.translations.ru]\nsalutation = \"Уважаемые судьи!\"\n\n\
        [[recipient]]\nid = \"ministry\"\nname = \"The Ministry\"\nsalutation = \"Dear Minister\"\n\
        email = \"ministry@court.kz\"\n\n\
        [recipient.translations.ru]\nname = \"Министерство\"\nsalutation = \"Уважаемый Министр!\"\n";
    let letter = |subject: &str| {
        format!(
            "+++\nsubject = \"{subject}\"\nrecipients = [\"court\", \"ministry\"]\n+++\n\
             {{{{ recipient.salutation }}}}\n{{{{ message }}}}\n\
             {{% for s in signatories %}}{{{{ s.name }}}}\n{{% endfor %}}\n"
        )
    };
    let tc = TestCampaign::custom(
        recipients,
        &[("one.txt", &letter("One")), ("one.ru.txt", &letter("Одно"))],
    );
    let out = tc.campaign_cmd().arg("check").succeeds();
    let line = tc.line_of("recipients.toml", "id = \"court\"");
    out.says(&format!(
        "recipients.toml:{line}:6: warning: recipient `court` has no name, title in `ru`: \
         letters/one.ru.txt would use the ones above (\"The Court\", \"Supreme Court\")"
    ))
    .says("add [recipient.translations.ru] to this recipient, with name = \"…\", title = \"…\"");
    // The ministry has all it needs in Russian (it has no title).
    assert!(!out.stderr.contains("`ministry` has no"), "{out:?}");
}
