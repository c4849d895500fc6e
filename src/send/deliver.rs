//! The delivery engine: N workers, each with its own reused connection,
//! take letters from one shared stream, space them exactly by `--rate`,
//! retry temporary failures with backoff while the rest goes on, and write
//! the journal as they go.
//!
//! Letters are rendered and composed only when a worker asks for the next
//! one, so a batch of any size streams with flat memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::journal::{Journal, Previous};
use super::transport::{Deliver, Outcome};
use super::{Job, JobMaker, Status, Summary};
use crate::letters::Produced;
use crate::progress::Progress;

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
    pub verbose: bool,
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
    journal: Mutex<Journal>,
    summary: Mutex<Summary>,
    stop: AtomicBool,
    fatal: Mutex<Option<anyhow::Error>>,
    next_slot: Mutex<Instant>,
    /// Keys handed to a worker in this run: the same letter is never in
    /// flight twice, whatever the number of connections.
    dispatched: Mutex<std::collections::HashSet<u64>>,
    sent_since_start: AtomicUsize,
    /// Workers still running; fewer when the server wants fewer connections.
    workers: AtomicUsize,
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
    journal: Journal,
    progress: &Progress,
    summary: &mut Summary,
) -> Result<()> {
    let shared = Shared {
        fresh: Mutex::new(Fresh {
            letters: plan.letters,
            done: false,
        }),
        retries: Mutex::new(Retries::default()),
        journal: Mutex::new(journal),
        summary: Mutex::new(std::mem::take(summary)),
        stop: AtomicBool::new(false),
        fatal: Mutex::new(None),
        next_slot: Mutex::new(Instant::now()),
        dispatched: Mutex::new(std::collections::HashSet::new()),
        sent_since_start: AtomicUsize::new(0),
        workers: AtomicUsize::new(plan.connections.max(1)),
    };
    let settings = Settings {
        maker: plan.maker,
        resend: plan.resend,
        resend_uncertain: plan.resend_uncertain,
        interval: plan.interval,
        retry_delay: plan.retry_delay,
        verbose: plan.verbose,
    };
    std::thread::scope(|scope| {
        for _ in 0..plan.connections.max(1) {
            scope.spawn(|| worker(&shared, &settings, open, progress));
        }
    });
    let mut journal = shared
        .journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    *summary = shared
        .summary
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    journal.sync()?;
    match shared.fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(fatal) => Err(fatal),
        None => Ok(()),
    }
}

