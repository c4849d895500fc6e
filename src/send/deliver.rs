//! The delivery engine: N workers, each with its own reused connection,
//! take letters from one shared stream, space them exactly by `--rate`,
//! retry temporary failures with backoff while the rest goes on, and write
//! the journal as they go.
//!
//! Letters are rendered and composed only when a worker asks for the next
//! one, so a batch of any size streams with flat memory.
//!
//! Exactly once: a letter is claimed when it is handed to a worker, so the
//! same journal key is never in flight twice (a later row with that key is
//! a duplicate); its `attempt` record is synced before the message leaves
//! (one sync for all the workers that are ready, see [`Shared::durable`]);
//! an uncertain outcome is never retried. If the journal cannot be written,
//! nothing more is handed out, what is in flight finishes, and a letter the
//! server accepted but the journal could not record is reported as sent
//! with the line to add to the journal.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use anyhow::Context;

use super::journal::{About, Journal, Previous};
use super::{Job, JobMaker, Status, Summary};
use crate::letters::Produced;
use crate::terminal::interrupt::Interrupt;
use crate::terminal::progress::Progress;
use crate::transport::{Deliver, Outcome};

/// How often a letter is tried before it counts as failed.
const MAX_ATTEMPTS: u32 = 5;

/// What to deliver, and how.
pub struct Plan<'a> {
    pub letters: Box<dyn Iterator<Item = Result<Produced>> + Send + 'a>,
    pub maker: &'a JobMaker<'a>,
    pub resend: bool,
    pub resend_uncertain: bool,
    pub connections: usize,
    /// Minimum spacing between two messages (`--rate`).
    pub interval: Option<Duration>,
    pub retry_delay: Duration,
    /// `--retry-for`: how long a letter refused for now is tried again.
    pub retry_for: Duration,
    pub verbose: bool,
    /// Ctrl-C or SIGTERM: no new letter is taken once asked.
    pub interrupt: Interrupt,
    /// What a day may carry (`--daily-limit`, or the provider's): the run
    /// stops before a letter would go past it.
    pub daily_limit: Option<DailyLimit>,
}

/// Limits over any 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimit {
    /// Recipients: To, Cc and Bcc of every message.
    pub recipients: Option<u64>,
    pub messages: Option<u64>,
}

/// The daily limit and what counts against it: the journal's last 24
/// hours and this run's letters.
struct Daily {
    limit: DailyLimit,
    recipients: u64,
    messages: u64,
    /// When the earliest letter of the last 24 hours leaves the window.
    frees_at: Option<jiff::Timestamp>,
}

struct Fresh<'a> {
    letters: Box<dyn Iterator<Item = Result<Produced>> + Send + 'a>,
    done: bool,
}

#[derive(Default)]
struct Retries {
    /// (ready at, sequence number): the next retry due on top.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    jobs: HashMap<u64, (Job, u32)>,
    seq: u64,
    /// Jobs a worker holds right now; counted under this lock so "nothing
    /// left" is never decided while a job may still come back.
    in_flight: usize,
}

struct Shared<'a> {
    fresh: Mutex<Fresh<'a>>,
    retries: Mutex<Retries>,
    journal: Mutex<&'a mut Journal>,
    /// How far the journal is known to be on disk; held while syncing, so
    /// workers that wait for it share the next sync (group commit).
    synced: Mutex<u64>,
    sync_file: std::fs::File,
    /// Keys handed to a worker and not finished: never two at once.
    claims: Mutex<HashSet<String>>,
    /// Keys this run skipped (already sent, uncertain), to tell a later
    /// duplicate row from them; bounded, see [`Skipped`].
    skipped: Mutex<Skipped>,
    /// Set when the journal could not be written: nothing more is handed out.
    journal_failed: AtomicBool,
    summary: Mutex<Summary>,
    stop: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
    next_slot: Mutex<Instant>,
    sent_since_start: AtomicUsize,
    /// Workers still running; fewer when the server wants fewer connections.
    workers: AtomicUsize,
    interrupt: Interrupt,
    daily: Option<Mutex<Daily>>,
}

