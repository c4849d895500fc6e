//! `write --format pdf`: letters to print, read back with lopdf: the file
//! parses, the paper is A4 or Letter as asked or as the signer's country
//! has it, the font is embedded, and every word of the letter is there.

use crate::support::{DATE, NAME, ORGANISATION, Runs, TestCampaign, file_names};

/// `write --to ID --date DATE` as NAME for ORGANISATION, plus `extra`.
fn write(tc: &TestCampaign, to: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args(["write", "--to", to, "--date", DATE])
        .args(["--name", NAME, "--organisation", ORGANISATION])
        .args(extra);
    cmd
}

/// The PDF written to `-o letter.pdf` by `write` with `extra`.
fn pdf(tc: &TestCampaign, to: &str, extra: &[&str]) -> lopdf::Document {
    let out = tc.path("letter.pdf");
    let out = out.to_str().unwrap();
    write(tc, to, &[&["-o", out, "--force"], extra].concat()).succeeds();
    lopdf::Document::load(out).expect("the PDF parses")
}

/// Width and height of every page, in points.
fn page_sizes(doc: &lopdf::Document) -> Vec<(f32, f32)> {
    doc.get_pages()
        .values()
        .map(|&id| {
            let page = doc.get_dictionary(id).unwrap();
            let b: Vec<f32> = page
                .get(b"MediaBox")
                .and_then(lopdf::Object::as_array)
                .unwrap()
                .iter()
                .map(|o| o.as_float().unwrap())
                .collect();
            (b[2] - b[0], b[3] - b[1])
        })
        .collect()
}

const A4: (f32, f32) = (595.28, 841.89);
const LETTER: (f32, f32) = (612.0, 792.0);

fn all_are(sizes: &[(f32, f32)], (w, h): (f32, f32)) -> bool {
    !sizes.is_empty()
        && sizes
            .iter()
            .all(|(x, y)| (x - w).abs() < 0.1 && (y - h).abs() < 0.1)
}

#[test]
fn a4_by_default_and_letter_for_north_america_or_when_asked() {
    let tc = TestCampaign::new();
    let gb = pdf(&tc, "foreign-ministry", &["--country", "GB"]);
    assert!(all_are(&page_sizes(&gb), A4), "{:?}", page_sizes(&gb));
    let none = pdf(&tc, "foreign-ministry", &[]);
    assert!(all_are(&page_sizes(&none), A4), "no country: A4");
    for country in ["US", "ca"] {
        let doc = pdf(&tc, "foreign-ministry", &["--country", country]);
        assert!(all_are(&page_sizes(&doc), LETTER), "{country}");
    }
    let asked = pdf(
        &tc,
        "foreign-ministry",
        &["--country", "GB", "--paper", "letter"],
    );
    assert!(all_are(&page_sizes(&asked), LETTER));
    let asked = pdf(
        &tc,
        "foreign-ministry",
        &["--country", "US", "--paper", "a4"],
    );
    assert!(all_are(&page_sizes(&asked), A4));
}

#[test]
fn every_font_is_embedded() {
    let tc = TestCampaign::new();
    let doc = pdf(&tc, "supreme-court", &[]);
    let descriptors: Vec<&lopdf::Dictionary> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Type").and_then(lopdf::Object::as_name).ok() == Some(b"FontDescriptor"))
        .collect();
    assert!(!descriptors.is_empty(), "no font at all");
    for d in descriptors {
        assert!(
            [&b"FontFile"[..], b"FontFile2", b"FontFile3"]
                .iter()
                .any(|k| d.has(k)),
            "a font without its file: {d:?}"
        );
    }
}

/// Every word of `--format text`, in order, among the PDF's words.
fn has_every_word(tc: &TestCampaign, to: &str) {
    let text = write(tc, to, &["--format", "text"]).succeeds().stdout;
    let doc = pdf(tc, to, &[]);
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let extracted = doc.extract_text(&pages).expect("the text extracts");
    crate::support::words_in_order(&text, &extracted);
}

#[test]
fn the_pdf_holds_every_word_of_the_letter_in_english_and_russian() {
    let tc = TestCampaign::new();
    has_every_word(&tc, "foreign-ministry");
    has_every_word(&tc, "supreme-court");
}

#[test]
fn a_pdf_is_not_printed_on_a_terminal_but_goes_down_a_pipe() {
    // A pipe, not a terminal: the test's own stdout capture.
    let campaign = TestCampaign::new();
    let mut pdf_to_pipe = write(&campaign, "supreme-court", &["--format", "pdf"]);
    let out = pdf_to_pipe.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.starts_with(b"%PDF-"), "not a PDF");
    lopdf::Document::load_mem(&out.stdout).expect("the piped PDF parses");
}

