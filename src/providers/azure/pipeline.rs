//! The HTTP plumbing under azure_mgmt_compute: our reqwest client (with a timeout, which the SDK's
//! default lacks), our retry policy in place of the SDK's, failure classification, and the ARM
//! rate-limit headers.
//!
//! Why a custom retry policy: the SDK's exponential policy retries every method on 5xx and every
//! connection error for up to a minute, so a POST could run twice and a stopped server would hang
//! the console. Ours is `crate::retry` (the same rules as the Octopus client), bounded in count and
//! time; the SDK's own policy is switched off so there is exactly one retry loop.

use crate::retry::{parse_retry_after, Outcome, RequestKind, RetryPolicy};
use azure_core::error::ErrorKind;
use azure_core::headers::HeaderName;
use azure_core::{Context, Method, Policy, PolicyResult, Request};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most recent `x-ms-ratelimit-remaining-*` headers ARM sent, for the operator to see.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Header name (without the prefix) → value, e.g. `subscription-global-reads` → `3749`.
    pub remaining: Vec<(String, String)>,
}

/// Why a request failed, kept inside the azure_core error so callers can map it precisely
/// (the SDK's paging code would otherwise keep only the status, without the ARM error message).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArmFailure {
    #[error("HTTP {status}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status { status: u16, code: Option<String>, message: Option<String>, retry_after: Option<Duration> },
    #[error("no complete answer within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("{0}")]
    Connect(String),
    #[error("connection lost: {0}")]
    Io(String),
}

#[derive(Debug)]
pub struct ArmRetryPolicy {
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub rate_limits: Arc<Mutex<RateLimits>>,
}

#[async_trait::async_trait]
impl Policy for ArmRetryPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let kind = arm_request_kind(request);
        let started = Instant::now();
        let mut retry = 0;
        loop {
            retry += 1;
            let (outcome, failure) = match next[0].send(ctx, request, &next[1..]).await {
                Ok(response) => {
                    self.note_rate_limits(response.headers());
                    let status: u16 = response.status().into();
                    if (200..300).contains(&status) && kind != RequestKind::Read {
                        // A write's 2xx says it landed; its body is never read (the operation is
                        // in the headers), so a stalled body must not turn it into a failure.
                        return Ok(response);
                    } else if (200..300).contains(&status) {
                        // A read's body is its answer: read it here, inside the timeout's
                        // accounting and the retry loop, so a body that stalls is a timeout like
                        // a missing answer, not the SDK's "error converting `reqwest` request
                        // into a byte stream" later on.
                        let (status_code, headers, body) = response.deconstruct();
                        match body.collect().await {
                            Ok(bytes) => {
                                let body = futures::stream::once(async move { Ok(bytes) });
                                return Ok(azure_core::Response::new(status_code, headers, Box::pin(body)));
                            }
                            Err(err) => classify_transport(&err, self.timeout),
                        }
                    } else {
                        let retry_after = response
                            .headers()
                            .get_optional_str(&azure_core::headers::RETRY_AFTER)
                            .and_then(parse_retry_after);
                        let (_, _, body) = response.deconstruct();
                        let body = body.collect().await.unwrap_or_default();
                        let (code, message) = arm_error(&body);
                        (
                            Outcome::Status { status, retry_after },
                            ArmFailure::Status { status, code, message, retry_after },
                        )
                    }
                }
                Err(err) => classify_transport(&err, self.timeout),
            };
            match self.retry.next_delay(kind, outcome, retry, started.elapsed()) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    let kind = match &failure {
                        ArmFailure::Status { status, code, .. } => ErrorKind::http_response(
                            azure_core::StatusCode::try_from(*status)
                                .unwrap_or(azure_core::StatusCode::InternalServerError),
                            code.clone(),
                        ),
                        _ => ErrorKind::Io,
                    };
                    return Err(azure_core::Error::new(kind, failure));
                }
            }
        }
    }
}

impl ArmRetryPolicy {
    fn note_rate_limits(&self, headers: &azure_core::headers::Headers) {
        let remaining: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(name, value)| {
                name.as_str()
                    .strip_prefix("x-ms-ratelimit-remaining-")
                    .map(|rest| (rest.to_string(), value.as_str().to_string()))
            })
            .collect();
        if !remaining.is_empty() {
            if let Ok(mut limits) = self.rate_limits.lock() {
                limits.remaining = remaining;
            }
        }
    }
}

