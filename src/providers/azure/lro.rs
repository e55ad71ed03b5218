//! When an ARM write is finished: what its answer says, and what each poll says.
//!
//! ARM's asynchronous-operation contract (Azure Resource Manager RPC, "Asynchronous operations"):
//! the status code alone does not tell. VirtualMachineScaleSets_Update answers **200** and is still
//! long-running. An `Azure-AsyncOperation` header (else `Location`) is the status to poll; without
//! either, the resource's own `provisioningState` tells, and a non-final one means "read the
//! resource until it is final".

use crate::providers::{Operation, ProviderError};
use std::time::Duration;

/// The parts of a write's answer that say whether it is finished.
#[derive(Debug, Default)]
pub(super) struct WriteAnswer {
    pub status: u16,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
}

/// Done, pending on a status URL, provisioning on `resource` (the URL to read again), or an error
/// saying why it cannot be followed. A write without a resource to read (POST delete) that is
/// accepted without a status URL is refused rather than taken as done.
pub(super) fn operation(
    what: &str,
    answer: WriteAnswer,
    body: &[u8],
    resource: Option<String>,
) -> Result<Operation, ProviderError> {
    let retry_after = answer.retry_after;
    if let Some(poll) = answer.async_operation.or(answer.location) {
        return Ok(Operation::Pending { poll, retry_after });
    }
    let follow = |why: String| match resource {
        Some(resource) => Ok(Operation::Provisioning { resource, retry_after }),
        None => Err(ProviderError::BadResponse {
            what: what.to_string(),
            detail: format!(
                "{why} and no Azure-AsyncOperation or Location header: cannot tell when it finishes"
            ),
        }),
    };
    match provisioning_state(body).as_deref() {
        Some(state) if state.eq_ignore_ascii_case("succeeded") => Ok(Operation::Done),
        Some(state) if is_failed(state) => Err(ProviderError::OperationFailed {
            what: what.to_string(),
            detail: Some(format!("provisioningState {state}")),
        }),
        Some(state) => follow(format!("answered {} with provisioningState {state}", answer.status)),
        None if answer.status == 202 => follow("answered 202 Accepted".into()),
        None => Ok(Operation::Done),
    }
}

fn provisioning_state(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.pointer("/properties/provisioningState")?.as_str().map(str::to_string)
}

