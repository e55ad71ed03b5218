//! When to retry an HTTP request, shared by the Octopus client and the Azure provider (pure).
//!
//! Rules: a request is retried only if the server certainly did not act on it (429, 503) or if it
//! is an idempotent read (GET) that failed transiently (408, 500, 502, 504, timeout, dropped
//! connection). A refused connection is never retried, so a stopped server fails fast. Retries are
//! bounded both by count and by a total deadline; Retry-After is honoured but capped.

use std::time::Duration;

/// What one attempt ended with, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status (and maybe a Retry-After).
    Status { status: u16, retry_after: Option<Duration> },
    /// No answer within the request timeout.
    Timeout,
    /// The connection could not be opened (refused, no route, DNS).
    Connect,
    /// The connection broke after it was opened.
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt.
    pub total_deadline: Duration,
    /// A server's Retry-After longer than this is shortened to it.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
            total_deadline: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (tests, and callers that loop themselves).
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The delay before retry number `retry` (1-based), or None to give up.
    /// `idempotent` is true for GET/HEAD; `elapsed` is the time since the first attempt started.
    pub fn next_delay(
        &self,
        idempotent: bool,
        outcome: Outcome,
        retry: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        let (retryable, retry_after) = match outcome {
            // The server did not process the request: safe for any method.
            Outcome::Status { status: 429 | 503, retry_after } => (true, retry_after),
            Outcome::Status { status: 408 | 500 | 502 | 504, .. } => (idempotent, None),
            Outcome::Status { .. } => (false, None),
            Outcome::Timeout | Outcome::Io => (idempotent, None),
            Outcome::Connect => (false, None),
        };
        if !retryable {
            return None;
        }
        let delay = match retry_after {
            Some(after) => after.min(self.retry_after_cap),
            None => self.backoff(retry),
        };
        (elapsed + delay <= self.total_deadline).then_some(delay)
    }

    /// Exponential backoff: base, 2·base, 4·base, ... capped at max_delay.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// `Retry-After` in seconds (the form ARM and Octopus send); HTTP dates are ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::ZERO;

    fn status(status: u16) -> Outcome {
        Outcome::Status { status, retry_after: None }
    }

    #[test]
    fn post_is_retried_only_when_the_server_did_not_process_it() {
        let p = RetryPolicy::default();
        assert!(p.next_delay(false, status(429), 1, S).is_some());
        assert!(p.next_delay(false, status(503), 1, S).is_some());
        assert!(p.next_delay(false, status(500), 1, S).is_none());
        assert!(p.next_delay(false, Outcome::Timeout, 1, S).is_none());
        assert!(p.next_delay(true, status(500), 1, S).is_some());
        assert!(p.next_delay(true, Outcome::Timeout, 1, S).is_some());
    }

    #[test]
    fn client_errors_and_refused_connections_are_never_retried() {
        let p = RetryPolicy::default();
        for code in [400, 401, 403, 404, 409, 412] {
            assert!(p.next_delay(true, status(code), 1, S).is_none(), "{code}");
        }
        assert!(p.next_delay(true, Outcome::Connect, 1, S).is_none());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy { retry_after_cap: Duration::from_secs(10), ..RetryPolicy::default() };
        let after = |secs| Outcome::Status { status: 429, retry_after: Some(Duration::from_secs(secs)) };
        assert_eq!(p.next_delay(true, after(2), 1, S), Some(Duration::from_secs(2)));
        assert_eq!(p.next_delay(true, after(3600), 1, S), Some(Duration::from_secs(10)));
    }

    #[test]
    fn retries_are_bounded_by_count_and_deadline() {
        let p = RetryPolicy::default();
        assert!(p.next_delay(true, status(503), p.max_retries, S).is_some());
        assert!(p.next_delay(true, status(503), p.max_retries + 1, S).is_none());
        assert!(p.next_delay(true, status(503), 1, p.total_deadline).is_none());
        assert_eq!(p.backoff(1), p.base_delay);
        assert_eq!(p.backoff(2), p.base_delay * 2);
        assert_eq!(p.backoff(40), p.max_delay);
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