/// Hashes of the keys skipped in this run, up to a bound: past it, a
/// duplicate row of an already-sent letter is counted as already sent (it
/// is still not sent). Sent and uncertain letters of this run are found in
/// the journal itself, whatever their number.
#[derive(Default)]
pub struct Skipped(HashSet<u64>);

impl Skipped {
    const LIMIT: usize = 100_000;

    /// False if `key` was skipped before.
    pub fn insert(&mut self, key: &str) -> bool {
        let h = crate::signers::fingerprint::of([key]);
        if self.0.contains(&h) {
            return false;
        }
        if self.0.len() < Self::LIMIT {
            self.0.insert(h);
        }
        true
    }
}

enum Next {
    Job(Box<Job>, u32),
    Wait(Duration),
    Done,
}

/// Delivers every letter once. `Err` means the run stopped early (TLS or
/// login refused, server unreachable); the summary says what was done.
pub fn run(
    plan: Plan<'_>,
    open: &(dyn Fn() -> Result<Box<dyn Deliver>> + Sync),
    journal: &mut Journal,
    progress: &Progress,
    summary: &mut Summary,
) -> Result<()> {
    let sync_file = journal.sync_handle()?;
    let synced = journal.written_to();
    // Whatever an earlier run left unsynced is made durable first.
    sync_file
        .sync_data()
        .with_context(|| format!("cannot write the send journal {}", journal.path().display()))
        .map_err(crate::error::runtime)?;
    journal.mark_run_start();
    let daily = match plan.daily_limit {
        Some(limit) => {
            let (recipients, messages, frees_at) = journal.sent_in_last_day()?;
            Some(Mutex::new(Daily {
                limit,
                recipients,
                messages,
                frees_at,
            }))
        }
        None => None,
    };
    let shared = Shared {
        fresh: Mutex::new(Fresh {
            letters: plan.letters,
            done: false,
        }),
        retries: Mutex::new(Retries::default()),
        journal: Mutex::new(journal),
        synced: Mutex::new(synced),
        sync_file,
        claims: Mutex::new(HashSet::new()),
        skipped: Mutex::new(Skipped::default()),
        journal_failed: AtomicBool::new(false),
        summary: Mutex::new(std::mem::take(summary)),
        stop: AtomicBool::new(false),
        fatal: Mutex::new(None),
        next_slot: Mutex::new(Instant::now()),
        sent_since_start: AtomicUsize::new(0),
        workers: AtomicUsize::new(plan.connections.max(1)),
        interrupt: plan.interrupt,
        daily,
    };
    let settings = Settings {
        maker: plan.maker,
        resend: plan.resend,
        resend_uncertain: plan.resend_uncertain,
        interval: plan.interval,
        retry_delay: plan.retry_delay,
        retry_for: plan.retry_for,
        verbose: plan.verbose,
    };
    std::thread::scope(|scope| {
        for _ in 0..plan.connections.max(1) {
            scope.spawn(|| worker(&shared, &settings, open, progress));
        }
    });
    // Letters waiting for a retry when the run stopped were refused
    // (temporarily) and are journalled so; they are tried again next run.
    let waiting: Vec<(Job, u32)> = lock(&shared.retries).jobs.drain().map(|(_, j)| j).collect();
    for (job, _) in waiting {
        let reply = "not retried: the run stopped";
        lock(&shared.summary).record(job.result(Status::RefusedTemporarily, reply));
    }
    let journal = shared
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    *summary = shared
        .summary
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let finished = journal.finish();
    match shared.fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(fatal) => Err(fatal),
        None => finished,
    }
}

struct Settings<'a> {
    maker: &'a JobMaker<'a>,
    resend: bool,
    resend_uncertain: bool,
    interval: Option<Duration>,
    retry_delay: Duration,
    retry_for: Duration,
    verbose: bool,
}

impl Settings<'_> {
    /// Whether a letter refused for now `attempts` times is tried again: at
    /// least five tries, and for `--retry-for` since its first refusal (a
    /// greylisting server takes it after some minutes).
    fn retry_more(&self, job: &Job, attempts: u32) -> bool {
        attempts < MAX_ATTEMPTS
            || job
                .first_refused
                .is_some_and(|first| first.elapsed() < self.retry_for)
    }
}

