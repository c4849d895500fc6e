//! `write`: renders the chosen letter for the chosen recipients, for one
//! signer or a members' list, and streams the result where the user asked.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};

use super::select::{
    Run, choose_letter, choose_recipients, note_languages, prepare, warn_unlisted,
};
use crate::campaign::{Addressee, Campaign, placeholders_in};
use crate::error::ExitStatus;
use crate::letters::{Account, Addressing, Produced, SignerSet, Signing};
use crate::message::{Composed, Composer, Sender};
use crate::output::{self, Format, Item, Sink, slug};
use crate::plan::{Planner, Reference};
use crate::progress::Progress;
use crate::render::{Rendered, Renderer, Scratch};
use crate::settings::{Target, Terminal, WriteSettings};
use crate::signer::Signer;

pub fn run(
    campaign: &Campaign,
    settings: &WriteSettings,
    today: jiff::civil::Date,
    terminal: Terminal,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<ExitStatus> {
    let format = settings.output.format;
    let letter = choose_letter(campaign, settings.letter.as_deref())?;
    crate::language::ensure_available(letter, settings.signer.lang.as_deref())?;
    if let Some(passed) = crate::deadline::passed(campaign, letter, today) {
        let _ = writeln!(stderr, "{}", crate::deadline::warning(&passed));
    }
    let recipients = choose_recipients(campaign, letter, &settings.to)?;
    warn_unlisted(letter, &recipients, stderr)?;
    let Run {
        signing,
        account,
        mut addressing,
    } = prepare(
        &settings.batch,
        &settings.signer,
        &recipients,
        settings.email.embassy_email.as_deref(),
        terminal,
        format.is_email(),
        stderr,
    )?;

    if format.is_email() {
        for a in addressing.all().iter().filter(|a| a.email.is_none()) {
            writeln!(stderr, "note: {}", not_emailable(a))?;
        }
        addressing.retain(|a| a.email.is_some());
        if addressing.is_empty() {
            bail!(
                "none of the chosen recipients has an email address; use --format text to print the letters"
            );
        }
        warn_placeholders(&addressing.all(), &campaign.info.copies_to, stderr)?;
    }
    let total = addressing.letter_count();
    if format == Format::Eml && !matches!(settings.output.target, Target::Dir(_)) && total > 1 {
        bail!(
            "{total} messages, but an eml file holds one: use --format mbox for one stream, \
             --out-dir DIR for one .eml per letter, or --to ID for a single recipient"
        );
    }
    // A letter for a folder that is there already is found as the batch
    // is written (no pass over the list just for the names): the run
    // stops at it and nothing is written (`Staged`).

    note_languages(
        letter,
        settings.signer.lang.as_deref(),
        &addressing.all(),
        stderr,
    )?;
    let renderer = crate::voice::prepare(
        Renderer::new(
            campaign,
            letter,
            settings.date,
            settings.signer.lang.as_deref(),
        ),
        &settings.voice,
        &signing,
        &addressing.all(),
        terminal,
        stderr,
    )?;
    let composer = Composer::new(
        &campaign.info.copies_to,
        &addressing.all(),
        settings.email.clock,
        true,
    )?;
    let progress = Progress::new(
        total,
        signing.is_batch() && terminal.stderr && !settings.quiet,
        "writing",
    );
    let mut sink = Sink::open(format, &settings.output, signing.is_batch(), stdout)?;
    // The fast path: per-member batches into one stream (see `plan`).
    let planner = (matches!(signing, Signing::PerMember(_)) && sink.is_stream())
        .then(|| Planner::new(campaign, letter, format, settings.email.clock));
    if settings.verbose
        && let Some(why) = planner.as_ref().and_then(Planner::refusal)
    {
        writeln!(stderr, "note: {why}")?;
    }
    if settings.verbose
        && let Signing::Group(parts) = &signing
        && let Some(why) = parts
            .iter()
            .max_by_key(|p| p.petition.len())
            .and_then(|p| renderer.petition_refusal(&p.petition))
    {
        writeln!(stderr, "note: {why}")?;
    }
    let job = Produce {
        signing: &signing,
        renderer: &renderer,
        composer: &composer,
        addressing: &addressing,
        account: account.as_ref(),
        bcc_me: settings.email.bcc_me,
        format,
        planner: planner.as_ref(),
    };
    let threads = || {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    };
    if sink.is_stream() && total >= PARALLEL_FROM && threads() > 1 {
        write_parallel(&job, &mut sink, &progress, threads())?;
    } else if job.planner.is_some() {
        write_chunks(&job, &mut sink, &progress)?;
    } else {
        for produced in signing.letters(&renderer, &addressing)? {
            let produced = produced?;
            let composed = job.compose(&produced)?;
            sink.emit(&Item {
                letter: &produced.letter,
                composed: composed.as_ref(),
                name_hint: &name_hint(&signing, &produced.letter.signer.name, produced.line),
            })?;
            progress.inc();
        }
    }
    progress.finish();
    let written = sink.finish()?;
    if settings.verbose
        && let Some(planner) = &planner
    {
        for note in planner.summary() {
            writeln!(stderr, "note: {note}")?;
        }
    }
    if written.len() > 5 {
        writeln!(stderr, "wrote {} files", written.len())?;
    } else {
        for path in written {
            writeln!(stderr, "wrote {path}")?;
        }
    }
    Ok(ExitStatus::Success)
}

/// Below this many letters, threads cost more than they save.
const PARALLEL_FROM: u64 = 512;
/// Signer sets handed to a thread at a time.
const CHUNK: usize = 64;

/// Everything needed to turn a signer set into finished letters.
pub(crate) struct Produce<'a> {
    pub(crate) signing: &'a Signing,
    pub(crate) renderer: &'a Renderer<'a>,
    pub(crate) composer: &'a Composer,
    pub(crate) addressing: &'a Addressing,
    pub(crate) account: Option<&'a Account>,
    pub(crate) bcc_me: bool,
    pub(crate) format: Format,
    /// Plans for per-member letters (`plan`); `None`: the general path only.
    pub(crate) planner: Option<&'a Planner>,
}