fn is_failed(state: &str) -> bool {
    state.eq_ignore_ascii_case("failed") || state.eq_ignore_ascii_case("canceled")
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum LroStatus {
    Running,
    Succeeded,
    Failed(Option<String>),
    /// The answer cannot be read as a status.
    Unreadable(String),
}

/// Azure-AsyncOperation bodies carry `status`; a Location poll answers 202 while running and 200
/// (often with an empty body) when done.
pub(super) fn operation_status(http_status: u16, body: &[u8]) -> LroStatus {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    match value.get("status").and_then(|s| s.as_str()) {
        Some(status) if status.eq_ignore_ascii_case("succeeded") => LroStatus::Succeeded,
        Some(status) if is_failed(status) => {
            let (code, message) = super::pipeline::arm_error(body);
            let detail = match (code, message) {
                (Some(code), Some(message)) => Some(format!("{status}: {code}: {message}")),
                (_, Some(message)) | (Some(message), _) => Some(format!("{status}: {message}")),
                _ => Some(status.to_string()),
            };
            LroStatus::Failed(detail)
        }
        Some(_) => LroStatus::Running,
        None if http_status == 202 => LroStatus::Running,
        None => LroStatus::Succeeded,
    }
}

/// A resource read while its change settles: its `provisioningState` decides. A resource without
/// one has nothing to wait for; a body that is not JSON is unreadable, never "done".
pub(super) fn resource_status(_http_status: u16, body: &[u8]) -> LroStatus {
    if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        return LroStatus::Unreadable("the resource's body is not JSON".into());
    }
    match provisioning_state(body) {
        Some(state) if state.eq_ignore_ascii_case("succeeded") => LroStatus::Succeeded,
        Some(state) if is_failed(&state) => LroStatus::Failed(Some(format!("provisioningState {state}"))),
        Some(_) => LroStatus::Running,
        None => LroStatus::Succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> WriteAnswer {
        WriteAnswer { status, ..WriteAnswer::default() }
    }

    const RESOURCE: &str = "http://127.0.0.1:1/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachineScaleSets/v?api-version=2024-07-01";

    fn classify(answer: WriteAnswer, body: &str, resource: Option<&str>) -> Result<Operation, ProviderError> {
        operation("PATCH capacity", answer, body.as_bytes(), resource.map(str::to_string))
    }

    #[test]
    fn a_poll_header_makes_any_2xx_pending() {
        let updating = r#"{"properties":{"provisioningState":"Updating"}}"#;
        for status in [200, 201, 202] {
            let with_header = WriteAnswer {
                async_operation: Some("op".into()),
                location: Some("loc".into()),
                ..answer(status)
            };
            let pending = classify(with_header, updating, Some(RESOURCE)).unwrap();
            assert_eq!(pending, Operation::Pending { poll: "op".into(), retry_after: None });
        }
        let location_only = WriteAnswer { location: Some("loc".into()), ..answer(202) };
        let pending = classify(location_only, "", None).unwrap();
        assert_eq!(pending, Operation::Pending { poll: "loc".into(), retry_after: None });
    }

    #[test]
    fn without_a_poll_header_the_body_state_decides() {
        let done =
            classify(answer(200), r#"{"properties":{"provisioningState":"Succeeded"}}"#, Some(RESOURCE));
        assert_eq!(done.unwrap(), Operation::Done);
        let updating =
            classify(answer(200), r#"{"properties":{"provisioningState":"Updating"}}"#, Some(RESOURCE));
        assert_eq!(
            updating.unwrap(),
            Operation::Provisioning { resource: RESOURCE.into(), retry_after: None }
        );
        let failed =
            classify(answer(200), r#"{"properties":{"provisioningState":"Failed"}}"#, Some(RESOURCE));
        assert!(matches!(failed, Err(ProviderError::OperationFailed { .. })), "{failed:?}");
        // A bare 200/204 with no state has nothing left to run.
        assert_eq!(classify(answer(200), "", None).unwrap(), Operation::Done);
        assert_eq!(classify(answer(204), "", None).unwrap(), Operation::Done);
    }

    #[test]
    fn an_unfollowable_answer_is_an_error_not_done() {
        let accepted = classify(answer(202), "", None).unwrap_err();
        assert!(accepted.to_string().contains("202 Accepted"), "{accepted}");
        let updating = classify(answer(200), r#"{"properties":{"provisioningState":"Deleting"}}"#, None);
        assert!(matches!(updating, Err(ProviderError::BadResponse { .. })), "{updating:?}");
        // With a resource to read, a bare 202 is followed there.
        let followed = classify(answer(202), "", Some(RESOURCE)).unwrap();
        assert!(matches!(followed, Operation::Provisioning { .. }), "{followed:?}");
    }

    #[test]
    fn operation_status_bodies_are_read() {
        assert_eq!(operation_status(200, br#"{"status":"InProgress"}"#), LroStatus::Running);
        assert_eq!(operation_status(200, br#"{"status":"Succeeded"}"#), LroStatus::Succeeded);
        assert_eq!(operation_status(202, b""), LroStatus::Running);
        assert_eq!(operation_status(200, b""), LroStatus::Succeeded);
        let failed =
            operation_status(200, br#"{"status":"Failed","error":{"code":"Quota","message":"no cores"}}"#);
        assert_eq!(failed, LroStatus::Failed(Some("Failed: Quota: no cores".into())));
    }

    #[test]
    fn resource_bodies_are_read_by_provisioning_state() {
        let state = |s: &str| format!(r#"{{"properties":{{"provisioningState":"{s}"}}}}"#);
        assert_eq!(resource_status(200, state("Updating").as_bytes()), LroStatus::Running);
        assert_eq!(resource_status(200, state("succeeded").as_bytes()), LroStatus::Succeeded);
        assert!(matches!(resource_status(200, state("Canceled").as_bytes()), LroStatus::Failed(_)));
        assert_eq!(resource_status(200, br#"{"properties":{}}"#), LroStatus::Succeeded);
        assert!(matches!(resource_status(200, b"{\"prop"), LroStatus::Unreadable(_)));
    }
}
