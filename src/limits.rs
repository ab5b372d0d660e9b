//! In-memory limits for anonymous callers, who are never tracked: a budget
//! of work for all of them together, a gate bounding how many large bodies
//! are read at once, and a count of recent failures for everyone together.
//! None writes to the database, so a flood of them costs the school day's
//! writes nothing.
//!
//! All are per process: behind a load balancer with N instances the budget
//! and the gate admit N times their bound, and the failure count allows N
//! times its limit (each instance sees about 1/N of a flood, so it still
//! trips).

use chrono::{Duration, NaiveDateTime};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A monotonic time source: how long since some fixed origin. The budget
/// keeps nothing, so it may run on the machine's monotonic clock rather
/// than the service's `Clock`; tests drive it by hand (`ManualTicks`).
pub trait Ticks: Send + Sync {
    fn elapsed(&self) -> std::time::Duration;
}

/// The machine's monotonic clock.
pub struct MonotonicTicks(Instant);

impl MonotonicTicks {
    pub fn new() -> MonotonicTicks {
        MonotonicTicks(Instant::now())
    }
}

impl Default for MonotonicTicks {
    fn default() -> MonotonicTicks {
        MonotonicTicks::new()
    }
}

impl Ticks for MonotonicTicks {
    fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed()
    }
}

/// A time source that moves only when told to (tests).
#[derive(Clone, Default)]
pub struct ManualTicks(Arc<AtomicU64>);