/// The general path, for plans to be made from and checked against.
impl Reference for Produce<'_> {
    fn scratch(&self) -> Scratch {
        self.renderer.scratch()
    }

    fn render(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
    ) -> Result<Rendered> {
        self.renderer
            .render_with(scratch, recipient, std::slice::from_ref(signer))
    }

    fn sender(&self, produced: &Produced) -> Result<Sender> {
        self.signing.sender(produced, self.account, self.bcc_me)
    }

    fn write(
        &self,
        scratch: &mut Scratch,
        recipient: &Arc<Addressee>,
        signer: &Arc<Signer>,
        first: bool,
        now: std::time::SystemTime,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let produced = Produced {
            letter: Reference::render(self, scratch, recipient, signer)?,
            line: None,
            identity: crate::letters::personal_identity(signer),
        };
        let composed = if self.format.is_email() {
            let sender = self.sender(&produced)?;
            Some(
                self.composer
                    .compose_at(&produced.letter, &produced.key(), &sender, now)?,
            )
        } else {
            None
        };
        let item = Item {
            letter: &produced.letter,
            composed: composed.as_ref(),
            name_hint: "",
        };
        output::serialise(self.format, &item, first, out)
    }
}

impl Produce<'_> {
    fn compose(&self, produced: &Produced) -> Result<Option<Composed>> {
        if !self.format.is_email() {
            return Ok(None);
        }
        let sender = self.signing.sender(produced, self.account, self.bcc_me)?;
        Ok(Some(self.composer.compose(
            &produced.letter,
            &produced.key(),
            &sender,
        )?))
    }

    /// Renders, composes and serialises a chunk of signer sets.
    fn chunk(&self, sets: &[SignerSet], first: bool, out: &mut Vec<u8>) -> Result<usize> {
        let mut count = 0;
        let mut scratch = self.renderer.scratch();
        for set in sets {
            for a in self.addressing.for_set(set) {
                if let (Some(planner), [signer]) = (self.planner, set.signers.as_slice())
                    && planner.write(self, &mut scratch, a, signer, first && count == 0, out)
                {
                    count += 1;
                    continue;
                }
                let produced = self.signing.produce(self.renderer, &mut scratch, a, set)?;
                let composed = self.compose(&produced)?;
                let item = Item {
                    letter: &produced.letter,
                    composed: composed.as_ref(),
                    name_hint: "",
                };
                output::serialise(self.format, &item, first && count == 0, out)?;
                count += 1;
            }
        }
        Ok(count)
    }
}

