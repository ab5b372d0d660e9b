//! In-memory limits for anonymous callers, who are never tracked: a gate
//! bounding how many large bodies are read at once, and a count of recent
//! failures for everyone together. Neither writes to the database, so a
//! flood of them costs the school day's writes nothing.
//!
//! Both are per process: behind a load balancer with N instances the gate
//! admits N times its bound, and the failure count allows N times its limit
//! (each instance sees about 1/N of a flood, so it still trips).

use chrono::{Duration, NaiveDateTime};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
