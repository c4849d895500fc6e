//! A `--group` petition: every member of a list signs one letter per
//! recipient.
//!
//! A million members must not become a million template values (that took
//! 1.1 GB for a 20 MB letter), so the list stays on disk. The letter is
//! rendered once with a *stand-in* for each member that costs one pointer:
//! the members are sorted into *shapes* (which of their fields are empty),
//! each shape has one shared template value whose fields are tokens, and
//! the signatories are a list of those shared values. Every token in the
//! rendered text is then replaced by the value of the member it stands
//! for, as the list is read again in order.
//!
//! The general path (every member a template value) stays the reference:
//! - a letter whose templates use a member's value other than by printing
//!   it or testing it for emptiness takes it (`plan::usage` decides, as for
//!   per-member batches), and so does one with a loop over `signatories`
//!   that might not print each member's name on every turn
//!   (`plan::usage::petition_loops`), and a petition of one;
//! - which member a token stands for is told by its *family*: members
//!   alternate between two families and the last member has a third, so
//!   that one loop's members and the end of each loop over `signatories`
//!   can be told apart; every token is checked against the member it is
//!   taken for (family and shape) and every loop must run over every
//!   member, in order, before anything is put in. A letter whose tokens do
//!   not line up (a loop that skips members or prints nothing for some,
//!   stops early, or runs inside another) takes the general path;
//! - a list edited since it was first read stops the letter (`Again`);
//! - `tests` and the CLI tests compare both paths byte for byte.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::fingerprint::Fnv;
use crate::signatories::MemberList;
use crate::signer::Signer;

/// The signer fields a template may print, in token order; `extra` keys
/// follow (see `plan::usage`, which allows only these).
const FIELDS: usize = 5;

/// Everyone on a petition, as a checked members' list read again whenever
/// the letter is made, with what must be known beforehand.
#[derive(Debug, Clone)]
pub struct Petition {
    list: MemberList,
    /// The members' `country` values on this petition (`""`: none of
    /// their own); `None` for everyone.
    countries: Option<Vec<String>>,
    /// Each member's shape, in list order (four bytes per member).
    shapes: Vec<u32>,
    /// The shapes: whether each field is non-empty, and the `extra` keys
    /// with whether each is non-empty.
    kinds: Vec<Kind>,
    first: Arc<Signer>,
    /// The FNV hash of every member's name and email, in order.
    hash: u64,
    identity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Kind {
    fields: [bool; FIELDS],
    extra: Vec<(String, bool)>,
}

impl Kind {
    fn of(signer: &Signer) -> Kind {
        Kind {
            fields: [
                !signer.name.is_empty(),
                !signer.organisation.is_empty(),
                !signer.email.is_empty(),
                !signer.address.is_empty(),
                !signer.country.is_empty(),
            ],
            extra: signer
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), !v.is_empty()))
                .collect(),
        }
    }
}

/// Field `index` of `signer` (see `FIELDS`); its shape decides the index
/// is there.
fn field(signer: &Signer, index: usize) -> &str {
    match index {
        0 => &signer.name,
        1 => &signer.organisation,
        2 => &signer.email,
        3 => &signer.address,
        4 => &signer.country,
        i => signer
            .extra
            .values()
            .nth(i - FIELDS)
            .map_or("", String::as_str),
    }
}

