//! Exit codes, and the one distinction `main` needs to choose them: was the
//! input bad (nothing done), or did something fail while running?

use std::fmt;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done.
    Success = 0,
    /// Some letters were refused (the others were sent); see the summary.
    SomeFailed = 1,
    /// Bad input or configuration: nothing was done.
    BadInput = 2,
    /// A failure while running (disk, network): see the message.
    Runtime = 3,
    /// Stopped by Ctrl-C (SIGINT), cleanly: see the summary.
    Interrupted = 130,
    /// Stopped by SIGTERM, cleanly: see the summary.
    Terminated = 143,
}

/// Marks an error as the person stopping the run (Ctrl-C at a prompt).
#[derive(Debug)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped (Ctrl-C)")
    }
}

impl std::error::Error for Stopped {}

/// Marks an error as a failure while running rather than bad input.
#[derive(Debug)]
pub struct Runtime(pub anyhow::Error);

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Runtime {}

/// Wraps `err` as a runtime failure (exit code 3).
pub fn runtime(err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(Runtime(err))
}

/// The exit status for an error that ended the run.
pub fn status_of(err: &anyhow::Error) -> ExitStatus {
    if err.chain().any(|e| e.is::<Stopped>()) {
        ExitStatus::Interrupted
    } else if err.chain().any(|e| e.is::<Runtime>()) {
        ExitStatus::Runtime
    } else {
        ExitStatus::BadInput
    }
}

/// Whether the error is only the reader of our output going away
/// (`protest-letter … | head`), which is not worth a message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
            || e.downcast_ref::<Runtime>()
                .is_some_and(|r| is_broken_pipe(&r.0))
    })
}
