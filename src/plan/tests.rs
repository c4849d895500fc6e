//! Differential tests: a plan's bytes must equal the general path's for
//! every built-in letter, recipient, language and format, whoever signs.
//! `cargo test` runs a bounded number of generated cases; the benchmark
//! self-check runs many (`PROTEST_LETTER_PLAN_CASES`).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::campaign::{CountryOutcome, Sources};
use crate::commands::write::Produce;
use crate::letters::{Account, Addressing, Signing};
use crate::message::Composer;
use crate::render::Renderer;
use crate::signatories::MemberList;

const FORMATS: [Format; 4] = [Format::Text, Format::Eml, Format::Mbox, Format::Json];

pub(crate) fn campaign() -> &'static Campaign {
    static CAMPAIGN: std::sync::OnceLock<Campaign> = std::sync::OnceLock::new();
    CAMPAIGN.get_or_init(|| {
        crate::campaign::load(Sources::embedded(), jiff::civil::date(2026, 11, 22))
            .expect("the built-in campaign loads")
    })
}

/// Every recipient the built-in campaign can address, by email or not;
/// a country-dependent one with each country.
pub(crate) fn addressees(campaign: &Campaign) -> Vec<Arc<Addressee>> {
    let mut out = Vec::new();
    for r in &campaign.recipients {
        let mut countries: Vec<Option<&str>> =
            r.countries.keys().map(|c| Some(c.as_str())).collect();
        countries.truncate(2);
        countries.push(None);
        for c in countries {
            if let Ok(CountryOutcome::Found(a) | CountryOutcome::NoCountry(a)) = r.resolve(c, None)
            {
                out.push(Arc::new(a));
            }
        }
    }
    out
}

/// A per-member signing (the list itself is not read by these tests).
fn per_member() -> (tempfile::TempDir, Signing) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    std::fs::write(&path, "name,email\nJo,jo@x.org\n").unwrap();
    let list = MemberList::open(&path, None).unwrap();
    (dir, Signing::PerMember(list))
}

struct Run {
    letter: usize,
    lang: Option<String>,
    recipient: usize,
    format: Format,
    fixed_clock: bool,
    account_org: bool,
    bcc_me: bool,
}

/// Writes every signer through a fresh planner and through the general
/// path; returns (plan bytes, general bytes) per signer, and the planner's
/// count of letters that took the fast path.
/// Per letter (plan bytes, general bytes); letters on the fast path; notes.
type BothWays = (Vec<(Vec<u8>, Vec<u8>)>, u64, String);

fn both_ways(run: &Run, signers: &[Arc<Signer>]) -> BothWays {
    let campaign = campaign();
    let letter = &campaign.letters[run.letter % campaign.letters.len()];
    let all = addressees(campaign);
    let mut addressees = vec![Arc::clone(&all[run.recipient % all.len()])];
    if run.format.is_email() && addressees[0].email.is_none() {
        addressees = all.iter().filter(|a| a.email.is_some()).cloned().collect();
        addressees.truncate(1);
    }
    let clock = if run.fixed_clock {
        Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_795_305_600))
    } else {
        Clock::Now
    };
    let renderer = Renderer::new(
        campaign,
        letter,
        jiff::civil::date(2026, 11, 22),
        run.lang.as_deref(),
    );
    let composer = Composer::new(&campaign.info.copies_to, &addressees, clock, true).unwrap();
    let (_dir, signing) = per_member();
    let account = Account {
        name: "Sam Secretary".into(),
        organisation: if run.account_org {
            "Unite Branch 42".into()
        } else {
            String::new()
        },
        email: "sec@union.example".into(),
        // Both --reply-to choices, with and without an organisation.
        reply_to: if run.account_org {
            crate::message::ReplyTo::Member
        } else {
            crate::message::ReplyTo::None
        },
    };
    let planner = Planner::new(campaign, letter, run.format, clock);
    let addressing = Addressing::same(addressees.clone(), signers.len() as u64);
    let produce = Produce {
        signing: &signing,
        renderer: &renderer,
        composer: &composer,
        addressing: &addressing,
        account: Some(&account),
        bcc_me: run.bcc_me,
        format: run.format,
        planner: Some(&planner),
    };
    let mut scratch = produce.scratch();
    let mut out = Vec::new();
    let mut fast = 0;
    for signer in signers {
        for a in &addressees {
            // One instant for both, as `Planner::write` gives the general
            // path the plan's time when it falls back.
            let mut planned = Vec::new();
            let now = clock.now();
            let planned_ok =
                match planner.try_plan(&produce, &mut scratch, a, signer, false, now, &mut planned)
                {
                    Ok(()) => {
                        fast += 1;
                        true
                    }
                    Err(_) => {
                        planned.clear();
                        produce
                            .write(&mut scratch, a, signer, false, now, &mut planned)
                            .is_ok()
                    }
                };
            let mut general = Vec::new();
            let general_ok = produce
                .write(&mut scratch, a, signer, false, now, &mut general)
                .is_ok();
            assert_eq!(planned_ok, general_ok, "one way failed, the other did not");
            out.push((planned, general));
        }
    }
    let notes = planner.summary().join("\n") + &planner.refusal().unwrap_or_default();
    (out, fast, notes)
}

