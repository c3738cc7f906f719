//! A consecutive-failures circuit breaker per handler, driven by the inbox clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::duration_ms;

/// Circuit breaker settings: after `failure_threshold` consecutive failures of a handler, stop
/// dispatching to it for `recovery`, then let one trial run through (half-open): its success
/// closes the circuit, its failure opens it again. While the circuit is open its deliveries
/// wait; they are neither failed nor dead, and no attempt is counted.
///
/// A failure is a retryable [`HandlerError`](crate::HandlerError) or a panic. A permanent error
/// (including a body that does not match a typed handler's type) says the delivery is bad, not
/// that the handler or what it calls is down, so it neither counts nor resets the count. Runs
/// that started before the circuit opened do not decide anything once it is open: only the
/// trial does.
///
/// [`Inbox::health`](crate::Inbox::health) counts the open circuits; see
/// [`WorkerBuilder::circuit_breaker`](crate::WorkerBuilder::circuit_breaker) for one opening.
///
/// ```
/// use std::time::Duration;
/// use webhook_inbox::BreakerConfig;
///
/// assert_eq!(BreakerConfig::default(), BreakerConfig::new(5, Duration::from_secs(60)));
/// // A handler whose downstream is flaky rather than down: trip later, retry sooner.
/// let flaky = BreakerConfig::new(20, Duration::from_secs(10));
/// assert_eq!(flaky.failure_threshold, 20);
/// assert_eq!(BreakerConfig::disabled().failure_threshold, 0); // never opens
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit (default 5). 0 disables the breaker.
    pub failure_threshold: u32,
    /// How long the circuit stays open (default 60 s).
    pub recovery: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            recovery: Duration::from_secs(60),
        }
    }
}

impl BreakerConfig {
    /// Opens after `failure_threshold` consecutive failures, for `recovery`.
    pub fn new(failure_threshold: u32, recovery: Duration) -> Self {
        BreakerConfig {
            failure_threshold,
            recovery,
        }
    }

    /// Never opens.
    pub fn disabled() -> Self {
        BreakerConfig {
            failure_threshold: 0,
            recovery: Duration::ZERO,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<i64>,
    trial_in_flight: bool,
}

/// What a finished run tells the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Failure,
    /// A permanent error: the delivery's fault, not the handler's health.
    Neutral,
}

/// Whether a run may start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Closed: run.
    Run,
    /// Half-open: this run is the trial.
    Trial,
    /// Open: hold the delivery until this time.
    Hold(i64),
}