/// Locks a mutex, carrying on if another worker panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared<'_> {
    fn fail(&self, error: anyhow::Error) {
        self.stop.store(true, Ordering::SeqCst);
        lock(&self.fatal).get_or_insert(error);
    }

    /// Whether no new letter is to be taken: the run failed or was asked
    /// to stop.
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.interrupt.asked()
    }

    /// Sleeps for `delay`, or less if the run is asked to stop meanwhile.
    fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        while !self.interrupt.asked() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    fn next(&self, s: &Settings<'_>, progress: &Progress) -> Next {
        if self.stopping() {
            return Next::Done;
        }
        {
            let mut r = lock(&self.retries);
            if let Some(&Reverse((ready, seq))) = r.heap.peek()
                && ready <= Instant::now()
            {
                r.heap.pop();
                if let Some((job, attempts)) = r.jobs.remove(&seq) {
                    r.in_flight += 1;
                    return Next::Job(Box::new(job), attempts);
                }
            }
        }
        {
            let mut fresh = lock(&self.fresh);
            while !fresh.done {
                let produced = match fresh.letters.next() {
                    None => {
                        fresh.done = true;
                        break;
                    }
                    Some(Err(e)) => {
                        self.fail(e);
                        return Next::Done;
                    }
                    Some(Ok(p)) => p,
                };
                let job = match self.dispatch(s, produced) {
                    Ok(Some(job)) => job,
                    Ok(None) => {
                        progress.inc();
                        continue;
                    }
                    Err(e) => {
                        self.fail(e);
                        return Next::Done;
                    }
                };
                return Next::Job(Box::new(job), 0);
            }
        }
        let r = lock(&self.retries);
        match r.heap.peek() {
            Some(&Reverse((ready, _))) => {
                Next::Wait(ready.saturating_duration_since(Instant::now()))
            }
            None if r.in_flight > 0 => Next::Wait(Duration::from_millis(10)),
            None => Next::Done,
        }
    }

    /// Makes the job for a letter and claims it, or records why it is not
    /// sent (`None`): a duplicate row, already sent, uncertain.
    fn dispatch(&self, s: &Settings<'_>, produced: Produced) -> Result<Option<Job>> {
        let journal = lock(&self.journal);
        let job = s.maker.make(produced, &journal)?;
        let mut claims = lock(&self.claims);
        let skip = if claims.contains(&job.key) || journal.touched_in_this_run(&job.key)? {
            Some((
                Status::Duplicate,
                "the same letter as an earlier row; sent once",
            ))
        } else if !s.resend && matches!(job.previous, Previous::Sent { .. }) {
            Some((Status::AlreadySent, ""))
        } else if !s.resend
            && !s.resend_uncertain
            && matches!(job.previous, Previous::Uncertain { .. })
        {
            Some((
                Status::Uncertain,
                "an earlier attempt may have been delivered; not sent again",
            ))
        } else {
            None
        };
        drop(journal);
        match skip {
            Some((Status::Duplicate, reply)) => {
                drop(claims);
                lock(&self.summary).record(job.result(Status::Duplicate, reply));
                Ok(None)
            }
            Some((status, reply)) => {
                drop(claims);
                let status = if lock(&self.skipped).insert(&job.key) {
                    status
                } else {
                    Status::Duplicate
                };
                lock(&self.summary).record(job.result(status, reply));
                Ok(None)
            }
            None => {
                if let Some(reached) = self.over_daily_limit(&job) {
                    drop(claims);
                    lock(&self.summary).record(
                        job.result(Status::NotAttempted, "not sent: the daily limit is reached"),
                    );
                    self.fail(reached);
                    return Ok(None);
                }
                claims.insert(job.key.clone());
                lock(&self.retries).in_flight += 1;
                Ok(Some(job))
            }
        }
    }

    /// Counts `job`'s recipients against the daily limit; the error that
    /// stops the run if they would go past it.
    fn over_daily_limit(&self, job: &Job) -> Option<anyhow::Error> {
        let mut daily = lock(self.daily.as_ref()?);
        let n = job.composed.envelope.recipients().len() as u64;
        let over =
            |used: u64, more: u64, limit: Option<u64>| limit.filter(|&limit| used + more > limit);
        let (used, limit, what) = match (
            over(daily.recipients, n, daily.limit.recipients),
            over(daily.messages, 1, daily.limit.messages),
        ) {
            (Some(limit), _) => (
                daily.recipients,
                limit,
                "recipients (counting To, Cc and Bcc)",
            ),
            (None, Some(limit)) => (daily.messages, limit, "messages"),
            (None, None) => {
                daily.recipients += n;
                daily.messages += 1;
                daily.frees_at.get_or_insert_with(|| {
                    jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)
                });
                return None;
            }
        };
        let when = daily
            .frees_at
            .map(|t| {
                let local = t.to_zoned(jiff::tz::TimeZone::system());
                format!("after {}", local.strftime("%Y-%m-%d %H:%M %Z"))
            })
            .unwrap_or_else(|| "in 24 hours".to_string());
        Some(anyhow::anyhow!(
            "the daily limit of {limit} {what} is reached ({used} in the last 24 hours), so this \
             run stopped before the server would refuse; the rest were not attempted. Run the \
             same command again {when}: it goes on from here, and nothing is sent twice"
        ))
    }

    /// Waits until the journal is on disk up to `upto`. One worker syncs for
    /// every record written so far; the others wait on the lock and find
    /// their record already synced.
    fn durable(&self, upto: u64) -> Result<()> {
        let mut synced = lock(&self.synced);
        if *synced >= upto {
            return Ok(());
        }
        let target = lock(&self.journal).written_to();
        self.sync_file.sync_data().map_err(|e| {
            crate::error::runtime(anyhow::Error::new(e).context(format!(
                "cannot write the send journal {}",
                lock(&self.journal).path().display()
            )))
        })?;
        *synced = target;
        Ok(())
    }

    /// The journal cannot be written: hand nothing more out.
    fn journal_failed(&self, error: anyhow::Error) {
        lock(&self.journal).mark_broken();
        if !self.journal_failed.swap(true, Ordering::SeqCst) {
            self.fail(error);
        }
    }

    /// Puts a job back to be tried after `delay`.
    fn retry_later(&self, job: Job, attempts: u32, delay: Duration) {
        let mut r = lock(&self.retries);
        let seq = r.seq;
        r.seq += 1;
        r.heap.push(Reverse((Instant::now() + delay, seq)));
        r.jobs.insert(seq, (job, attempts));
        r.in_flight -= 1;
    }

    fn finished(&self, key: &str) {
        lock(&self.claims).remove(key);
        lock(&self.retries).in_flight -= 1;
    }

    /// Waits for this message's slot under `--rate`: slots are spaced
    /// exactly, so messages are spread evenly rather than sent in bursts.
    fn wait_for_slot(&self, interval: Option<Duration>) {
        let Some(interval) = interval else { return };
        let at = {
            let mut next = lock(&self.next_slot);
            let at = (*next).max(Instant::now());
            *next = at + interval;
            at
        };
        self.pause(at.saturating_duration_since(Instant::now()));
    }
}

