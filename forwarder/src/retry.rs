//! Why a delivery failed, and how long to wait before trying again.
//!
//! Every failure is retried: the forwarder never drops a change. What differs is the pace:
//! - **transient** (connection refused or reset, timeout, 5xx, 429, 408): exponential backoff
//!   with jitter, from `RETRY_INITIAL_MS` doubling up to `RETRY_MAX_S`, so a webhook that
//!   restarts is caught up quickly and a long outage costs one attempt per worker every
//!   `RETRY_MAX_S`;
//! - **configuration** (401, 403 and any other 4xx): retrying fast cannot help until an operator
//!   fixes the token, the HMAC secret or the URL, so these are logged as configuration errors and
//!   retried every `AUTH_RETRY_S`.

use std::fmt;
use std::time::Duration;

/// Why one delivery attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection (refused, reset, DNS, TLS handshake).
    Connect,
    /// No answer within `WEBHOOK_TIMEOUT_S`.
    Timeout,
    /// An HTTP answer other than 2xx.
    Status(u16),
    /// Anything else the HTTP client reported (e.g. a broken response).
    Other,
}

/// How a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Exponential backoff with jitter.
    Backoff,
    /// A fixed, slow interval: the failure needs an operator.
    Slow,
}

impl Failure {
    /// The `reason` label of the failure metric: `connect`, `timeout`, `http_401`, ... `other`.
    pub fn reason(self) -> String {
        match self {
            Failure::Connect => "connect".into(),
            Failure::Timeout => "timeout".into(),
            Failure::Status(code) => format!("http_{code}"),
            Failure::Other => "other".into(),
        }
    }

    /// How this failure is retried.
    pub fn pace(self) -> Pace {
        match self {
            Failure::Status(408 | 429) => Pace::Backoff,
            Failure::Status(400..=499) => Pace::Slow,
            _ => Pace::Backoff,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect => f.write_str("cannot connect to the webhook"),
            Failure::Timeout => f.write_str("the webhook did not answer in time"),
            Failure::Status(401) => f.write_str(
                "the webhook refused the credentials (401): WEBHOOK_TOKEN or WEBHOOK_HMAC_SECRET does not match the webhook's token/hmac_secret",
            ),
            Failure::Status(403) => f.write_str("the webhook forbids this client (403)"),
            Failure::Status(code @ 400..=499) if *code != 408 && *code != 429 => {
                write!(f, "the webhook rejected the request ({code}): check WEBHOOK_URL")
            }
            Failure::Status(code) => write!(f, "the webhook answered {code}"),
            Failure::Other => f.write_str("the HTTP exchange with the webhook failed"),
        }
    }
}

/// Exponential backoff with jitter: attempt n waits a random time in
/// `[d/2, d]` where `d = min(initial * 2^n, max)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Starts at `initial`, never waits longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The next wait; `unit` is a random number in `[0, 1)` (the jitter).
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(31));
        let ceiling = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_failures_by_what_can_fix_them() {
        assert_eq!(Failure::Connect.pace(), Pace::Backoff);
        assert_eq!(Failure::Timeout.pace(), Pace::Backoff);
        assert_eq!(Failure::Status(503).pace(), Pace::Backoff);
        assert_eq!(Failure::Status(429).pace(), Pace::Backoff);
        assert_eq!(Failure::Status(408).pace(), Pace::Backoff);
        assert_eq!(Failure::Status(401).pace(), Pace::Slow);
        assert_eq!(Failure::Status(403).pace(), Pace::Slow);
        assert_eq!(Failure::Status(404).pace(), Pace::Slow);
        assert_eq!(Failure::Status(401).reason(), "http_401");
        assert_eq!(Failure::Connect.reason(), "connect");
        assert!(Failure::Status(401).to_string().contains("401"));
        assert!(Failure::Status(404).to_string().contains("WEBHOOK_URL"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let top: Vec<_> = (0..6).map(|_| b.next_delay(1.0).as_millis()).collect();
        assert_eq!(top, [100, 200, 400, 800, 1000, 1000]);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let bottom: Vec<_> = (0..6).map(|_| b.next_delay(0.0).as_millis()).collect();
        assert_eq!(bottom, [50, 100, 200, 400, 500, 500]);
    }

    #[test]
    fn backoff_survives_very_many_attempts() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        for _ in 0..100 {
            assert!(b.next_delay(0.5) <= Duration::from_secs(30));
        }
    }
}
