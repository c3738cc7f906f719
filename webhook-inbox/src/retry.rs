//! [`RetryPolicy`]: when a failed delivery runs again, and when it is declared dead.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ConstantBuilder, ExponentialBuilder};

type MakeBackoff = Arc<dyn Fn() -> Box<dyn Iterator<Item = Duration> + Send> + Send + Sync>;

/// The retry schedule: one or more tiers of backon backoffs, run one after the other. A
/// delivery gets one first attempt plus one retry per delay the tiers yield; then it is dead.
///
/// The schedule is applied by storing the next attempt time in the database, so it survives
/// restarts. The default ([`RetryPolicy::default`]) rides out a downstream outage of hours: the
/// fast [`exponential`](RetryPolicy::exponential) tier, then every 10 minutes for 6 hours (41
/// attempts). A delivery that is still failing then goes dead, where it is kept until re-driven.
///
/// ```
/// use std::time::Duration;
/// use backon::{ConstantBuilder, ExponentialBuilder};
/// use webhook_inbox::RetryPolicy;
///
/// // A fast tier (5 retries from 1 s, doubling), then a slow tier: every 10 minutes for 6 hours.
/// let policy = RetryPolicy::new(
///     ExponentialBuilder::default().with_min_delay(Duration::from_secs(1)).with_max_times(5).with_jitter(),
/// )
/// .then(ConstantBuilder::default().with_delay(Duration::from_secs(600)).with_max_times(36));
/// assert_eq!(policy.max_attempts(), 1 + 5 + 36);
/// assert_eq!(policy.delay_after(6), Some(Duration::from_secs(600)));
/// assert_eq!(policy.delay_after(42), None);
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    tiers: Vec<MakeBackoff>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("tiers", &self.tiers.len())
            .field("max_attempts", &self.max_attempts())
            .finish()
    }
}

impl Default for RetryPolicy {
    /// [`exponential`](RetryPolicy::exponential) (1 s, 2 s, 4 s, 8 s with jitter), then every 10
    /// minutes for 6 hours: 41 attempts over about 6 hours, so that a handler whose database or
    /// downstream API is down for a while catches up on its own instead of dead-lettering
    /// everything received meanwhile (the sender was acknowledged and will not retry).
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.max_attempts(), 41);
    /// assert_eq!(policy.delay_after(5), Some(Duration::from_secs(600)));
    /// ```
    fn default() -> Self {
        RetryPolicy::exponential().then_every(Duration::from_secs(600), 36)
    }
}