impl Petition {
    /// Reads `list` (checked) once for what the petition needs to know
    /// before its letter is made: signed by every member, or only by those
    /// whose `country` is one of `countries` (`""` for none).
    pub fn load(list: MemberList, countries: Option<Vec<String>>) -> Result<Petition> {
        let mut shapes = Vec::new();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut index: HashMap<Kind, u32> = HashMap::new();
        let mut first = None;
        let mut hash = Fnv::default();
        for signer in members(&list, countries.as_deref())? {
            let signer = signer?;
            for part in [&signer.name, &signer.email] {
                hash.write(part.as_bytes());
                hash.write(&[0]);
            }
            let kind = Kind::of(&signer);
            let id = match index.get(&kind) {
                Some(id) => *id,
                None => {
                    let id = u32::try_from(kinds.len())?;
                    index.insert(kind.clone(), id);
                    kinds.push(kind);
                    id
                }
            };
            shapes.push(id);
            if first.is_none() {
                first = Some(Arc::new(signer));
            }
        }
        let Some(first) = first else {
            bail!("{} has no usable rows", list.path().display());
        };
        let hash = hash.finish();
        let identity = format!("petition of {}:{hash:016x}", shapes.len());
        Ok(Petition {
            list,
            countries,
            shapes,
            kinds,
            first,
            hash,
            identity,
        })
    }

    /// How many members sign.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether no one signs (never: `load` refuses an empty list).
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// The first member, who is `signer` in the templates.
    pub fn first(&self) -> &Arc<Signer> {
        &self.first
    }

    /// Who signs, as the journal knows them: everyone on the petition.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Every member in memory, for the general path.
    pub fn all(&self) -> Result<Vec<Arc<Signer>>> {
        let mut again = Again::new(self)?;
        (0..self.len())
            .map(|_| again.next().map(Arc::new))
            .collect()
    }

