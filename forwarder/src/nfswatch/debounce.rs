//! Per-volume debouncing: many filesystem changes, one event per burst.
//!
//! A burst of a volume starts with its first change and ends when the volume has been quiet for
//! `quiet` (`DEBOUNCE_QUIET_MS`), or at the latest `max_delay` (`DEBOUNCE_MAX_MS`) after the
//! first change, so a VM that writes continuously still produces an event every `max_delay`
//! instead of never. The debouncer is pure: callers pass the clock in.

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The changes of one volume since its burst began.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst<K> {
    /// The volume.
    pub key: K,
    /// The first change (monotonic).
    pub first: Instant,
    /// The first change (wall clock, sent as `first_change_at`).
    pub first_at: DateTime<Utc>,
    /// The latest change (monotonic).
    pub last: Instant,
    /// The latest change (wall clock, sent as `last_change_at`).
    pub last_at: DateTime<Utc>,
    /// How many changes were recorded.
    pub changes: u64,
}

/// Open bursts by volume.
#[derive(Debug)]
pub struct Debouncer<K> {
    quiet: Duration,
    max_delay: Duration,
    open: HashMap<K, Burst<K>>,
}

impl<K: Eq + Hash + Clone> Debouncer<K> {
    /// A debouncer closing bursts after `quiet` without change, or `max_delay` after their start.
    pub fn new(quiet: Duration, max_delay: Duration) -> Self {
        Debouncer {
            quiet,
            max_delay: max_delay.max(quiet),
            open: HashMap::new(),
        }
    }

    /// Records a change of `key` at `now`/`at`; `true` when it opened a new burst.
    pub fn record(&mut self, key: K, now: Instant, at: DateTime<Utc>) -> bool {
        match self.open.get_mut(&key) {
            Some(burst) => {
                burst.last = burst.last.max(now);
                burst.last_at = burst.last_at.max(at);
                burst.changes += 1;
                false
            }
            None => {
                self.open.insert(
                    key.clone(),
                    Burst {
                        key,
                        first: now,
                        first_at: at,
                        last: now,
                        last_at: at,
                        changes: 1,
                    },
                );
                true
            }
        }
    }

    fn deadline(&self, burst: &Burst<K>) -> Instant {
        (burst.last + self.quiet).min(burst.first + self.max_delay)
    }

    /// When the next burst closes, if any is open.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.values().map(|b| self.deadline(b)).min()
    }

    /// Removes and returns the bursts closed at `now`, oldest first.
    pub fn take_due(&mut self, now: Instant) -> Vec<Burst<K>> {
        let due: Vec<K> = self
            .open
            .values()
            .filter(|b| self.deadline(b) <= now)
            .map(|b| b.key.clone())
            .collect();
        let mut out: Vec<Burst<K>> = due.iter().filter_map(|k| self.open.remove(k)).collect();
        out.sort_by_key(|b| b.first);
        out
    }

    /// Removes and returns every open burst, oldest first (at shutdown).
    pub fn take_all(&mut self) -> Vec<Burst<K>> {
        let mut out: Vec<Burst<K>> = self.open.drain().map(|(_, b)| b).collect();
        out.sort_by_key(|b| b.first);
        out
    }

    /// How many volumes have an open burst.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether no burst is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// The first change of the oldest open burst.
    pub fn oldest(&self) -> Option<Instant> {
        self.open.values().map(|b| b.first).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn debouncer() -> (Debouncer<&'static str>, Instant, DateTime<Utc>) {
        (
            Debouncer::new(100 * MS, 1000 * MS),
            Instant::now(),
            Utc::now(),
        )
    }

    #[test]
    fn a_burst_closes_after_the_quiet_window_with_its_count_and_times() {
        let (mut d, t0, w0) = debouncer();
        assert!(d.record("a", t0, w0));
        for i in 1..10_000u32 {
            let dt = Duration::from_micros(i.into());
            assert!(!d.record("a", t0 + dt, w0 + dt));
        }
        let last = t0 + Duration::from_micros(9_999);
        assert_eq!(d.next_deadline(), Some(last + 100 * MS));
        assert!(d.take_due(last + 99 * MS).is_empty());
        let bursts = d.take_due(last + 100 * MS);
        assert_eq!(bursts.len(), 1, "10,000 changes, one event");
        let b = &bursts[0];
        assert_eq!((b.changes, b.first, b.last), (10_000, t0, last));
        assert_eq!(b.first_at, w0);
        assert_eq!(b.last_at, w0 + Duration::from_micros(9_999));
        assert!(d.is_empty() && d.next_deadline().is_none());
    }

    #[test]
    fn continuous_changes_close_at_the_max_delay() {
        let (mut d, t0, w0) = debouncer();
        let mut closed = Vec::new();
        // One change every 50 ms for 3 s: never quiet for 100 ms.
        for step in 0..60u32 {
            let now = t0 + 50 * MS * step;
            closed.extend(d.take_due(now));
            d.record("a", now, w0);
        }
        assert_eq!(closed.len(), 2, "one event per max delay (1 s) over 3 s");
        assert!(closed.iter().all(|b| b.last - b.first < 1000 * MS));
        assert_eq!(closed[0].changes, 20);
    }

    #[test]
    fn volumes_are_debounced_separately_and_returned_oldest_first() {
        let (mut d, t0, w0) = debouncer();
        d.record("b", t0, w0);
        d.record("a", t0 + 10 * MS, w0);
        d.record("b", t0 + 90 * MS, w0);
        assert_eq!(d.len(), 2);
        assert_eq!(d.oldest(), Some(t0));
        let due: Vec<_> = d
            .take_due(t0 + 110 * MS)
            .into_iter()
            .map(|b| b.key)
            .collect();
        assert_eq!(due, ["a"], "b had a change 90 ms in: still open");
        d.record("c", t0 + 120 * MS, w0);
        let all: Vec<_> = d.take_all().into_iter().map(|b| b.key).collect();
        assert_eq!(all, ["b", "c"]);
    }
}