#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: Mutex<State>,
    /// Whether this circuit is open, for the inbox's health: from when it opens until a
    /// success closes it.
    open: Arc<AtomicBool>,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig, open: Arc<AtomicBool>) -> Self {
        Breaker {
            config,
            state: Mutex::new(State::default()),
            open,
        }
    }

    pub(crate) fn admit(&self, now_ms: i64) -> Admit {
        if self.config.failure_threshold == 0 {
            return Admit::Run;
        }
        let Ok(mut s) = self.state.lock() else {
            return Admit::Run;
        };
        match s.open_until {
            None => Admit::Run,
            Some(until) if now_ms < until => Admit::Hold(until),
            // While the trial runs the others look again shortly: within a second, and not
            // sooner than 100 ms (a zero recovery would have them claimed and released in a
            // loop).
            Some(_) if s.trial_in_flight => Admit::Hold(
                now_ms.saturating_add(duration_ms(self.config.recovery).clamp(100, 1_000)),
            ),
            Some(_) => {
                s.trial_in_flight = true;
                Admit::Trial
            }
        }
    }

    /// Records a finished run (`trial`: the run [`admit`](Self::admit) let through half-open);
    /// returns true when this failure opened the circuit.
    pub(crate) fn record(&self, verdict: Verdict, trial: bool, now_ms: i64) -> bool {
        if self.config.failure_threshold == 0 {
            return false;
        }
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if trial {
            s.trial_in_flight = false;
        } else if s.open_until.is_some() {
            // Admitted before the circuit opened: the trial decides.
            return false;
        }
        match verdict {
            // Closed (a closed circuit has no trial either).
            Verdict::Success => {
                self.open.store(false, Ordering::Relaxed);
                *s = State::default();
            }
            // After a trial, the next delivery is the trial.
            Verdict::Neutral => {}
            Verdict::Failure => {
                s.consecutive_failures = s.consecutive_failures.saturating_add(1);
                if trial || s.consecutive_failures >= self.config.failure_threshold {
                    s.open_until = Some(now_ms.saturating_add(duration_ms(self.config.recovery)));
                    self.open.store(true, Ordering::Relaxed);
                    return true;
                }
            }
        }
        false
    }

    /// Gives up a trial slot that was admitted but not run (the delivery was released).
    pub(crate) fn cancel_trial(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.trial_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Failure, Neutral, Success};

    #[test]
    fn opens_after_threshold_then_half_opens() {
        let b = Breaker::new(
            BreakerConfig::new(3, Duration::from_secs(60)),
            Arc::default(),
        );
        for _ in 0..2 {
            assert_eq!(b.admit(0), Admit::Run);
            assert!(!b.record(Failure, false, 0));
        }
        assert_eq!(b.admit(0), Admit::Run);
        assert!(b.record(Failure, false, 1_000));
        assert_eq!(b.admit(30_000), Admit::Hold(61_000));
        // Half-open: one trial, the rest wait.
        assert_eq!(b.admit(61_000), Admit::Trial);
        assert!(matches!(b.admit(61_001), Admit::Hold(_)));
        // The trial fails: open again for a full recovery.
        assert!(b.record(Failure, true, 62_000));
        assert_eq!(b.admit(62_001), Admit::Hold(122_000));
        assert_eq!(b.admit(122_000), Admit::Trial);
        assert!(!b.record(Success, true, 122_500));
        assert_eq!(b.admit(122_600), Admit::Run);
    }

    /// A circuit is open for health from when it opens, through failed trials, until a
    /// success closes it.
    #[test]
    fn an_open_circuit_is_flagged_until_a_success_closes_it() {
        let open = Arc::new(AtomicBool::new(false));
        let b = Breaker::new(BreakerConfig::new(1, Duration::from_secs(1)), open.clone());
        b.record(Failure, false, 0);
        assert!(open.load(Ordering::Relaxed));
        assert_eq!(b.admit(1_000), Admit::Trial);
        b.record(Failure, true, 1_500);
        assert!(open.load(Ordering::Relaxed));
        assert_eq!(b.admit(2_500), Admit::Trial);
        b.record(Success, true, 2_600);
        assert!(!open.load(Ordering::Relaxed));
    }

    #[test]
    fn success_resets_the_count_and_zero_disables() {
        let b = Breaker::new(
            BreakerConfig::new(2, Duration::from_secs(1)),
            Arc::default(),
        );
        b.record(Failure, false, 0);
        b.record(Success, false, 0);
        b.record(Failure, false, 0);
        assert_eq!(b.admit(0), Admit::Run);
        let off = Breaker::new(BreakerConfig::disabled(), Arc::default());
        for _ in 0..10 {
            off.record(Failure, false, 0);
        }
        assert_eq!(off.admit(0), Admit::Run);
    }

    #[test]
    fn runs_admitted_before_the_circuit_opened_do_not_decide_it() {
        let b = Breaker::new(
            BreakerConfig::new(2, Duration::from_secs(60)),
            Arc::default(),
        );
        // Four runs start while closed; two fail and open the circuit.
        assert!(!b.record(Failure, false, 0));
        assert!(b.record(Failure, false, 0));
        // A slow one of the four succeeds: the circuit stays open.
        assert!(!b.record(Success, false, 1_000));
        assert_eq!(b.admit(1_000), Admit::Hold(60_000));
        // Half-open: the trial is running when the last of the four fails.
        assert_eq!(b.admit(60_000), Admit::Trial);
        assert!(!b.record(Failure, false, 60_100));
        // Neither reopened nor a second trial.
        assert!(matches!(b.admit(60_200), Admit::Hold(until) if until <= 61_200));
        // The trial decides.
        assert!(!b.record(Success, true, 60_300));
        assert_eq!(b.admit(60_300), Admit::Run);
    }

    #[test]
    fn a_zero_recovery_still_holds_the_others_while_the_trial_runs() {
        let b = Breaker::new(BreakerConfig::new(1, Duration::ZERO), Arc::default());
        assert!(b.record(Failure, false, 0));
        assert_eq!(b.admit(0), Admit::Trial);
        assert_eq!(b.admit(0), Admit::Hold(100));
    }

    #[test]
    fn permanent_errors_neither_count_nor_reset() {
        let b = Breaker::new(
            BreakerConfig::new(2, Duration::from_secs(60)),
            Arc::default(),
        );
        for _ in 0..10 {
            assert!(!b.record(Neutral, false, 0));
        }
        assert_eq!(b.admit(0), Admit::Run);
        assert!(!b.record(Failure, false, 0));
        assert!(!b.record(Neutral, false, 0));
        assert!(b.record(Failure, false, 0));
        // A trial ending in a permanent error hands the trial to the next delivery.
        assert_eq!(b.admit(60_000), Admit::Trial);
        assert!(!b.record(Neutral, true, 60_000));
        assert_eq!(b.admit(60_001), Admit::Trial);
    }
}