/// Values a member list can hold, in many scripts and shapes.
pub(crate) fn name() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "Jo",
        "Bloggs",
        "Ann",
        "O'Brien",
        "\"Red\"",
        "Bloggs,",
        "Zoë",
        "José",
        "Ærøskøbing",
        "Łukasz",
        "Әйнұр",
        "Құрманов",
        "Наталья",
        "Соколова",
        "王小明",
        "東京",
        "Ünïcødé",
        "From",
        ">From",
        "Müller-Lüdenscheidt",
        "van der Berg",
        "Smith-Jones",
        "a",
        "QQ",
        "=?utf-8?q?x?=",
        "<jo@x.org>",
        "(union)",
        "\\back",
        "tab\tin",
    ]);
    prop_oneof![
        prop::collection::vec(words.clone(), 1..4).prop_map(|w| w.join(" ")),
        prop::collection::vec(words, 8..20).prop_map(|w| w.join(" ")),
        "[A-Za-z]{1,12}( [A-Za-z]{1,12}){0,2}",
        "[A-Za-z ]{60,120}",
    ]
}

pub(crate) fn optional(s: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), s]
}

prop_compose! {
    fn signer()(
        name in name(),
        organisation in optional(name()),
        email in optional(prop::sample::select(vec![
            "jo@union.org", "ann.bee@example.com", "x@müller.de", "o'brien@tcd.ie", "a+b@c.io",
        ]).prop_map(str::to_string)),
        address in optional(prop::sample::select(vec![
            "1 High St\\nLondon", "Flat 2, 3 Long Road\\n\\nLeeds", "ул. Абая 10\\nАлматы", "5 Main St  \\nCork", "PO Box 9",
        ]).prop_map(str::to_string)),
        country in optional(prop::sample::select(vec!["GB", "de", "KZ"]).prop_map(str::to_string)),
        branch in optional(name()),
        language in optional(prop::sample::select(vec!["en", "ru", "kk"]).prop_map(str::to_string)),
    ) -> Option<Signer> {
        Signer::new(&name, &organisation, &email, &address, &country).ok().map(|mut s| {
            s.extra.insert("branch".into(), branch);
            s.language = language;
            s
        })
    }
}

pub(crate) fn cases() -> u32 {
    std::env::var("PROTEST_LETTER_PLAN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Whoever signs, the planned letter is the general path's, byte for byte.
    #[test]
    fn plans_write_the_general_paths_bytes(
        signers in prop::collection::vec(signer(), 1..6),
        letter in 0usize..16,
        lang in 0usize..4,
        recipient in 0usize..16,
        format in 0usize..4,
        fixed_clock in any::<bool>(),
        account_org in any::<bool>(),
        bcc_me in any::<bool>(),
    ) {
        let signers: Vec<Arc<Signer>> = signers.into_iter().flatten().map(Arc::new).collect();
        let campaign = campaign();
        let l = &campaign.letters[letter % campaign.letters.len()];
        let mut langs: Vec<Option<String>> = vec![None];
        langs.extend(l.languages().into_iter().map(|s| Some(s.to_string())));
        let run = Run {
            letter,
            lang: langs[lang % langs.len()].clone(),
            recipient,
            format: FORMATS[format],
            fixed_clock,
            account_org,
            bcc_me,
        };
        let (pairs, _, _) = both_ways(&run, &signers);
        for (planned, general) in pairs {
            prop_assert_eq!(String::from_utf8_lossy(&planned), String::from_utf8_lossy(&general));
        }
    }
}

/// Plain signers take the fast path for every built-in letter, recipient
/// and format (else the property above would prove little). They sign as
/// individuals: the built-in letters name an organisation in their first
/// sentence, and that paragraph is reflowed around its length, so a signer
/// with one takes the general path (the property above checks the bytes).
#[test]
fn plain_signers_take_the_fast_path_everywhere() {
    let campaign = campaign();
    let signers: Vec<Arc<Signer>> = [
        ("Jo Bloggs", "", "jo@union.org", "", ""),
        ("Ann Bee", "", "", "1 High St\\nLondon", "GB"),
        ("Sam O'Neill", "", "sam@union.org", "", ""),
    ]
    .iter()
    .map(|(n, o, e, a, c)| Arc::new(Signer::new(n, o, e, a, c).unwrap()))
    .collect();
    let recipients = addressees(campaign).len();
    for letter in 0..campaign.letters.len() {
        for recipient in 0..recipients {
            for format in FORMATS {
                let run = Run {
                    letter,
                    // English: a Russian body is not 7bit, which the plan leaves to
                    // the general path by design.
                    lang: Some("en".into()),
                    recipient,
                    format,
                    fixed_clock: recipient % 2 == 0,
                    account_org: true,
                    bcc_me: false,
                };
                let (pairs, fast, notes) = both_ways(&run, &signers);
                for (planned, general) in &pairs {
                    assert_eq!(
                        String::from_utf8_lossy(planned),
                        String::from_utf8_lossy(general)
                    );
                }
                assert_eq!(
                    fast,
                    pairs.len() as u64,
                    "letter {} recipient {recipient} {format:?}: not all on the fast path\n{notes}",
                    campaign.letters[letter].id
                );
            }
        }
    }
}

/// A letter that filters a signer's name is refused as a whole, and says
/// where.
#[test]
fn a_filtered_name_refuses_the_plan() {
    let mut text = String::from("{{ signer.name | upper }}\n");
    text.push_str("{{ signer.name }}\n");
    let err = usage::check_text("letters/x.txt", &text, &mut Vec::new()).unwrap_err();
    assert!(err.starts_with("letters/x.txt:1:"), "{err}");
}
