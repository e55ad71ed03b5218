//! When the Azure provider calls a write finished: ARM's asynchronous-operation contract, against a
//! small ARM on 127.0.0.1 that answers the capacity PATCH the ways the real service may.
//!
//! VirtualMachineScaleSets_Update allows only 200 and is long-running: a 200 is not "done". With an
//! Azure-AsyncOperation header the operation says when it is; without one, the scale set's own
//! `provisioningState` does (Azure Resource Manager RPC, "Asynchronous operations").

use crate::support::static_token::StaticToken;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use scaleguard::config::AzureConfig;
use scaleguard::model::ScaleSetKey;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::providers::{ProviderError, ScaleSetProvider};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "lro-test-token";
const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
const SET_PATH: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web";

/// How the PATCH is answered.
#[derive(Debug, Clone, Copy)]
enum PatchAnswer {
    /// 200, body `Updating`, no poll header: only the resource tells when it is done.
    BodyOnly,
    /// 200, body `Updating`, Azure-AsyncOperation: the operation tells.
    AsyncOperation,
}

#[derive(Debug)]
struct ArmLro {
    answer: PatchAnswer,
    capacity: u32,
    /// Reads of the set after the PATCH that still say `Updating` (then `final_state`).
    updating_reads: u32,
    final_state: &'static str,
    patched: bool,
    reads_after_patch: u32,
    /// Operation polls answered InProgress before Succeeded.
    in_progress_polls: u32,
    operation_polls: u32,
}

impl ArmLro {
    fn new(answer: PatchAnswer, updating_reads: u32) -> Self {
        Self {
            answer,
            capacity: 3,
            updating_reads,
            final_state: "Succeeded",
            patched: false,
            reads_after_patch: 0,
            in_progress_polls: 2,
            operation_polls: 0,
        }
    }
}

type State = (Arc<Mutex<ArmLro>>, SocketAddr);

fn set_body(capacity: u32, state: &str) -> serde_json::Value {
    json!({"name": "vmss-web", "id": SET_PATH, "location": "westus", "etag": "\"7\"",
           "sku": {"name": "Standard_D2s_v3", "tier": "Standard", "capacity": capacity},
           "properties": {"provisioningState": state, "orchestrationMode": "Uniform", "overprovision": false}})
}

async fn handle(
    axum::extract::State((arm, addr)): axum::extract::State<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_reply = |status: StatusCode, body: serde_json::Value| {
        (status, [("content-type", "application/json")], body.to_string()).into_response()
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        return json_reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "InvalidAuthenticationToken"}}),
        );
    }
    let mut arm = arm.lock().unwrap();
    let path = uri.path();
    if path.contains("/operations/") {
        arm.operation_polls += 1;
        let status = if arm.operation_polls > arm.in_progress_polls { "Succeeded" } else { "InProgress" };
        return json_reply(StatusCode::OK, json!({"status": status, "name": "op1"}));
    }
    if !path.eq_ignore_ascii_case(SET_PATH) {
        return json_reply(StatusCode::NOT_FOUND, json!({"error": {"code": "ResourceNotFound"}}));
    }
    match method {
        Method::GET => {
            let state = if !arm.patched {
                "Succeeded"
            } else {
                arm.reads_after_patch += 1;
                if arm.reads_after_patch <= arm.updating_reads {
                    "Updating"
                } else {
                    arm.final_state
                }
            };
            json_reply(StatusCode::OK, set_body(arm.capacity, state))
        }
        Method::PATCH => {
            let update: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            arm.capacity = update["sku"]["capacity"].as_u64().unwrap_or(0) as u32;
            arm.patched = true;
            let mut response = json_reply(StatusCode::OK, set_body(arm.capacity, "Updating"));
            if let PatchAnswer::AsyncOperation = arm.answer {
                let url = format!("http://{addr}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus/operations/op1?api-version=2024-07-01");
                response.headers_mut().insert("azure-asyncoperation", url.parse().unwrap());
            }
            response
        }
        _ => json_reply(StatusCode::METHOD_NOT_ALLOWED, json!({"error": {"code": "MethodNotAllowed"}})),
    }
}

async fn start(arm: ArmLro) -> (Arc<Mutex<ArmLro>>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let arm = Arc::new(Mutex::new(arm));
    let router = axum::Router::new().fallback(handle).with_state((arm.clone(), addr));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (arm, addr)
}

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: SUB.into(),
        resource_group: "rg-web".into(),
        name: "vmss-web".into(),
    }
}

fn provider(addr: SocketAddr, lro_deadline_secs: u64) -> AzureProvider {
    let config = AzureConfig {
        arm_url: format!("http://{addr}"),
        timeout_secs: 5,
        lro_deadline_secs,
        ..AzureConfig::default()
    };
    AzureProvider::with_credential(&config, Arc::new(StaticToken(TOKEN.into())))
        .unwrap()
        .with_poll_interval(Duration::from_millis(10))
}

#[tokio::test]
async fn a_200_updating_without_a_poll_header_waits_for_the_scale_set_to_settle() {
    let (arm, addr) = start(ArmLro::new(PatchAnswer::BodyOnly, 2)).await;
    let p = provider(addr, 10);
    let operation = p.set_capacity(&key(), 5, "\"7\"").await.unwrap();
    p.wait(&operation).await.unwrap();
    let arm = arm.lock().unwrap();
    assert_eq!(
        arm.reads_after_patch, 3,
        "the wait read the scale set until it left Updating (twice Updating, then Succeeded); {operation:?}"
    );
}

#[tokio::test]
async fn a_scale_set_that_stays_updating_is_not_done_at_the_lro_deadline() {
    let (_arm, addr) = start(ArmLro::new(PatchAnswer::BodyOnly, u32::MAX)).await;
    let p = provider(addr, 1);
    let operation = p.set_capacity(&key(), 5, "\"7\"").await.unwrap();
    let err = p.wait(&operation).await.expect_err("a set still Updating is not done");
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn a_scale_set_that_ends_failed_fails_the_wait() {
    let mut arm = ArmLro::new(PatchAnswer::BodyOnly, 1);
    arm.final_state = "Failed";
    let (_arm, addr) = start(arm).await;
    let p = provider(addr, 10);
    let operation = p.set_capacity(&key(), 5, "\"7\"").await.unwrap();
    let err = p.wait(&operation).await.expect_err("a Failed set is a failed change");
    assert!(matches!(err, ProviderError::OperationFailed { .. }), "{err}");
    assert!(err.to_string().contains("Failed"), "{err}");
}

#[tokio::test]
async fn a_200_with_azure_async_operation_is_pending_until_the_operation_says_succeeded() {
    let (arm, addr) = start(ArmLro::new(PatchAnswer::AsyncOperation, 0)).await;
    let p = provider(addr, 10);
    let operation = p.set_capacity(&key(), 5, "\"7\"").await.unwrap();
    p.wait(&operation).await.unwrap();
    let arm = arm.lock().unwrap();
    assert_eq!(arm.operation_polls, 3, "InProgress twice, then Succeeded; {operation:?}");
    assert_eq!(arm.reads_after_patch, 0, "the operation, not the resource, is polled");
}
