//! One AWS call with our retry policy (the SDK's own retries are off, so there is exactly one
//! loop, as on Azure) and its failure in one provider-neutral sentence.
//!
//! The Query protocol answers a throttled request with HTTP 400 and the code `Throttling`
//! ("Common Errors", Amazon EC2 Auto Scaling API Reference): it is refused before it is processed,
//! so it is retried like a 429, for reads and writes alike.

use crate::providers::ProviderError;
use crate::retry::{Outcome, RequestKind, RetryPolicy};
use aws_sdk_autoscaling::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::time::{Duration, Instant};

/// A failed call: what it means for us, and what the retry decision needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: ProviderError,
    pub outcome: Outcome,
}

/// Error codes the Query protocol uses for throttling.
const THROTTLED: &[&str] =
    &["Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"];
/// The credentials were refused as expired: get new ones (an SSO login, a new session).
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];
/// The credentials were not recognised or the signature does not match them.
const UNRECOGNISED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "MissingAuthenticationToken",
];
/// The group is changing under another request: what was read is no longer what is there.
const CONTENTION: &[&str] = &["ResourceContention", "ScalingActivityInProgress"];

/// A service's error answer (code, message, HTTP status) as one `ProviderError`.
pub(crate) fn service_failure(what: &str, status: u16, code: Option<&str>, message: Option<&str>) -> Failure {
    let code_text = code.unwrap_or("");
    let detail = match (code, message) {
        (Some(code), Some(message)) => Some(format!("{code}: {}", crate::untrusted::server_text(message))),
        (Some(code), None) => Some(code.to_string()),
        (None, Some(message)) => Some(crate::untrusted::server_text(message)),
        (None, None) => None,
    };
    let what = what.to_string();
    let is = |list: &[&str]| list.iter().any(|c| c.eq_ignore_ascii_case(code_text));
    let status_outcome = Outcome::Status { status, retry_after: None };
    if is(THROTTLED) {
        return Failure {
            error: ProviderError::Throttled { what, retry_after: None, detail, http: None },
            outcome: Outcome::Status { status: 429, retry_after: None },
        };
    }
    let error = if is(EXPIRED) {
        ProviderError::Credential {
            what,
            detail: format!(
                "the AWS credentials have expired ({}); renew them (a new session or SSO login) and try again",
                detail.unwrap_or_default()
            ),
        }
    } else if is(UNRECOGNISED) {
        ProviderError::Unauthorized { what, detail }
    } else if is(CONTENTION) {
        ProviderError::PreconditionFailed { what, detail, http: None }
    } else if code_text.eq_ignore_ascii_case("AccessDenied")
        || code_text.eq_ignore_ascii_case("AccessDeniedException")
    {
        ProviderError::Forbidden { what, detail }
    } else if status >= 500 {
        ProviderError::Server { what, status, detail }
    } else {
        ProviderError::Rejected { what, status, detail }
    };
    Failure { error, outcome: status_outcome }
}

/// An SDK error as a `Failure`. Nothing in it carries a credential: the SDK's messages name the
/// provider and the request, and every output is scrubbed anyway.
pub(crate) fn sdk_failure<E>(what: &str, err: &SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let text = || crate::untrusted::server_text(&DisplayErrorContext(err).to_string());
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            service_failure(what, status, context.err().code(), context.err().message())
        }
        SdkError::TimeoutError(_) => Failure {
            error: ProviderError::Timeout {
                what: what.to_string(),
                detail: format!("no complete answer in time ({})", text()),
            },
            outcome: Outcome::Timeout,
        },
        SdkError::DispatchFailure(dispatch) => {
            let detail = text();
            if detail.to_ascii_lowercase().contains("credential") {
                return Failure {
                    error: ProviderError::Credential { what: what.to_string(), detail },
                    outcome: Outcome::Connect,
                };
            }
            let outcome = if dispatch.is_timeout() {
                Outcome::Timeout
            } else if dispatch.is_io() && !detail.to_ascii_lowercase().contains("refused") {
                Outcome::Io
            } else {
                Outcome::Connect
            };
            let error = match outcome {
                Outcome::Timeout => ProviderError::Timeout { what: what.to_string(), detail },
                _ => ProviderError::Connect { what: what.to_string(), detail },
            };
            Failure { error, outcome }
        }
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            Failure {
                error: ProviderError::BadResponse { what: what.to_string(), detail: text() },
                outcome: Outcome::Status { status, retry_after: None },
            }
        }
        _ => {
            // Construction failures: no request was sent. Identity (credential) resolution fails here.
            let detail = text();
            let error = if detail.to_ascii_lowercase().contains("credential") {
                ProviderError::Credential { what: what.to_string(), detail }
            } else {
                ProviderError::BadResponse { what: what.to_string(), detail }
            };
            Failure { error, outcome: Outcome::Connect }
        }
    }
}

/// Run `attempt` until it succeeds or the retry policy gives up; the last failure's error.
pub(crate) async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    kind: RequestKind,
    mut attempt: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = Instant::now();
    let mut retry = 0;
    loop {
        retry += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => match policy.next_delay(kind, failure.outcome, retry, started.elapsed()) {
                Some(delay) => {
                    tracing::debug!(error = %failure.error, ?delay, "AWS call retried");
                    tokio::time::sleep(delay.min(Duration::from_secs(30))).await;
                }
                None => return Err(failure.error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_a_refusal_before_processing() {
        let failure =
            service_failure("DescribeAutoScalingGroups web", 400, Some("Throttling"), Some("Rate exceeded"));
        assert!(matches!(failure.error, ProviderError::Throttled { .. }), "{:?}", failure.error);
        let text = failure.error.to_string();
        assert!(!text.contains("429") && text.contains("Throttling: Rate exceeded"), "AWS wording: {text}");
        assert_eq!(failure.outcome, Outcome::Status { status: 429, retry_after: None });
        let policy = RetryPolicy::default();
        assert!(policy.next_delay(RequestKind::UnguardedWrite, failure.outcome, 1, Duration::ZERO).is_some());
    }

    #[test]
    fn expired_credentials_contention_and_validation_are_told_apart() {
        let expired = service_failure(
            "x",
            403,
            Some("ExpiredToken"),
            Some("The security token included in the request is expired"),
        );
        assert!(matches!(expired.error, ProviderError::Credential { .. }), "{}", expired.error);
        assert!(expired.error.to_string().contains("expired"), "{}", expired.error);
        let contention = service_failure("x", 400, Some("ScalingActivityInProgress"), Some("busy"));
        assert!(matches!(contention.error, ProviderError::PreconditionFailed { .. }));
        let text = contention.error.to_string();
        assert!(!text.contains("412") && text.contains("ScalingActivityInProgress"), "AWS wording: {text}");
        let azure = ProviderError::from_status("PUT scale set rg/vmss".into(), 412, None, None).to_string();
        assert!(azure.contains("(412 Precondition Failed)"), "Azure keeps its status: {azure}");
        let azure = ProviderError::from_status("GET scale set rg/vmss".into(), 429, None, None).to_string();
        assert!(azure.contains("throttled (429)"), "{azure}");
        let invalid =
            service_failure("x", 400, Some("ValidationError"), Some("No active Lifecycle Action found"));
        assert!(matches!(invalid.error, ProviderError::Rejected { status: 400, .. }));
        assert!(invalid.error.to_string().contains("No active Lifecycle Action found"));
        let policy = RetryPolicy::default();
        assert!(policy.next_delay(RequestKind::Read, invalid.outcome, 1, Duration::ZERO).is_none());
    }
}