impl RetryPolicy {
    /// 1 s, 2 s, 4 s, 8 s (each plus up to 100% jitter, backon's `with_jitter`), capped at 60 s
    /// per step: 5 attempts in all, within about 30 s. The first tier of the
    /// [default](RetryPolicy::default); alone, it suits handlers whose failures are brief.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::RetryPolicy;
    ///
    /// let policy = RetryPolicy::exponential();
    /// assert_eq!(policy.max_attempts(), 5);
    /// for (attempt, base) in [(1, 1), (2, 2), (3, 4), (4, 8)] {
    ///     let delay = policy.delay_after(attempt).unwrap(); // jittered: base to twice the base
    ///     assert!(delay >= Duration::from_secs(base) && delay <= Duration::from_secs(2 * base));
    /// }
    /// assert_eq!(policy.delay_after(5), None); // the fifth failure is final
    /// ```
    pub fn exponential() -> Self {
        RetryPolicy::new(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_secs(1))
                .with_max_delay(Duration::from_secs(60))
                .with_max_times(4)
                .with_jitter(),
        )
    }

    /// Retries at the given fixed delays, without jitter (handy in tests).
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::RetryPolicy;
    ///
    /// let policy = RetryPolicy::fixed([10, 60, 300].map(Duration::from_secs));
    /// assert_eq!(policy.max_attempts(), 4);
    /// assert_eq!(policy.delay_after(2), Some(Duration::from_secs(60)));
    /// assert_eq!(policy.delay_after(4), None);
    /// ```
    pub fn fixed(delays: impl IntoIterator<Item = Duration>) -> Self {
        let delays: Arc<[Duration]> = delays.into_iter().collect();
        RetryPolicy {
            tiers: vec![Arc::new(move || {
                let delays = delays.clone();
                Box::new((0..delays.len()).filter_map(move |i| delays.get(i).copied()))
            })],
        }
    }

    /// No retries: a failed delivery is dead at once (its error ends with
    /// `(gave up after 1 attempt)`), to re-drive by hand.
    ///
    /// ```
    /// use webhook_inbox::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::none().max_attempts(), 1);
    /// assert_eq!(RetryPolicy::none().delay_after(1), None);
    /// ```
    pub fn none() -> Self {
        RetryPolicy { tiers: Vec::new() }
    }

    /// Retries as a backon builder yields delays (`ExponentialBuilder`, `ConstantBuilder`,
    /// `FibonacciBuilder`, …). Give the builder a `max_times`: an endless builder never dies.
    /// Each decision builds the schedule afresh, so bound it by count: with `with_total_delay`
    /// and `with_jitter` together, the number of retries would change from one draw to the next.
    pub fn new<B>(builder: B) -> Self
    where
        B: BackoffBuilder + Clone + 'static,
        B::Backoff: Send + 'static,
    {
        RetryPolicy::none().then(builder)
    }

    /// Appends a tier that starts when the previous tiers are exhausted.
    pub fn then<B>(mut self, builder: B) -> Self
    where
        B: BackoffBuilder + Clone + 'static,
        B::Backoff: Send + 'static,
    {
        self.tiers
            .push(Arc::new(move || Box::new(builder.clone().build())));
        self
    }

    /// A constant tier: every `delay`, `times` times.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::RetryPolicy;
    ///
    /// // After the quick tier, hourly for a day.
    /// let policy = RetryPolicy::exponential().then_every(Duration::from_secs(3600), 24);
    /// assert_eq!(policy.max_attempts(), 5 + 24);
    /// assert_eq!(policy.delay_after(5), Some(Duration::from_secs(3600)));
    /// ```
    pub fn then_every(self, delay: Duration, times: usize) -> Self {
        self.then(
            ConstantBuilder::default()
                .with_delay(delay)
                .with_max_times(times),
        )
    }

    /// How long to wait after failed attempt number `attempt` (1-based), or `None` when the
    /// delivery is out of attempts.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.tiers.iter().flat_map(|make| make()).nth(index)
    }

    /// First attempt plus every retry.
    pub fn max_attempts(&self) -> u32 {
        let retries = self
            .tiers
            .iter()
            .map(|make| make().take(100_000).count())
            .sum::<usize>();
        u32::try_from(retries.saturating_add(1)).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_five_attempts_doubling_from_one_second() {
        let p = RetryPolicy::exponential();
        assert_eq!(p.max_attempts(), 5);
        for (attempt, base) in [(1, 1), (2, 2), (3, 4), (4, 8)] {
            let d = p.delay_after(attempt).unwrap();
            assert!(
                d >= Duration::from_secs(base) && d <= Duration::from_secs(2 * base),
                "{attempt}: {d:?}"
            );
        }
        assert_eq!(p.delay_after(5), None);
        assert_eq!(p.delay_after(0), None);
    }

    #[test]
    fn the_default_retries_for_six_hours() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 41);
        assert!(p.delay_after(4).unwrap() <= Duration::from_secs(16));
        for attempt in 5..=40 {
            assert_eq!(p.delay_after(attempt), Some(Duration::from_secs(600)));
        }
        assert_eq!(p.delay_after(41), None);
    }

    #[test]
    fn tiers_chain() {
        let p = RetryPolicy::fixed([Duration::from_millis(10), Duration::from_millis(20)])
            .then_every(Duration::from_secs(300), 3);
        assert_eq!(p.max_attempts(), 6);
        assert_eq!(p.delay_after(2), Some(Duration::from_millis(20)));
        assert_eq!(p.delay_after(3), Some(Duration::from_secs(300)));
        assert_eq!(p.delay_after(5), Some(Duration::from_secs(300)));
        assert_eq!(p.delay_after(6), None);
        assert_eq!(RetryPolicy::none().delay_after(1), None);
    }
}