/// The same chunks as `write_parallel`, on this thread: small batches.
fn write_chunks(job: &Produce<'_>, sink: &mut Sink<'_>, progress: &Progress) -> Result<()> {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut first = true;
    let mut sets = job.signing.sets()?.peekable();
    while let Some(set) = sets.next() {
        chunk.push(set?);
        if chunk.len() == CHUNK || sets.peek().is_none() {
            let mut out = Vec::new();
            let count = job.chunk(&chunk, first, &mut out)?;
            sink.emit_serialised(&out, count)?;
            for _ in 0..count {
                progress.inc();
            }
            first = false;
            chunk.clear();
        }
    }
    Ok(())
}

/// Uses every core for big batches: one thread reads the list in chunks,
/// the others render and serialise them, and this thread writes the results
/// in the original order. Measured: about 1.9× on 2 cores for 100,000
/// letters to mbox (see BENCHMARKS.md).
fn write_parallel(
    job: &Produce<'_>,
    sink: &mut Sink<'_>,
    progress: &Progress,
    threads: usize,
) -> Result<()> {
    use std::collections::BTreeMap;
    use std::sync::mpsc::sync_channel;
    use std::sync::{Arc as SharedArc, Mutex};

    let sets = job.signing.sets()?;
    std::thread::scope(|scope| -> Result<()> {
        let (work_tx, work_rx) = sync_channel::<(u64, Vec<SignerSet>)>(threads * 2);
        let work_rx = SharedArc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = sync_channel::<(u64, Result<(Vec<u8>, usize)>)>(threads * 2);
        // A chunk is read only with a token, given back once a chunk is
        // written: at most `in_flight` chunks are between the list and the
        // output, so finished chunks cannot pile up behind a slow one (a
        // thread the loaded machine put aside) and memory stays flat.
        let in_flight = threads * 4;
        let (token_tx, token_rx) = sync_channel::<()>(in_flight);
        for _ in 0..in_flight {
            let _ = token_tx.send(());
        }
        let feeder = scope.spawn(move || -> Result<()> {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut seq = 0;
            for set in sets {
                chunk.push(set?);
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if token_rx.recv().is_err() || work_tx.send((seq, full)).is_err() {
                        return Ok(());
                    }
                    seq += 1;
                }
            }
            if !chunk.is_empty() && token_rx.recv().is_ok() {
                let _ = work_tx.send((seq, chunk));
            }
            Ok(())
        });
        for _ in 0..threads {
            let work_rx = SharedArc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    let next = work_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, sets)) = next else { break };
                    let mut out = Vec::with_capacity(sets.len() * 2 * 4096);
                    let result = job.chunk(&sets, seq == 0, &mut out).map(|n| (out, n));
                    if done_tx.send((seq, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        // Results arrive out of order; write them in order.
        let mut pending = BTreeMap::new();
        let mut next = 0;
        for (seq, result) in done_rx {
            pending.insert(seq, result);
            while let Some(result) = pending.remove(&next) {
                let (bytes, count) = result?;
                sink.emit_serialised(&bytes, count)?;
                for _ in 0..count {
                    progress.inc();
                }
                next += 1;
                let _ = token_tx.send(());
            }
        }
        feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the list reader stopped unexpectedly"))??;
        Ok(())
    })
}

/// The signer part of a batch file name: the member's name, or the CSV
/// line when the name has no ASCII letters.
fn name_hint(signing: &Signing, name: &str, line: Option<u64>) -> String {
    match (signing, line) {
        (Signing::PerMember(_), Some(line)) => {
            let s = slug(name);
            if s.is_empty() {
                format!("line-{line}")
            } else {
                s
            }
        }
        _ => String::new(),
    }
}