fn worker(
    shared: &Shared<'_>,
    s: &Settings<'_>,
    open: &(dyn Fn() -> Result<Box<dyn Deliver>> + Sync),
    progress: &Progress,
) {
    let mut transport = match open() {
        Ok(t) => t,
        Err(e) => return shared.fail(e),
    };
    loop {
        let (job, attempts) = match shared.next(s, progress) {
            Next::Done => break,
            Next::Wait(d) => {
                std::thread::sleep(d.clamp(Duration::from_millis(1), Duration::from_millis(50)));
                continue;
            }
            Next::Job(job, attempts) => (job, attempts),
        };
        shared.wait_for_slot(s.interval);
        match deliver_one(shared, s, transport.as_mut(), progress, *job, attempts) {
            Ok(Keep::Going) => {}
            Ok(Keep::Retire) => break,
            Err(e) => shared.fail(e),
        }
    }
    transport.close();
}

/// Whether a worker goes on after a letter.
enum Keep {
    Going,
    /// The server has too many connections: this worker stops.
    Retire,
}

impl Shared<'_> {
    /// Stops one worker if another is still running; false for the last.
    fn retire_one(&self) -> Option<usize> {
        self.workers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 1).then(|| n - 1)
            })
            .ok()
            .map(|before| before - 1)
    }
}