impl ManualTicks {
    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Ticks for ManualTicks {
    fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// A token bucket of `rate` units a second, holding at most one second's
/// worth, of which `reserve` units only reserved takers may spend: the
/// last of the budget is kept for them. A taker asks before any work, so a
/// refusal costs one lock and a subtraction.
///
/// Written here rather than taken from `governor`: one bucket shared by two
/// classes of taker, one of which may not reach its bottom, is not what a
/// GCRA limiter offers.
pub struct Budget {
    rate: f64,
    reserve: f64,
    ticks: Arc<dyn Ticks>,
    /// Units in the bucket, and when they were counted.
    level: Mutex<(f64, std::time::Duration)>,
}

impl Budget {
    /// `rate` units a second (at least 1), `reserve_percent` of them kept
    /// for reserved takers; the bucket starts full.
    pub fn new(rate: u32, reserve_percent: u32, ticks: Arc<dyn Ticks>) -> Budget {
        let rate = f64::from(rate.max(1));
        let at = ticks.elapsed();
        Budget {
            rate,
            reserve: rate * f64::from(reserve_percent.min(100)) / 100.0,
            ticks,
            level: Mutex::new((rate, at)),
        }
    }

    /// Takes `cost` units, from the reserve too when `reserved`; or says
    /// how long until they would be there. A cost larger than the bucket
    /// can ever hold for the taker is cut to that, so a large request is
    /// still admitted when the budget is full (and takes all of it).
    pub fn take(&self, cost: u32, reserved: bool) -> Result<(), std::time::Duration> {
        let floor = if reserved { 0.0 } else { self.reserve };
        let cost = f64::from(cost).min(self.rate - floor).max(0.0);
        let now = self.ticks.elapsed();
        let mut level = self.level.lock().unwrap_or_else(|e| e.into_inner());
        let refilled = level.0 + now.saturating_sub(level.1).as_secs_f64() * self.rate;
        let units = refilled.min(self.rate);
        *level = (units, now.max(level.1));
        if units - cost >= floor {
            level.0 = units - cost;
            return Ok(());
        }
        let missing = floor + cost - units;
        Err(std::time::Duration::from_secs_f64(missing / self.rate))
    }
}

/// At most `bound` holders at once; the next is turned away, never queued.
#[derive(Clone)]
pub struct Gate(Arc<Semaphore>);

/// A place through the gate, given back when dropped.
pub struct Pass(#[allow(dead_code)] OwnedSemaphorePermit);

impl Gate {
    pub fn new(bound: usize) -> Gate {
        Gate(Arc::new(Semaphore::new(bound.max(1))))
    }

    pub fn try_enter(&self) -> Option<Pass> {
        self.0.clone().try_acquire_owned().ok().map(Pass)
    }

    /// Waits (without a thread) for a place: for a queue of anonymous work
    /// that must not take every blocking thread from staff requests.
    pub async fn wait(&self) -> Pass {
        Pass(
            self.0
                .clone()
                .acquire_owned()
                .await
                .expect("the gate's semaphore is never closed"),
        )
    }

    /// Whether the next caller would be turned away.
    pub fn is_full(&self) -> bool {
        self.0.available_permits() == 0
    }
}

/// Failures within the last `span`, all callers together, up to `limit`.
pub struct FailureWindow {
    limit: usize,
    span: Duration,
    times: Mutex<VecDeque<NaiveDateTime>>,
}

impl FailureWindow {
    pub fn new(limit: i64, span: Duration) -> FailureWindow {
        FailureWindow {
            limit: limit.max(1) as usize,
            span,
            times: Mutex::new(VecDeque::new()),
        }
    }

    /// Records a failure at `now` (the injected clock's) and says whether
    /// it was within the limit; one over the limit is not recorded, so the
    /// memory held is bounded by the limit.
    pub fn fail(&self, now: NaiveDateTime) -> bool {
        let mut times = self.times.lock().unwrap_or_else(|e| e.into_inner());
        while times.front().is_some_and(|t| *t <= now - self.span) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_over_the_limit_are_refused_until_the_span_passes() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let w = FailureWindow::new(2, Duration::minutes(1));
        assert!(w.fail(t0));
        assert!(w.fail(t0 + Duration::seconds(10)));
        assert!(!w.fail(t0 + Duration::seconds(20)));
        assert!(w.fail(t0 + Duration::seconds(61)));
        assert!(!w.fail(t0 + Duration::seconds(62)));
    }

    fn budget(rate: u32, reserve_percent: u32) -> (Budget, ManualTicks) {
        let ticks = ManualTicks::default();
        (
            Budget::new(rate, reserve_percent, Arc::new(ticks.clone())),
            ticks,
        )
    }

    #[test]
    fn the_budget_spends_a_second_then_refills_at_its_rate() {
        let (b, ticks) = budget(10, 0);
        for _ in 0..10 {
            assert!(b.take(1, false).is_ok());
        }
        let wait = b.take(1, false).unwrap_err();
        assert_eq!(wait, std::time::Duration::from_millis(100));
        ticks.advance(std::time::Duration::from_millis(500));
        for _ in 0..5 {
            assert!(b.take(1, false).is_ok());
        }
        assert!(b.take(1, false).is_err());
        // A long pause refills one second's worth, no more.
        ticks.advance(std::time::Duration::from_secs(60));
        assert!(b.take(10, false).is_ok());
        assert!(b.take(1, false).is_err());
    }

    #[test]
    fn the_reserve_is_left_to_reserved_takers() {
        let (b, _ticks) = budget(8, 25);
        for _ in 0..6 {
            assert!(b.take(1, false).is_ok());
        }
        let wait = b.take(1, false).unwrap_err();
        assert_eq!(wait, std::time::Duration::from_millis(125));
        assert!(b.take(1, true).is_ok());
        assert!(b.take(1, true).is_ok());
        assert!(b.take(1, true).is_err());
    }

    #[test]
    fn a_cost_beyond_the_bucket_takes_all_a_taker_may_reach() {
        let (b, ticks) = budget(8, 25);
        assert!(b.take(100, false).is_ok());
        assert!(b.take(1, false).is_err());
        assert!(b.take(2, true).is_ok());
        ticks.advance(std::time::Duration::from_secs(1));
        assert!(b.take(4, false).is_ok());
        assert!(b.take(3, false).is_err());
    }

    #[test]
    fn the_gate_turns_away_past_its_bound_and_reopens() {
        let g = Gate::new(1);
        let first = g.try_enter();
        assert!(first.is_some());
        assert!(g.try_enter().is_none());
        drop(first);
        assert!(g.try_enter().is_some());
    }
}