    /// The template values standing in for the members: one shared value
    /// per (family, shape), so each member costs a pointer.
    pub fn stand_ins(&self, tokens: &Tokens) -> (tera::Value, tera::Value) {
        let per_kind = |family: u8| -> Vec<tera::Value> {
            self.kinds
                .iter()
                .enumerate()
                .map(|(shape, kind)| {
                    let token = |f: usize, on: bool| {
                        if on {
                            tokens.member(family, shape, f)
                        } else {
                            String::new()
                        }
                    };
                    let signer = Signer {
                        name: token(0, kind.fields[0]),
                        organisation: token(1, kind.fields[1]),
                        email: token(2, kind.fields[2]),
                        address: token(3, kind.fields[3]),
                        country: token(4, kind.fields[4]),
                        language: String::new(),
                        extra: kind
                            .extra
                            .iter()
                            .enumerate()
                            .map(|(i, (k, on))| (k.clone(), token(FIELDS + i, *on)))
                            .collect(),
                    };
                    tera::Value::from_serializable(&signer)
                })
                .collect()
        };
        let families: Vec<Vec<tera::Value>> = (0..3).map(per_kind).collect();
        let last = self.len() - 1;
        let list: Vec<tera::Value> = self
            .shapes
            .iter()
            .enumerate()
            .map(|(k, &shape)| families[usize::from(family(k, last))][shape as usize].clone())
            .collect();
        let first = &self.first;
        let token = |f: usize| {
            if field(first, f).is_empty() {
                String::new()
            } else {
                tokens.first(f)
            }
        };
        let signer = Signer {
            name: token(0),
            organisation: token(1),
            email: token(2),
            address: token(3),
            country: token(4),
            language: first.language.clone(),
            extra: first
                .extra
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), token(FIELDS + i)))
                .collect(),
        };
        (
            tera::Value::from_serializable(&signer),
            tera::Value::from(list),
        )
    }

    /// `text` (rendered with `stand_ins`) with every token replaced by its
    /// member's value; `None` when the tokens do not line up with the
    /// members (the letter then takes the general path).
    pub fn fill(&self, text: &str, tokens: &Tokens) -> Result<Option<String>> {
        if !self.walk(text, tokens, &mut |_| Ok(()), &mut |_, _, _| Ok(()))? {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        let mut rows: Option<Again<'_>> = None;
        let mut current: Option<(usize, Signer)> = None;
        let out_cell = std::cell::RefCell::new(&mut out);
        let ok = self.walk(
            text,
            tokens,
            &mut |literal| {
                out_cell.borrow_mut().push_str(literal);
                Ok(())
            },
            &mut |who, k, f| {
                match who {
                    Who::First => out_cell.borrow_mut().push_str(field(&self.first, f)),
                    Who::Member => {
                        if current.as_ref().is_none_or(|(at, _)| *at != k) {
                            if k == 0 {
                                rows = Some(Again::new(self)?);
                            }
                            let Some(again) = rows.as_mut() else {
                                bail!("a petition's member came before the first");
                            };
                            current = Some((k, again.next()?));
                        }
                        if let Some((_, signer)) = &current {
                            out_cell.borrow_mut().push_str(field(signer, f));
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(ok.then_some(out))
    }

    /// Goes through the tokens of `text` in order, telling each member's
    /// from the family and shape it must have; `false` as soon as one does
    /// not line up. `literal` gets the text between tokens, `value` who a
    /// token stands for (the member's place in the list) and its field.
    fn walk(
        &self,
        text: &str,
        tokens: &Tokens,
        literal: &mut dyn FnMut(&str) -> Result<()>,
        value: &mut dyn FnMut(Who, usize, usize) -> Result<()>,
    ) -> Result<bool> {
        let last = self.len() - 1;
        // The member whose tokens come now, and its family.
        let mut at: Option<(usize, u8)> = None;
        let mut rest = text;
        while let Some(start) = rest.find(&tokens.prefix) {
            literal(&rest[..start])?;
            let Some((token, len)) = tokens.parse(&rest[start..]) else {
                return Ok(false);
            };
            match token {
                Token::First(f) => value(Who::First, 0, f)?,
                Token::Member(fam, shape, f) => {
                    let k = match at {
                        Some((k, current)) if current == fam => k,
                        Some((k, _)) if k < last => k + 1,
                        _ => 0,
                    };
                    if fam != family(k, last) || self.shapes[k] as usize != shape {
                        return Ok(false);
                    }
                    at = Some((k, fam));
                    let kind = &self.kinds[shape];
                    let on = if f < FIELDS {
                        kind.fields[f]
                    } else {
                        kind.extra.get(f - FIELDS).is_some_and(|(_, on)| *on)
                    };
                    if !on {
                        return Ok(false);
                    }
                    value(Who::Member, k, f)?;
                }
            }
            rest = &rest[start + len..];
        }
        literal(rest)?;
        // Every loop ran to the last member.
        Ok(at.is_none_or(|(k, _)| k == last))
    }
}

/// The members read again, in order, each checked against what `load`
/// saw: a list edited since (a member added, gone, changed or with a field
/// emptied) would give a letter other than the one planned and counted
/// in the journal, so it stops the letter instead.
struct Again<'p> {
    petition: &'p Petition,
    rows: Box<dyn Iterator<Item = Result<Signer>>>,
    read: usize,
    hash: Fnv,
}

impl<'p> Again<'p> {
    fn new(petition: &'p Petition) -> Result<Again<'p>> {
        Ok(Again {
            petition,
            rows: Box::new(members(&petition.list, petition.countries.as_deref())?),
            read: 0,
            hash: Fnv::default(),
        })
    }

    /// The next member; after the last, the list must end there.
    fn next(&mut self) -> Result<Signer> {
        let p = self.petition;
        let changed = || {
            anyhow::anyhow!(
                "{} changed while the petition was being made (its members are not the ones \
                 read at the start); nothing was written or sent for this letter: run it again",
                p.list.path().display()
            )
        };
        let signer = self.rows.next().ok_or_else(changed)??;
        let shape = p.shapes.get(self.read).ok_or_else(changed)?;
        if Kind::of(&signer) != p.kinds[*shape as usize] {
            return Err(changed());
        }
        for part in [&signer.name, &signer.email] {
            self.hash.write(part.as_bytes());
            self.hash.write(&[0]);
        }
        self.read += 1;
        if self.read == p.len() && (self.rows.next().is_some() || self.hash.finish() != p.hash) {
            return Err(changed());
        }
        Ok(signer)
    }
}

/// The valid, non-repeated members of `list`, in order; only those whose
/// `country` is one of `countries`, if given.
fn members(
    list: &MemberList,
    countries: Option<&[String]>,
) -> Result<impl Iterator<Item = Result<Signer>> + use<>> {
    let countries = countries.map(<[String]>::to_vec);
    Ok(list.rows()?.filter_map(move |row| match row {
        Ok((_, Ok(signer)))
            if countries
                .as_ref()
                .is_some_and(|c| !c.contains(&signer.country)) =>
        {
            None
        }
        Ok((_, Ok(signer))) => Some(Ok(signer)),
        Ok((_, Err(_))) => None,
        Err(e) => Some(Err(e)),
    }))
}

/// Members alternate between families 0 and 1; the last has family 2, so
/// that it differs from both its neighbours (the one before it, and the
/// first member of a loop that follows).
fn family(k: usize, last: usize) -> u8 {
    if k == last { 2 } else { (k % 2) as u8 }
}

enum Who {
    First,
    Member,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A field of `signer` (the first member).
    First(usize),
    /// A field of a member: family, shape, field.
    Member(u8, usize, usize),
}

/// How tokens are written: `QQ<nonce>_<family><shape>_<field>QQ`, the
/// family `s` for the first member as `signer`.
pub struct Tokens {
    /// What opens and closes a token: a character of Unicode's private
    /// use area (or, should the campaign use them all, an ASCII nonce).
    /// Short, because a million members' tokens are the rendered text.
    prefix: String,
    end: String,
}

impl Tokens {
    /// Tokens with a marker found nowhere in `texts` (the campaign's files
    /// and the run's own words), compared without case.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str> + Clone) -> Tokens {
        let unused = |marker: &str| {
            !texts
                .clone()
                .into_iter()
                .any(|t| t.to_ascii_lowercase().contains(marker))
        };
        if let Some(c) = ('\u{E000}'..='\u{F8FF}').find(|c| unused(c.encode_utf8(&mut [0; 4]))) {
            return Tokens {
                prefix: c.to_string(),
                end: c.to_string(),
            };
        }
        let mut n: u64 = 0x7e71_7103;
        loop {
            let prefix = format!("qq{n:x}_");
            if unused(&prefix) {
                return Tokens {
                    prefix,
                    end: "QQ".into(),
                };
            }
            n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        }
    }

    fn member(&self, family: u8, shape: usize, field: usize) -> String {
        format!("{}{family}{shape}_{field}{}", self.prefix, self.end)
    }

    fn first(&self, field: usize) -> String {
        format!("{}s0_{field}{}", self.prefix, self.end)
    }

    /// The token at the start of `text` and its length.
    fn parse(&self, text: &str) -> Option<(Token, usize)> {
        let body = text.strip_prefix(&self.prefix)?;
        let end = body.find(&self.end)?;
        let inner = &body[..end];
        let kind = inner.as_bytes().first().copied()?;
        // `get`: a template can put any character after the prefix.
        let (shape, field) = inner.get(1..)?.split_once('_')?;
        let digits = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<usize>().ok())
                .flatten()
        };
        let (shape, field) = (digits(shape)?, digits(field)?);
        let token = match kind {
            b's' if shape == 0 => Token::First(field),
            b'0'..=b'2' => Token::Member(kind - b'0', shape, field),
            _ => return None,
        };
        Some((token, self.prefix.len() + end + self.end.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back() {
        let plain = Tokens::new(["Dear Judge,"]);
        assert_eq!(plain.prefix, "\u{E000}");
        let taken = Tokens::new(["a text with \u{E000} in it"]);
        assert_eq!(taken.prefix, "\u{E001}");
        let every: String = ('\u{E000}'..='\u{F8FF}').collect();
        let ascii = Tokens::new([every.as_str(), "qq7e717103_ is taken"]);
        assert!(ascii.prefix.starts_with("qq") && ascii.prefix != "qq7e717103_");
        for tokens in [plain, taken, ascii] {
            let t = tokens.member(2, 13, 5);
            assert_eq!(
                tokens.parse(&format!("{t} rest")),
                Some((Token::Member(2, 13, 5), t.len()))
            );
            let t = tokens.first(1);
            assert_eq!(tokens.parse(&t), Some((Token::First(1), t.len())));
            let (p, e) = (&tokens.prefix, &tokens.end);
            assert_eq!(tokens.parse(&format!("{p}9_1{e}")), None);
            // A template can print anything after the prefix.
            assert_eq!(tokens.parse(&format!("{p}é_1{e}")), None);
            assert_eq!(tokens.parse(&format!("{p}0é_1{e}")), None);
            assert_eq!(tokens.parse(&format!("{p}0x_1{e}")), None);
            assert_eq!(tokens.parse(&format!("{p}0_1")), None);
        }
    }

    #[test]
    fn families_tell_neighbours_apart() {
        for n in 2..7 {
            let last = n - 1;
            for k in 0..n {
                assert_ne!(family(k, last), family((k + 1) % n, last), "n={n} k={k}");
            }
        }
    }
}

/// Differential tests: a petition rendered with stand-ins is the general
/// path's letter, byte for byte, for every built-in letter, recipient and
/// language, whoever signs; letters whose tokens cannot line up take the
/// general path.
#[cfg(test)]
mod differential {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::campaign::{Campaign, SourceFile, Sources};
    use crate::plan::tests::{addressees, campaign, cases, name, optional};
    use crate::render::Renderer;

    const DATE: jiff::civil::Date = jiff::civil::date(2026, 11, 22);

    /// A checked list holding `rows` (name, organisation, email, address,
    /// country, branch), as a user's CSV file.
    fn petition(rows: &[[String; 6]]) -> Option<(tempfile::TempDir, Petition)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("members.csv");
        write_list(&path, rows);
        let mut list = MemberList::open(&path, None).unwrap();
        if list.check(&|_| Ok(())).unwrap().valid < 2 {
            return None;
        }
        let petition = Petition::load(list, None).unwrap();
        Some((dir, petition))
    }

    /// Writes `rows` as a members' list with a header, as a user's file.
    fn write_list(path: &std::path::Path, rows: &[[String; 6]]) {
        let mut csv = csv::Writer::from_path(path).unwrap();
        csv.write_record([
            "name",
            "organisation",
            "email",
            "address",
            "country",
            "branch",
        ])
        .unwrap();
        for row in rows {
            csv.write_record(row).unwrap();
        }
        csv.flush().unwrap();
    }

    /// Both ways for `letter` to `addressee`: the general path's result
    /// and the stand-ins' (`None` when they did not line up).
    fn both(
        campaign: &Campaign,
        letter: usize,
        lang: Option<&str>,
        addressee: &Arc<crate::campaign::Addressee>,
        petition: &Petition,
    ) -> (Result<Rendered>, Result<Option<Rendered>>) {
        let letter = &campaign.letters[letter % campaign.letters.len()];
        let renderer = Renderer::new(campaign, letter, DATE, lang);
        let general =
            renderer.render_with(&mut renderer.scratch(), addressee, &petition.all().unwrap());
        let streamed = renderer.render_streamed(&mut renderer.scratch(), addressee, petition);
        (general, streamed)
    }

    use crate::render::Rendered;

    fn row() -> impl Strategy<Value = [String; 6]> {
        (
            name(),
            optional(name()),
            optional(
                prop::sample::select(vec!["jo@union.org", "x@müller.de", "a+b@c.io"])
                    .prop_map(str::to_string),
            ),
            optional(
                prop::sample::select(vec!["1 High St\\nLondon", "PO Box 9"])
                    .prop_map(str::to_string),
            ),
            optional(prop::sample::select(vec!["GB", "de", "KZ"]).prop_map(str::to_string)),
            optional(name()),
        )
            .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f])
    }

    proptest! {
        // Half the per-member test's cases: each is a whole list.
        #![proptest_config(ProptestConfig { cases: cases() / 2, ..ProptestConfig::default() })]

        /// Whoever signs, the petition made with stand-ins is the general
        /// path's, and the built-in letters never need the general path.
        #[test]
        fn stand_ins_write_the_general_paths_letter(
            rows in prop::collection::vec(row(), 2..40),
            letter in 0usize..16,
            lang in 0usize..3,
            recipient in 0usize..16,
        ) {
            let Some((_dir, petition)) = petition(&rows) else { return Ok(()) };
            let campaign = campaign();
            let all = addressees(campaign);
            let addressee = &all[recipient % all.len()];
            let l = &campaign.letters[letter % campaign.letters.len()];
            let mut langs: Vec<Option<&str>> = vec![None];
            langs.extend(l.languages().into_iter().map(Some));
            let lang = langs[lang % langs.len()];
            prop_assert!(Renderer::new(campaign, l, DATE, lang).petition_streams(&petition));
            let (general, streamed) = both(campaign, letter, lang, addressee, &petition);
            match (general, streamed) {
                (Ok(g), Ok(Some(s))) => {
                    prop_assert_eq!(&g.subject, &s.subject);
                    prop_assert_eq!(&g.body, &s.body);
                }
                (Err(_), Err(_)) => {}
                (g, s) => prop_assert!(false, "general {:?}, stand-ins {:?}", g.map(|r| r.body), s.map(|r| r.map(|r| r.body))),
            }
        }
    }

    fn own_campaign(body: &str) -> Campaign {
        let recipients = "[campaign]\nname = \"Test\"\ndefault_letter = \"one\"\n\n\
            [[recipient]]\nid = \"court\"\nname = \"The Court\"\nsalutation = \"Dear Judge\"\n\
            email = \"court@court.org\"\n";
        let letter = format!(
            "+++\nsubject = \"From {{{{ signer.name }}}} and {{{{ signatories | length - 1 }}}} more\"\n\
             recipients = [\"court\"]\n+++\n{body}"
        );
        let sources = Sources {
            root: None,
            recipients: SourceFile {
                name: "recipients.toml".into(),
                text: recipients.into(),
            },
            letters: vec![SourceFile {
                name: "letters/one.txt".into(),
                text: letter,
            }],
            problems: Vec::new(),
        };
        crate::campaign::load(sources, DATE).unwrap()
    }

    fn rows(n: usize) -> Vec<[String; 6]> {
        (0..n)
            .map(|i| {
                let org = if i % 3 == 1 {
                    String::new()
                } else {
                    format!("Branch {i}")
                };
                [
                    format!("Member {i}"),
                    org,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            })
            .collect()
    }

    /// Loops that may skip members, stop early or run inside one another
    /// are not given stand-ins (their tokens could not always be told
    /// apart); `render_petition` gives the general path's bytes for them,
    /// and the token walk alone never gives other bytes either.
    #[test]
    fn only_loops_that_name_every_member_take_stand_ins() {
        for (body, streams) in [
            (
                "{% for s in signatories %}{{ s.name }}{% if s.organisation %} ({{ s.organisation }}){% endif %}\n{% endfor %}",
                true,
            ),
            (
                "{% for s in signatories %}{{ s.name }}, {% endfor %}\n{% for s in signatories %}{{ s.name }}{% if s.organisation %}/{{ s.organisation }}{% endif %};{% endfor %}\n{{ signer.name }}",
                true,
            ),
            (
                "{{ signatories | length }} members: {% for s in signatories %}{{ loop.index }}. {{ s.name }}{% if not loop.last %}, {% endif %}{% endfor %}",
                true,
            ),
            (
                "{% for s in signatories %}{{ s.organisation }};{% endfor %}",
                false,
            ),
            (
                "{% for s in signatories %}{% if s.organisation %}{{ s.organisation }}\n{% endif %}{% endfor %}",
                false,
            ),
            (
                "{% for s in signatories %}{% if loop.index > 1 %}{% break %}{% endif %}{{ s.name }}\n{% endfor %}",
                false,
            ),
            (
                "{% for s in signatories %}{{ s.name }}:{% for t in signatories %}{{ t.name }},{% endfor %}\n{% endfor %}",
                false,
            ),
            (
                "{% for s in signatories %}{% if loop.last %}{{ s.name }}{% endif %}{% endfor %}",
                false,
            ),
        ] {
            let campaign = own_campaign(body);
            let letter = &campaign.letters[0];
            let renderer = Renderer::new(&campaign, letter, DATE, None);
            for n in [2, 3, 7, 8] {
                let (_dir, petition) = petition(&rows(n)).unwrap();
                assert_eq!(
                    renderer.petition_streams(&petition),
                    streams,
                    "{body} n={n}"
                );
                let addressee = &addressees(&campaign)[0];
                let (general, streamed) = both(&campaign, 0, None, addressee, &petition);
                let general = general.unwrap();
                match streamed.unwrap() {
                    Some(s) => {
                        assert_eq!(s.body, general.body, "{body} n={n}");
                        assert_eq!(s.subject, general.subject, "{body} n={n}");
                    }
                    None => assert!(!streams, "{body} n={n}: the tokens did not line up"),
                }
                let via = renderer
                    .render_petition(&mut renderer.scratch(), addressee, &petition)
                    .unwrap();
                assert_eq!(via.body, general.body, "{body} n={n}");
                assert_eq!(via.subject, general.subject, "{body} n={n}");
            }
        }
    }

    /// A list edited after the petition was planned (a member's field
    /// emptied, a member added or gone) stops the letter instead of giving
    /// one that differs from what was planned and counted.
    #[test]
    fn a_list_changed_after_loading_stops_the_letter() {
        let body = "{% for s in signatories %}{{ s.name }}{% if s.organisation %} ({{ s.organisation }}){% endif %}\n{% endfor %}";
        let campaign = own_campaign(body);
        let addressee = &addressees(&campaign)[0];
        let renderer = Renderer::new(&campaign, &campaign.letters[0], DATE, None);
        let edits: [fn(&mut Vec<[String; 6]>); 4] = [
            |rows| rows[2][1].clear(),
            |rows| rows[2][0] = "Someone Else".into(),
            |rows| rows.push(["Member 9", "Branch 9", "", "", "", ""].map(String::from)),
            |rows| {
                rows.pop();
            },
        ];
        for edit in edits {
            let mut list = rows(5);
            let (dir, petition) = petition(&list).unwrap();
            edit(&mut list);
            write_list(&dir.path().join("members.csv"), &list);
            let err = renderer
                .render_petition(&mut renderer.scratch(), addressee, &petition)
                .unwrap_err();
            assert!(
                format!("{err}").contains("changed while the petition was being made"),
                "{err}"
            );
            assert!(petition.all().is_err());
        }
    }

    /// A template that filters a member's value is never given stand-ins.
    #[test]
    fn a_filtered_value_is_not_streamed() {
        let campaign = own_campaign("{% for s in signatories %}{{ s.name | upper }}\n{% endfor %}");
        let (_dir, petition) = petition(&rows(4)).unwrap();
        let renderer = Renderer::new(&campaign, &campaign.letters[0], DATE, None);
        assert!(!renderer.petition_streams(&petition));
        let addressee = &addressees(&campaign)[0];
        let letter = renderer
            .render_petition(&mut renderer.scratch(), addressee, &petition)
            .unwrap();
        assert!(letter.body.contains("MEMBER 3"), "{}", letter.body);
    }
}