/// How safe an ARM request is to repeat. A PATCH carrying If-Match is guarded (a repeat after
/// it landed gets 412, never a second change); without it, it is not. The only POST scaleguard
/// sends deletes explicit instance ids, which Azure never reuses, so a repeat deletes nothing
/// more. GET reads; PUT and DELETE name one resource.
fn arm_request_kind(request: &Request) -> RequestKind {
    let method = request.method();
    let has_if_match = request.headers().get_optional_str(&azure_core::headers::IF_MATCH).is_some();
    if *method == Method::Patch {
        return if has_if_match { RequestKind::GuardedWrite } else { RequestKind::UnguardedWrite };
    }
    if *method == Method::Post && request.url().path().to_ascii_lowercase().ends_with("/delete") {
        return RequestKind::GuardedWrite;
    }
    RequestKind::of_method(method.as_ref())
}

/// The transport's error: find reqwest's to tell a timeout and a refused connection apart.
fn classify_transport(err: &azure_core::Error, timeout: Duration) -> (Outcome, ArmFailure) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(reqwest_err) = cause.downcast_ref::<reqwest::Error>() {
            if reqwest_err.is_timeout() {
                return (Outcome::Timeout, ArmFailure::Timeout(timeout));
            }
            if reqwest_err.is_connect() {
                return (Outcome::Connect, ArmFailure::Connect(innermost(reqwest_err)));
            }
            return (Outcome::Io, ArmFailure::Io(innermost(reqwest_err)));
        }
        source = cause.source();
    }
    (Outcome::Io, ArmFailure::Io(err.to_string()))
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    message
}

/// `{"error":{"code","message"}}` or the unwrapped `{"code","message"}`.
pub fn arm_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let inner = value.get("error").unwrap_or(&value);
    let text = |key: &str| inner.get(key).and_then(|v| v.as_str()).map(crate::untrusted::server_text);
    (text("code"), text("message"))
}

/// Our failure inside an azure_core error, if it is there.
pub fn arm_failure(err: &azure_core::Error) -> Option<&ArmFailure> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(failure) = cause.downcast_ref::<ArmFailure>() {
            return Some(failure);
        }
        source = cause.source();
    }
    None
}

/// `Azure-AsyncOperation`, case-insensitively.
pub fn header(headers: &azure_core::headers::Headers, name: &'static str) -> Option<String> {
    headers.get_optional_string(&HeaderName::from_static(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arm_error_message_is_capped_and_kept_on_one_line() {
        let body = serde_json::json!({"error": {"code": "NotFound", "message": format!("line one\nline two {}", "x".repeat(1 << 20))}});
        let (code, message) = arm_error(body.to_string().as_bytes());
        assert_eq!(code.as_deref(), Some("NotFound"));
        let message = message.unwrap();
        assert!(message.len() < 400, "{} bytes", message.len());
        assert!(message.starts_with("line one line two"), "{message}");
    }
}

#[cfg(test)]
mod request_kind_tests {
    use super::*;

    fn request(method: Method, path: &str) -> Request {
        Request::new(url::Url::parse(&format!("https://management.azure.com{path}")).unwrap(), method)
    }

    #[test]
    fn arm_writes_are_guarded_by_if_match_or_explicit_instance_ids() {
        let set =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss";
        assert_eq!(arm_request_kind(&request(Method::Get, set)), RequestKind::Read);
        let mut patch = request(Method::Patch, set);
        assert_eq!(
            arm_request_kind(&patch),
            RequestKind::UnguardedWrite,
            "no If-Match: a repeat may act twice"
        );
        patch.insert_header(azure_core::headers::IF_MATCH, "\"3\"");
        assert_eq!(arm_request_kind(&patch), RequestKind::GuardedWrite);
        let delete = request(Method::Post, &format!("{set}/delete"));
        assert_eq!(arm_request_kind(&delete), RequestKind::GuardedWrite, "instance ids are never reused");
        assert_eq!(
            arm_request_kind(&request(Method::Put, &format!("{set}/virtualMachines/3"))),
            RequestKind::GuardedWrite
        );
        assert_eq!(
            arm_request_kind(&request(Method::Post, &format!("{set}/restart"))),
            RequestKind::UnguardedWrite
        );
    }
}
