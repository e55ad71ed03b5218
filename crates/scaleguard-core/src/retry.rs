//! When to retry an HTTP request, shared by the Octopus client and the Azure provider (pure).
//!
//! A request is sent again only when repeating it cannot change the world twice:
//! - a **read** (GET) is retried after any transient failure (408, 429, 500, 502, 503, 504, a
//!   timeout, a dropped connection);
//! - a **guarded write**, whose repeat is harmless by construction (an ARM PATCH carrying
//!   If-Match: if the first one landed the ETag moved and the repeat gets 412; a PUT of a whole
//!   resource; a DELETE or a cancel of one id; an ARM delete of explicit instance ids, which are
//!   never reused), is retried on 429 and 503;
//! - an **unguarded write** (a POST that creates something, such as an Octopus deployment) is
//!   retried only on 429. RFC 6585 defines 429 as a refusal by rate limiting, answered before the
//!   request is processed (throttling proxies and ARM reject throttled requests unprocessed); a
//!   503, 500, timeout or lost connection may follow a change that was made, so the caller must
//!   read back to find out instead (the executor looks for its intent id in the deployment's
//!   comments).
//!
//! A refused connection is never retried, whatever the method (nothing was sent, but a stopped
//! server should fail fast). Retries are bounded both by count and by a total deadline;
//! Retry-After is honoured but capped.

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

/// How safe it is to send a request a second time (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// GET: no change at all.
    Read,
    /// A write whose repeat cannot act twice (If-Match, whole-resource PUT, DELETE of one id).
    GuardedWrite,
    /// A write that creates something each time it lands (POST a deployment).
    UnguardedWrite,
}

impl RequestKind {
    /// The kind of a request by its method alone: GET reads, POST creates, everything else
    /// (PUT, PATCH, DELETE) names one resource and is guarded. Callers that know better (an ARM
    /// POST of explicit instance ids, an Octopus POST that cancels one task) say so.
    pub fn of_method(method: &str) -> Self {
        match method.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" => Self::Read,
            "POST" => Self::UnguardedWrite,
            _ => Self::GuardedWrite,
        }
    }
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

    /// The delay before retry number `retry` (1-based), or None to give up. `elapsed` is the
    /// time since the first attempt started.
    pub fn next_delay(
        &self,
        kind: RequestKind,
        outcome: Outcome,
        retry: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        let read = kind == RequestKind::Read;
        let (retryable, retry_after) = match outcome {
            // Refused by rate limiting before it was processed: safe for any method.
            Outcome::Status { status: 429, retry_after } => (true, retry_after),
            // "Unavailable" is usually unprocessed, but a server may act and then answer 503.
            Outcome::Status { status: 503, retry_after } => {
                (kind != RequestKind::UnguardedWrite, retry_after)
            }
            Outcome::Status { status: 408 | 500 | 502 | 504, .. } => (read, None),
            Outcome::Status { .. } => (false, None),
            Outcome::Timeout | Outcome::Io => (read, None),
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
    fn an_unguarded_post_is_retried_only_after_a_throttle() {
        let p = RetryPolicy::default();
        let post = RequestKind::UnguardedWrite;
        assert!(p.next_delay(post, status(429), 1, S).is_some());
        // Issue 13: a server that created the deployment and then answered 503.
        assert!(p.next_delay(post, status(503), 1, S).is_none());
        for ambiguous in [status(500), status(502), status(504), Outcome::Timeout, Outcome::Io] {
            assert!(p.next_delay(post, ambiguous, 1, S).is_none(), "{ambiguous:?}");
        }
    }

    #[test]
    fn a_guarded_write_is_retried_on_429_and_503_and_a_read_on_any_transient_failure() {
        let p = RetryPolicy::default();
        let guarded = RequestKind::GuardedWrite;
        assert!(p.next_delay(guarded, status(429), 1, S).is_some());
        assert!(p.next_delay(guarded, status(503), 1, S).is_some());
        assert!(p.next_delay(guarded, status(500), 1, S).is_none());
        assert!(p.next_delay(guarded, Outcome::Timeout, 1, S).is_none());
        let read = RequestKind::Read;
        for transient in [status(408), status(429), status(500), status(503), Outcome::Timeout, Outcome::Io] {
            assert!(p.next_delay(read, transient, 1, S).is_some(), "{transient:?}");
        }
    }

    #[test]
    fn methods_map_to_kinds() {
        assert_eq!(RequestKind::of_method("GET"), RequestKind::Read);
        assert_eq!(RequestKind::of_method("post"), RequestKind::UnguardedWrite);
        for guarded in ["PUT", "PATCH", "DELETE"] {
            assert_eq!(RequestKind::of_method(guarded), RequestKind::GuardedWrite);
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy { retry_after_cap: Duration::from_secs(10), ..RetryPolicy::default() };
        let after = |secs| Outcome::Status { status: 429, retry_after: Some(Duration::from_secs(secs)) };
        assert_eq!(p.next_delay(RequestKind::Read, after(2), 1, S), Some(Duration::from_secs(2)));
        assert_eq!(p.next_delay(RequestKind::Read, after(3600), 1, S), Some(Duration::from_secs(10)));
    }

    #[test]
    fn retries_are_bounded_by_count_and_deadline() {
        let p = RetryPolicy::default();
        assert!(p.next_delay(RequestKind::Read, status(503), p.max_retries, S).is_some());
        assert!(p.next_delay(RequestKind::Read, status(503), p.max_retries + 1, S).is_none());
        assert!(p.next_delay(RequestKind::Read, status(503), 1, p.total_deadline).is_none());
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
