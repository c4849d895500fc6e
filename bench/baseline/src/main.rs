//! The practical limit for rendering: a bare, std-only loop that writes the
//! same mbox bytes as `protest-letter write --signatories … --format mbox`
//! (Message-ID hash aside) for a template and a `name,email` CSV.
//!
//! Adapted from the `rustbase` program in shared/bench/peer_bench.sh (our
//! shared peer/limit measurements), which writes mailmerge's dry-run bytes;
//! this one writes mbox instead and adds a per-message Message-ID hash.
//!
//! usage: protest-letter-baseline TEMPLATE MEMBERS.CSV > out.mbox
//!
//! TEMPLATE is one letter as written: a whole mbox entry (From_ line,
//! headers, blank line, body, trailing blank line), a json line, or a text
//! letter, with `{{name}}`, `{{email}}` and `{{msgid}}` placeholders; text
//! between `{{sep}}` and `{{/sep}}` is written before every letter but the
//! first (the page break between text letters). The CSV is naive (no
//! quoting), with a header row naming `name` and `email`.
use std::io::{BufWriter, Write};

enum Piece {
    Lit(Vec<u8>),
    Field(usize),
    MsgId,
    /// Written before every letter but the first.
    Sep(Vec<u8>),
}

/// FNV-1a over the signer's fields: stands in for the real Message-ID hash.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: protest-letter-baseline TEMPLATE MEMBERS.CSV > out.mbox");
        std::process::exit(2);
    }
    let tpl = std::fs::read_to_string(&args[1]).expect("template");
    let db = std::fs::read(&args[2]).expect("csv");
    let mut lines = db
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty());
    let header: Vec<&[u8]> = lines
        .next()
        .expect("csv header")
        .split(|&b| b == b',')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name.as_bytes())
            .unwrap_or_else(|| panic!("no `{name}` column"))
    };
    let (name_col, email_col) = (column("name"), column("email"));

    let mut pieces = Vec::new();
    let mut rest = tpl.as_str();
    while let Some(a) = rest.find("{{") {
        let b = rest[a..].find("}}").expect("unclosed {{") + a;
        pieces.push(Piece::Lit(rest[..a].as_bytes().to_vec()));
        if rest[a + 2..b].trim() == "sep" {
            let end = rest[b..].find("{{/sep}}").expect("{{sep}} without {{/sep}}") + b;
            pieces.push(Piece::Sep(rest[b + 2..end].as_bytes().to_vec()));
            rest = &rest[end + "{{/sep}}".len()..];
            continue;
        }
        pieces.push(match rest[a + 2..b].trim() {
            "msgid" => Piece::MsgId,
            "name" => Piece::Field(name_col),
            "email" => Piece::Field(email_col),
            other => panic!("unknown placeholder {other}"),
        });
        rest = &rest[b + 2..];
    }
    pieces.push(Piece::Lit(rest.as_bytes().to_vec()));

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut fields: Vec<&[u8]> = Vec::with_capacity(header.len());
    let mut hex = [0u8; 16];
    let mut first = true;
    for line in lines {
        fields.clear();
        fields.extend(line.split(|&b| b == b','));
        let h = fnv1a(&[fields[name_col], fields[email_col]]);
        for (i, d) in hex.iter_mut().enumerate() {
            *d = b"0123456789abcdef"[((h >> (60 - 4 * i)) & 0xf) as usize];
        }
        for p in &pieces {
            match p {
                Piece::Lit(l) => out.write_all(l),
                Piece::Field(i) => out.write_all(fields[*i]),
                Piece::MsgId => out.write_all(&hex),
                Piece::Sep(s) if !first => out.write_all(s),
                Piece::Sep(_) => Ok(()),
            }
            .expect("write");
        }
        first = false;
    }
    out.flush().expect("write");
}