/// "left out `x` (name): no email address; call …".
pub fn not_emailable(r: &Addressee) -> String {
    let how = match (&r.phone, r.address.is_empty()) {
        (Some(phone), _) => format!("call {phone}"),
        (None, false) => "send it by post".to_string(),
        (None, true) => "no phone or postal address either".to_string(),
    };
    format!("left out `{}` ({}): no email address; {how}", r.id, r.name)
}

/// Tells the user when To or Cc hold placeholder addresses, which must be
/// replaced before the message is mailed.
fn warn_placeholders(
    addressees: &[Arc<Addressee>],
    copies_to: &[String],
    stderr: &mut dyn Write,
) -> Result<()> {
    let mut found: Vec<&str> = Vec::new();
    for p in placeholders_in(addressees, copies_to) {
        if !found.contains(&p.address) {
            found.push(p.address);
        }
    }
    if !found.is_empty() {
        writeln!(
            stderr,
            "warning: placeholder addresses in the messages ({}): replace them in recipients.toml before mailing",
            found.join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;

    use crate::signatories::bytes_read;

    /// Runs the program in this process on the repository's campaign.
    fn run(args: &[&str], dir: &Path) -> (crate::error::ExitStatus, String) {
        let campaign = env!("CARGO_MANIFEST_DIR");
        let mut argv = vec!["protest-letter", "--campaign", campaign, "--quiet"];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        let env = crate::settings::Environment {
            vars: [
                ("PROTEST_LETTER_PROFILE", dir.join("none.toml")),
                ("SOURCE_DATE_EPOCH", "1795000000".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect(),
            cwd: dir.to_path_buf(),
            config_dir: None,
            data_dir: Some(dir.join("data")),
            today: jiff::civil::date(2026, 11, 22),
            terminal: crate::settings::Terminal::default(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = crate::run(cli, &env, &mut out, &mut err)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&err)));
        (status, String::from_utf8_lossy(&err).into_owned())
    }

    /// The passes a run makes over the members' list, counted by the bytes
    /// it reads from the file: opening it reads the first 64 KiB (to tell
    /// the encoding) and the header; then each pass reads it whole.
    fn passes(args: &[&str], members: usize, message: bool) -> f64 {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("members.csv");
        let mut text = String::from("name,email,country,message\n");
        for i in 1..=members {
            // Members' own words, or everyone's the same (then the warning
            // about identical letters needs them all looked at).
            let words = if message {
                format!("My words {i}")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "Member {i},member.number.{i}@union.example,GB,{words}\n"
            ));
        }
        std::fs::write(&list, &text).unwrap();
        let out = dir.path().join("out");
        let mut argv = vec!["write", "--date", "2026-11-22", "--email", "sec@u.org"];
        argv.extend(["--signatories", list.to_str().unwrap()]);
        for a in args {
            argv.push(if *a == "OUT" {
                out.to_str().unwrap()
            } else {
                a
            });
        }
        let (status, err) = run(&argv, dir.path());
        assert_eq!(status, crate::error::ExitStatus::Success, "{err}");
        let size = text.len() as u64;
        let opening = size.min(1 << 16) + size.min(4096);
        (bytes_read(&list) - opening) as f64 / size as f64
    }

    #[test]
    fn a_batch_reads_the_list_twice_check_then_letters() {
        let n = 1500;
        let one = ["--to", "supreme-court"];
        for message in [false, true] {
            let out_dir = passes(&[&one[..], &["--out-dir", "OUT"]].concat(), n, message);
            assert_eq!(out_dir, 2.0, "--out-dir, message column {message}");
        }
        let mbox = passes(
            &[&one[..], &["--format", "mbox", "-o", "OUT"]].concat(),
            n,
            false,
        );
        assert_eq!(mbox, 2.0, "-o mbox");
        // A petition: the check, then what the petition needs to know
        // before its letters, then each letter streams its signatures from
        // the list (so that memory stays small): here one letter.
        let group = passes(&[&one[..], &["--group", "-o", "OUT"]].concat(), n, true);
        assert_eq!(group, 3.0, "--group");
    }
}