struct Settings<'a> {
    maker: &'a JobMaker<'a>,
    resend: bool,
    resend_uncertain: bool,
    interval: Option<Duration>,
    retry_delay: Duration,
    verbose: bool,
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

    fn next(&self, s: &Settings<'_>, progress: &Progress) -> Next {
        if self.stop.load(Ordering::SeqCst) {
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
                let job = match s.maker.make(produced, &lock(&self.journal)) {
                    Ok(job) => job,
                    Err(e) => {
                        self.fail(e);
                        return Next::Done;
                    }
                };
                if !lock(&self.dispatched).insert(crate::fingerprint::of([job.key.as_str()])) {
                    lock(&self.summary).record(job.result(
                        Status::Duplicate,
                        "the same letter as an earlier row; sent once",
                    ));
                    progress.inc();
                    continue;
                }
                if !s.resend && matches!(job.previous, Previous::Sent { .. }) {
                    lock(&self.summary).record(job.result(Status::AlreadySent, ""));
                    progress.inc();
                    continue;
                }
                if !s.resend
                    && !s.resend_uncertain
                    && matches!(job.previous, Previous::Uncertain { .. })
                {
                    let reply = "an earlier attempt may have been delivered; not sent again";
                    lock(&self.summary).record(job.result(Status::Uncertain, reply));
                    progress.inc();
                    continue;
                }
                lock(&self.retries).in_flight += 1;
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

    /// Puts a job back to be tried after `delay`.
    fn retry_later(&self, job: Job, attempts: u32, delay: Duration) {
        let mut r = lock(&self.retries);
        let seq = r.seq;
        r.seq += 1;
        r.heap.push(Reverse((Instant::now() + delay, seq)));
        r.jobs.insert(seq, (job, attempts));
        r.in_flight -= 1;
    }

    fn finished(&self) {
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
        let wait = at.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
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

fn deliver_one(
    shared: &Shared<'_>,
    s: &Settings<'_>,
    transport: &mut dyn Deliver,
    progress: &Progress,
    job: Job,
    attempts: u32,
) -> Result<Keep> {
    let id = &job.composed.message_id;
    lock(&shared.journal).attempt(&job.key, id)?;
    // When the server cannot be reached at all, this worker waits and tries
    // the same letter again rather than moving on: the next letters could
    // not get through either.
    let mut attempts = attempts;
    let outcome = loop {
        attempts += 1;
        match transport.deliver(&job.composed) {
            Ok(Outcome::Unreachable(reply))
                if attempts < MAX_ATTEMPTS && !shared.stop.load(Ordering::SeqCst) =>
            {
                let delay = backoff(s.retry_delay, attempts);
                progress.println(&format!(
                    "{reply}; trying again in {:.1}s",
                    delay.as_secs_f32()
                ));
                std::thread::sleep(delay);
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
            Err(fatal) => {
                lock(&shared.journal).failed(&job.key, id, "not sent: the run stopped")?;
                shared.finished();
                return Err(fatal);
            }
        }
    };
    let l = &job.produced.letter;
    let who = format!(
        "{} → {} (signed {})",
        l.letter_id, l.recipient.id, l.signer.name
    );
    match outcome {
        Outcome::Accepted(reply) => {
            lock(&shared.journal).sent(
                &job.key,
                id,
                &reply,
                &job.composed.envelope.recipients(),
            )?;
            if s.verbose {
                progress.println(&format!("sent {who}: {reply}"));
            }
            shared.sent_since_start.fetch_add(1, Ordering::Relaxed);
            lock(&shared.summary).record(job.result(Status::Sent, &reply));
        }
        Outcome::Uncertain(reply) => {
            // Never retried: the server may have it already.
            lock(&shared.journal).uncertain(&job.key, id, &reply)?;
            progress.println(&format!(
                "uncertain {who}: {reply}; not sent again (see --resend-uncertain)"
            ));
            lock(&shared.summary).record(job.result(Status::Uncertain, &reply));
        }
        Outcome::Permanent(reply) => {
            lock(&shared.journal).failed(&job.key, id, &reply)?;
            progress.println(&format!("failed {who}: {reply}"));
            lock(&shared.summary).record(job.result(Status::FailedPermanent, &reply));
        }
        Outcome::Temporary(reply) | Outcome::Busy(reply) if attempts < MAX_ATTEMPTS => {
            let delay = backoff(s.retry_delay, attempts);
            progress.println(&format!(
                "will retry {who} in {:.1}s: {reply}",
                delay.as_secs_f32()
            ));
            shared.retry_later(job, attempts, delay);
            return Ok(Keep::Going);
        }
        Outcome::Temporary(reply) | Outcome::Busy(reply) => {
            lock(&shared.journal).failed(&job.key, id, &reply)?;
            progress.println(&format!("gave up on {who} after {attempts} tries: {reply}"));
            lock(&shared.summary).record(job.result(Status::FailedTemporary, &reply));
        }
        Outcome::Unreachable(reply) => {
            lock(&shared.journal).failed(&job.key, id, &reply)?;
            lock(&shared.summary).record(job.result(Status::FailedTemporary, &reply));
            shared.finished();
            progress.inc();
            anyhow::bail!("{reply} (tried {attempts} times); nothing more was sent");
        }
    }
    shared.finished();
    progress.inc();
    Ok(Keep::Going)
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