#[test]
fn paper_is_for_pdf_only_and_bcc_for_email_only() {
    let tc = TestCampaign::new();
    let run = write(&tc, "supreme-court", &["--paper", "a4"]).exits(2);
    run.says("--paper lays out a PDF");
    run.no_stdout();
    let out = tc.path("bcc.pdf");
    let run = write(
        &tc,
        "supreme-court",
        &["--bcc-me", "-o", out.to_str().unwrap()],
    )
    .exits(2);
    run.says("a PDF is not an email");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn out_dir_gets_one_pdf_per_letter() {
    let tc = TestCampaign::new();
    let dir = tc.path("letters");
    let dir_arg = dir.to_str().unwrap();
    write(&tc, "supreme-court", &["--to", "foreign-ministry"])
        .args(["--format", "pdf", "--out-dir", dir_arg])
        .succeeds();
    let names = file_names(&dir);
    assert_eq!(names.len(), 2, "{names:?}");
    for name in names {
        assert!(name.ends_with(".pdf"), "{name}");
        lopdf::Document::load(dir.join(&name)).expect("each PDF parses");
    }
}

#[test]
fn one_file_holds_every_letter_of_a_run() {
    let tc = TestCampaign::new();
    let one = pdf(&tc, "supreme-court", &[]).get_pages().len();
    let both = pdf(&tc, "supreme-court", &["--to", "foreign-ministry"])
        .get_pages()
        .len();
    assert!(both > one, "{both} pages for two letters, {one} for one");
}

/// The text of every page of `doc`, one string a page.
fn page_texts(doc: &lopdf::Document) -> Vec<String> {
    doc.get_pages()
        .keys()
        .map(|&n| doc.extract_text(&[n]).expect("the text extracts"))
        .collect()
}

#[test]
fn a_petition_prints_its_letter_then_every_member_on_signature_sheets() {
    let tc = TestCampaign::new();
    let members: String = std::iter::once("name,organisation,email,country\n".to_string())
        .chain((1..=90).map(|i| format!("Member {i},Branch {i},m{i}@example.org,GB\n")))
        .collect();
    let list = tc.work_file("members.csv", members);
    let list = list.to_str().unwrap();
    let doc = pdf(&tc, "foreign-ministry", &["--signatories", list, "--group"]);
    let pages = page_texts(&doc);
    // The letter (which names its signatories) first, then the sheets.
    let first = pages
        .iter()
        .position(|p| p.contains("signatures, page 1 of"))
        .expect("signature sheets");
    assert!(
        first > 0 && pages[0].contains("Dear Minister"),
        "{}",
        pages[0]
    );
    let sheets = &pages[first..];
    assert!(sheets.len() >= 2, "90 members need more than one sheet");
    let total = sheets.len();
    for (n, page) in sheets.iter().enumerate() {
        assert!(
            page.contains("Organisation") && page.contains("Country"),
            "{page}"
        );
        assert!(
            page.contains(&format!("signatures, page {} of {total}", n + 1)),
            "{page}"
        );
    }
    let all = sheets.concat();
    let mut rest = all.as_str();
    for i in 1..=90 {
        let at = rest
            .find(&format!("Member {i}"))
            .unwrap_or_else(|| panic!("Member {i} missing or out of order"));
        rest = &rest[at..];
    }
}

#[test]
fn blank_sheets_follow_the_letter() {
    let tc = TestCampaign::new();
    let alone = pdf(&tc, "supreme-court", &["--lang", "en"])
        .get_pages()
        .len();
    let doc = pdf(
        &tc,
        "supreme-court",
        &["--lang", "en", "--blank-sheets", "2"],
    );
    let pages = page_texts(&doc);
    assert_eq!(pages.len(), alone + 2);
    assert!(pages[alone].contains("Signature") && pages[alone].contains("page 1 of 2"));
    let run = write(&tc, "supreme-court", &["--blank-sheets", "1"]).exits(2);
    run.says("--blank-sheets adds pages to a PDF");
}

const POSTAL_RECIPIENTS: &str = r#"
[campaign]
name = "Postal"

[[recipient]]
id = "office"
name = "The Office"

[[recipient]]
id = "post"
name = "The Post Office"
postal_address = """
1 Long Road
  Astana 010000
"""

[[recipient]]
id = "embassy"
name = "The Embassy"
[recipient.countries.GB]
postal_address = ["125 Pall Mall", "London SW1Y 5EA"]
"#;

const POSTAL_LETTER: &str = "+++\nsubject = \"S\"\nrecipients = [\"office\", \"post\", \"embassy\"]\n+++\n\
    {% include \"_header.txt\" %}\n\nText here.\n{%- if message %}\n\n{{ message }}\n{%- endif %}\n\n\
    {% include \"_signature.txt\" %}\n";

fn postal_campaign() -> TestCampaign {
    let tc = TestCampaign::new();
    let header = tc.read("letters/_header.txt");
    let signature = tc.read("letters/_signature.txt");
    TestCampaign::custom(
        POSTAL_RECIPIENTS,
        &[
            ("one.txt", POSTAL_LETTER),
            ("_header.txt", &header),
            ("_signature.txt", &signature),
        ],
    )
}

#[test]
fn postal_addresses_in_lines_or_one_string_and_by_country() {
    let tc = postal_campaign();
    let letter = |to: &str| {
        let mut cmd = tc.campaign_cmd();
        cmd.args(["write", "--to", to, "--name", NAME, "--country", "GB"])
            .args(["--date", DATE]);
        cmd.succeeds().stdout
    };
    assert!(
        letter("post").starts_with("The Post Office\n1 Long Road\nAstana 010000\n\n"),
        "{}",
        letter("post")
    );
    assert!(letter("embassy").contains("125 Pall Mall\nLondon SW1Y 5EA\n"));
    // Without one, the name and office only.
    assert!(letter("office").starts_with("The Office\n\n"));
}

#[test]
fn check_warns_of_a_letter_for_paper_without_a_postal_address() {
    let tc = postal_campaign();
    let run = tc.campaign_cmd().arg("check").succeeds();
    run.says("`office` has no email, phone or postal address");
    run.says("recipients.toml:6:6");
    assert!(!run.stderr.contains("`post` has no"), "{}", run.stderr);
    assert!(!run.stderr.contains("`embassy` has no"), "{}", run.stderr);
    // The built-in campaign invents no addresses and needs none: its
    // offices have an email address or a phone.
    let builtin = TestCampaign::new().cmd().arg("check").succeeds();
    assert!(
        !builtin.stderr.contains("postal address"),
        "{}",
        builtin.stderr
    );
}

#[test]
fn send_prints_a_pdf_of_each_postal_letter_into_print_dir() {
    let (f, server) = crate::support::serving(crate::smtp_server::ServerConfig::default());
    f.add_postal_recipient();
    for dir in ["letters-out", "print"] {
        std::fs::create_dir(f.work().join(dir)).unwrap();
    }
    f.send()
        .signer()
        .smtp(&server)
        .with(["--to", "supreme-court", "--to", "court-registry"])
        .with(["--out-dir", "letters-out", "--print-dir", "print", "--yes"])
        .succeeds();
    assert_eq!(server.received().len(), 1, "the court's email");
    let printed = file_names(&f.work().join("print"));
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(printed[0].contains("court-registry") && printed[0].ends_with(".pdf"));
    let text = file_names(&f.work().join("letters-out"));
    assert_eq!(text.len(), 1, "the text letter as before: {text:?}");
    let doc = lopdf::Document::load(f.work().join("print").join(&printed[0])).unwrap();
    assert!(all_are(&page_sizes(&doc), A4), "a signer in GB");
    let first = doc.extract_text(&[1]).unwrap();
    assert!(first.contains("1 Court Street"), "{first}");
}

#[test]
fn characters_the_font_cannot_show_are_named_in_a_warning() {
    let tc = TestCampaign::new();
    let out = tc.path("cjk.pdf");
    let run = tc
        .cmd()
        .args(["write", "--to", "supreme-court", "--date", DATE])
        .args(["--name", "李伟", "-o", out.to_str().unwrap()])
        .succeeds();
    run.says("has no glyph for 伟 李: those characters print as empty boxes");
    assert!(out.exists(), "the PDF is still written");
    let latin = write(
        &tc,
        "supreme-court",
        &["-o", tc.path("l.pdf").to_str().unwrap()],
    )
    .succeeds();
    assert!(!latin.stderr.contains("no glyph"), "{}", latin.stderr);
}

/// Members in the US (first) and in Britain.
const TWO_COUNTRIES: &str =
    "name,email,country\nAmy Lee,amy@example.org,US\nBen Ode,ben@example.org,GB\n";

#[test]
fn a_petition_is_printed_on_the_organisers_paper() {
    let tc = TestCampaign::new();
    let list = tc.work_file("members.csv", TWO_COUNTRIES);
    let group = ["--signatories", list.to_str().unwrap(), "--group"];
    let organiser_in_gb = pdf(
        &tc,
        "supreme-court",
        &[&group[..], &["--country", "GB"]].concat(),
    );
    assert!(all_are(&page_sizes(&organiser_in_gb), A4));
    // Without --country, the first member's.
    let first_member = pdf(&tc, "supreme-court", &group);
    assert!(all_are(&page_sizes(&first_member), LETTER));
}
