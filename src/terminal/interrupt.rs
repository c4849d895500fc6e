//! Ctrl-C and SIGTERM during a run that writes or sends: the first asks
//! the run to stop cleanly (no new letter, the one whose message has not
//! left is abandoned, the journal written, the summary printed, exit 130
//! or 143); a second ends the process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::ExitStatus;

/// Whether a stop was asked for, and by which signal.
#[derive(Clone, Default)]
pub struct Interrupt {
    asked: Arc<AtomicBool>,
    /// The exit status the signal calls for (130 or 143), once asked.
    status: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Watches SIGINT and SIGTERM from now on, for the rest of the process.
    /// If the handlers cannot be installed, the default (ending at once)
    /// stays: nothing is lost that a `kill -9` would not lose.
    pub fn watch() -> Interrupt {
        let interrupt = Interrupt::default();
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            use signal_hook::flag;
            for (signal, status) in [
                (SIGINT, ExitStatus::Interrupted),
                (SIGTERM, ExitStatus::Terminated),
            ] {
                // The second signal finds the flag set and exits at once;
                // the order of the two registrations makes that so.
                let _ = flag::register_conditional_shutdown(
                    signal,
                    status as i32,
                    Arc::clone(&interrupt.asked),
                );
                let _ =
                    flag::register_usize(signal, Arc::clone(&interrupt.status), status as usize);
                let _ = flag::register(signal, Arc::clone(&interrupt.asked));
            }
        }
        interrupt
    }

    /// Whether the run should stop taking letters.
    pub fn asked(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }

    /// The exit status for a run that stopped because it was asked to.
    pub fn status(&self) -> Option<ExitStatus> {
        if !self.asked() {
            return None;
        }
        Some(match self.status.load(Ordering::SeqCst) {
            s if s == ExitStatus::Terminated as usize => ExitStatus::Terminated,
            _ => ExitStatus::Interrupted,
        })
    }

    /// Asks the run to stop, as a signal would (for tests).
    pub fn ask(&self, status: ExitStatus) {
        self.status.store(status as usize, Ordering::SeqCst);
        self.asked.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_carries_its_exit_status() {
        let i = Interrupt::default();
        assert_eq!(i.status(), None);
        let seen = i.clone();
        i.ask(ExitStatus::Terminated);
        assert!(seen.asked());
        assert_eq!(seen.status(), Some(ExitStatus::Terminated));
    }
}
