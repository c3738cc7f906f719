//! A consecutive-failures circuit breaker per handler, driven by the inbox clock.

use std::sync::Mutex;
use std::time::Duration;

use crate::clock::duration_ms;

/// Circuit breaker settings: after `failure_threshold` consecutive failures of a handler, stop
/// dispatching to it for `recovery`, then let one trial run through (half-open). While the
/// circuit is open its deliveries wait; they are neither failed nor dead, and no attempt is
/// counted.
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
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: Mutex::new(State::default()),
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
            Some(_) if s.trial_in_flight => {
                Admit::Hold(now_ms + duration_ms(self.config.recovery).min(1_000))
            }
            Some(_) => {
                s.trial_in_flight = true;
                Admit::Trial
            }
        }
    }

    /// Records a run's result; returns true when this failure opened the circuit.
    pub(crate) fn record(&self, ok: bool, now_ms: i64) -> bool {
        if self.config.failure_threshold == 0 {
            return false;
        }
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        let was_trial = std::mem::take(&mut s.trial_in_flight);
        if ok {
            *s = State::default();
            return false;
        }
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        if was_trial || s.consecutive_failures >= self.config.failure_threshold {
            let newly = s.open_until.is_none() || was_trial;
            s.open_until = Some(now_ms.saturating_add(duration_ms(self.config.recovery)));
            return newly;
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

    #[test]
    fn opens_after_threshold_then_half_opens() {
        let b = Breaker::new(BreakerConfig::new(3, Duration::from_secs(60)));
        for _ in 0..2 {
            assert_eq!(b.admit(0), Admit::Run);
            assert!(!b.record(false, 0));
        }
        assert_eq!(b.admit(0), Admit::Run);
        assert!(b.record(false, 1_000));
        assert_eq!(b.admit(30_000), Admit::Hold(61_000));
        // Half-open: one trial, the rest wait.
        assert_eq!(b.admit(61_000), Admit::Trial);
        assert!(matches!(b.admit(61_001), Admit::Hold(_)));
        // The trial fails: open again for a full recovery.
        assert!(b.record(false, 62_000));
        assert_eq!(b.admit(62_001), Admit::Hold(122_000));
        assert_eq!(b.admit(122_000), Admit::Trial);
        assert!(!b.record(true, 122_500));
        assert_eq!(b.admit(122_600), Admit::Run);
    }

    #[test]
    fn success_resets_the_count_and_zero_disables() {
        let b = Breaker::new(BreakerConfig::new(2, Duration::from_secs(1)));
        b.record(false, 0);
        b.record(true, 0);
        b.record(false, 0);
        assert_eq!(b.admit(0), Admit::Run);
        let off = Breaker::new(BreakerConfig::disabled());
        for _ in 0..10 {
            off.record(false, 0);
        }
        assert_eq!(off.admit(0), Admit::Run);
    }
}
