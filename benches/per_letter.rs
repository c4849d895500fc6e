//! Micro-benchmarks of the per-letter path, for profiling: where the time of
//! one letter goes (render, compose, serialise). Not for claims: those come
//! from `bash bench/run.sh`, which compares whole runs with the peer and the
//! practical limit in one run (see BENCHMARKS.md).
//!
//! `cargo bench --bench per_letter` (add `-- render` to pick a group).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use protest_letter::campaign::{self, Addressee, Campaign, CountryOutcome, Sources};
use protest_letter::message::{Clock, Composer, Sender};
use protest_letter::output::{Format, Item, Sink};
use protest_letter::render::Renderer;
use protest_letter::settings::{OutputSettings, Target};
use protest_letter::signer::Signer;

/// The built-in campaign, loaded once, as `write` does.
fn embedded() -> (Campaign, jiff::civil::Date) {
    let date = jiff::civil::date(2026, 11, 22);
    let campaign = campaign::load(Sources::embedded(), date).expect("the built-in campaign loads");
    (campaign, date)
}

/// The Supreme Court: an email address and two required copies.
fn court(campaign: &Campaign) -> Arc<Addressee> {
    match campaign
        .recipient("supreme-court")
        .expect("recipient")
        .resolve(None, None)
        .expect("resolve")
    {
        CountryOutcome::Found(a) | CountryOutcome::NoCountry(a) => Arc::new(a),
    }
}

fn signer() -> Arc<Signer> {
    Arc::new(
        Signer::new(
            "Jo Bloggs",
            "Unite Branch 42",
            "jo@union-bench.org",
            "1 High Street\\nLondon",
            "GB",
        )
        .expect("signer"),
    )
}

fn per_letter(c: &mut Criterion) {
    let (campaign, date) = embedded();
    let letter = campaign.default_letter().expect("default letter");
    // The journal key a Message-ID is made from (`letters::journal_key`).
    const KEY: &str = "sokolova|supreme-court|court@kz-gov.org|jo@union.org|Jo|";
    let recipient = court(&campaign);
    let signers = vec![signer()];
    let renderer = Renderer::new(&campaign, letter, date, None);
    let clock = Clock::Fixed(UNIX_EPOCH + Duration::from_secs(1_795_305_600));
    let composer = Composer::new(
        &campaign.info.copies_to,
        std::slice::from_ref(&recipient),
        clock,
        true,
    )
    .expect("composer");
    let sender = Sender::personal(&signers[0], false).expect("sender");

    let rendered = renderer.render(&recipient, &signers).expect("render");
    let composed = composer.compose(&rendered, KEY, &sender).expect("compose");
    let formatted_len = composed.message.formatted().len() as u64;

    let mut g = c.benchmark_group("per_letter");
    g.throughput(Throughput::Elements(1));
    g.bench_function("render", |b| {
        b.iter(|| {
            renderer
                .render(black_box(&recipient), black_box(&signers))
                .unwrap()
        })
    });
    g.bench_function("compose", |b| {
        b.iter(|| {
            composer
                .compose(black_box(&rendered), KEY, black_box(&sender))
                .unwrap()
        })
    });
    g.bench_function("formatted", |b| {
        b.iter(|| black_box(&composed).message.formatted())
    });
    // The mbox serialisation `write --format mbox` does per letter (From_
    // line, LF line endings, mboxrd quoting), into a discarding stream.
    let settings = OutputSettings {
        format: Format::Mbox,
        target: Target::Stdout,
        force: false,
    };
    let mut devnull = std::io::sink();
    let mut sink = Sink::open(Format::Mbox, &settings, false, &mut devnull).expect("sink");
    g.bench_function("mbox_emit", |b| {
        b.iter(|| {
            sink.emit(black_box(&Item {
                letter: &rendered,
                composed: Some(&composed),
                name_hint: "",
            }))
            .unwrap()
        })
    });
    g.bench_function("whole_letter_mbox", |b| {
        b.iter(|| {
            let r = renderer
                .render(black_box(&recipient), black_box(&signers))
                .unwrap();
            let m = composer.compose(&r, KEY, &sender).unwrap();
            sink.emit(&Item {
                letter: &r,
                composed: Some(&m),
                name_hint: "",
            })
            .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("per_letter_bytes");
    g.throughput(Throughput::Bytes(formatted_len));
    g.bench_function("formatted", |b| {
        b.iter(|| black_box(&composed).message.formatted())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = per_letter
}
criterion_main!(benches);