/// Why a message did not leave although the letter was handed to a worker.
const INTERRUPTED: &str =
    "not sent: the run was stopped (Ctrl-C or SIGTERM) before the message left";
const UNJOURNALLED: &str = "not sent: the journal could not be written";

fn deliver_one(
    shared: &Shared<'_>,
    s: &Settings<'_>,
    transport: &mut dyn Deliver,
    progress: &Progress,
    job: Job,
    attempts: u32,
) -> Result<Keep> {
    let (key, id, signed) = (
        job.key.clone(),
        job.composed.message_id.clone(),
        job.signed.clone(),
    );
    let about = About {
        key: &key,
        message_id: &id,
        signed: &signed,
    };
    if shared.stopping() {
        // Stopped while this letter waited for its slot under --rate, or
        // while another worker's letter stopped the run.
        let reason = if shared.interrupt.asked() {
            INTERRUPTED
        } else {
            "not sent: the run stopped before this letter"
        };
        lock(&shared.summary).record(job.result(Status::NotAttempted, reason));
        shared.finished(&key);
        progress.inc();
        return Ok(Keep::Going);
    }
    // Why the message did not leave, when the commit refused it.
    let mut halted: Option<(&str, Option<anyhow::Error>)> = None;
    // When the server cannot be reached at all, this worker waits and tries
    // the same letter again rather than moving on: the next letters could
    // not get through either.
    let mut attempts = attempts;
    let outcome = loop {
        attempts += 1;
        // The attempt is on disk before the message itself leaves, and only
        // then: a run stopped while connecting or logging in leaves nothing
        // uncertain.
        let mut commit = || -> Result<()> {
            if shared.interrupt.asked() {
                halted = Some((INTERRUPTED, None));
                anyhow::bail!(INTERRUPTED);
            }
            let written = lock(&shared.journal).attempt(about);
            if let Err(e) = written.and_then(|upto| shared.durable(upto)) {
                let text = format!("{e:#}");
                halted = Some((UNJOURNALLED, Some(e)));
                anyhow::bail!(text);
            }
            Ok(())
        };
        let result = transport
            .deliver(&job.composed, &mut commit)
            .map(Outcome::or_quota);
        match result {
            Ok(Outcome::Unreachable(reply)) if attempts < MAX_ATTEMPTS && !shared.stopping() => {
                let delay = backoff(s.retry_delay, attempts);
                progress.println(&format!(
                    "{reply}; trying again in {:.1}s",
                    delay.as_secs_f32()
                ));
                shared.pause(delay);
            }
            Ok(Outcome::Busy(reply)) => match shared.retire_one() {
                // Nothing was sent: the letter goes back as it was.
                Some(left) => {
                    progress.println(&format!(
                        "the server has too many connections ({reply}); going on with {left}"
                    ));
                    shared.retry_later(job, attempts - 1, Duration::ZERO);
                    return Ok(Keep::Retire);
                }
                None => break Outcome::Temporary(reply),
            },
            Ok(outcome) => break outcome,
            Err(error) => {
                let (reply, journal_error) = match halted.take() {
                    Some((reply, journal_error)) => (reply, journal_error),
                    None => ("not sent: the run stopped", None),
                };
                lock(&shared.summary).record(job.result(Status::NotAttempted, reply));
                shared.finished(&key);
                progress.inc();
                return match journal_error {
                    Some(e) => {
                        shared.journal_failed(e);
                        Ok(Keep::Going)
                    }
                    None if reply == INTERRUPTED => Ok(Keep::Going),
                    None => Err(error),
                };
            }
        }
    };
    let l = &job.produced.letter;
    let who = format!(
        "{} → {} (signed {})",
        l.letter_id, l.recipient.id, l.signer.name
    );
    let mut stop_after = None;
    let written = match &outcome {
        Outcome::Accepted(reply) => {
            let to = job.composed.envelope.recipients();
            let petition = job.produced.petition.as_ref().map_or("", |p| p.signed());
            let written = lock(&shared.journal).sent(about, reply, &to, petition);
            if s.verbose {
                progress.println(&format!("sent {who}: {reply}"));
            }
            shared.sent_since_start.fetch_add(1, Ordering::Relaxed);
            let mut summary = lock(&shared.summary);
            summary.record(job.result(Status::Sent, reply));
            if written.is_err() {
                summary.unrecorded(Journal::sent_line(about, reply, &to));
            }
            written
        }
        Outcome::Uncertain(reply) => {
            // Never retried: the server may have it already.
            progress.println(&format!(
                "uncertain {who}: {reply}; not sent again (see --resend-uncertain)"
            ));
            lock(&shared.summary).record(job.result(Status::Uncertain, reply));
            lock(&shared.journal).uncertain(about, reply)
        }
        Outcome::Permanent(reply) => {
            progress.println(&format!("refused {who}: {reply}"));
            lock(&shared.summary).record(job.result(Status::RefusedPermanently, reply));
            lock(&shared.journal).failed(about, reply)
        }
        Outcome::Quota(reply) => {
            // Refused, to be sent by a later run; no more letters now.
            progress.println(&format!("refused {who}: {reply}"));
            lock(&shared.summary).record(job.result(Status::RefusedTemporarily, reply));
            if !shared.stopping() {
                stop_after = Some(anyhow::anyhow!(
                    "the server refuses more mail from this account for now: {reply}. That is a \
                     sending limit (a daily or hourly quota of the account or server), not a fault \
                     in the letters, so no more were tried. Run the same command again once the \
                     limit resets (for a daily limit, 24 hours after the first letter of the day): \
                     the letters already sent are not sent again. --daily-limit N keeps a run \
                     under a known limit"
                ));
            }
            lock(&shared.journal).failed(about, reply)
        }
        Outcome::Temporary(reply) | Outcome::Busy(reply) if s.retry_more(&job, attempts) => {
            // Journalled as refused, so that the journal tells this run's
            // later rows that the letter is taken.
            let written = lock(&shared.journal).failed(about, reply);
            if written.is_ok() && !shared.stopping() {
                let mut job = job;
                job.first_refused.get_or_insert_with(Instant::now);
                let delay = backoff(s.retry_delay, attempts);
                progress.println(&format!(
                    "will retry {who} in {:.1}s: {reply}",
                    delay.as_secs_f32()
                ));
                shared.retry_later(job, attempts, delay);
                return Ok(Keep::Going);
            }
            lock(&shared.summary).record(job.result(Status::RefusedTemporarily, reply));
            written
        }
        Outcome::Temporary(reply) | Outcome::Busy(reply) => {
            progress.println(&format!("gave up on {who} after {attempts} tries: {reply}"));
            lock(&shared.summary).record(job.result(Status::RefusedTemporarily, reply));
            lock(&shared.journal).failed(about, reply)
        }
        Outcome::Unreachable(reply) => {
            // The message never reached a server: not attempted, not refused.
            lock(&shared.summary).record(job.result(Status::NotAttempted, reply));
            if !shared.interrupt.asked() {
                stop_after = Some(anyhow::anyhow!(
                    "{reply} (tried {attempts} times); nothing more was sent"
                ));
            }
            lock(&shared.journal).failed(about, reply)
        }
    };
    shared.finished(&key);
    progress.inc();
    if let Err(e) = written {
        shared.journal_failed(e);
    }
    match stop_after {
        Some(e) => Err(e),
        None => Ok(Keep::Going),
    }
}

/// A retry delay: doubling from the base, with ±25 % jitter so that many
/// clients do not come back at once.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ms = (base.as_millis() as u64)
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(60_000);
    let jitter = ms / 4;
    Duration::from_millis(ms - jitter + random_below(2 * jitter + 1))
}

/// A cheap random number for jitter (not for anything secret).
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) % bound.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let d = backoff(base, attempt).as_millis() as u64;
            let nominal = 100 << (attempt - 1);
            assert!(
                d >= nominal * 3 / 4 && d <= nominal * 5 / 4,
                "attempt {attempt}: {d}ms"
            );
        }
        assert!(backoff(Duration::from_secs(10), 20) <= Duration::from_millis(75_000));
    }
}
