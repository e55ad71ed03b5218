//! The Azure provider against hostile VM-list paging (issue 13): a nextLink or poll URL on another
//! origin (the bearer token must not go there), nextLinks that loop, empty pages without end,
//! entries repeated across pages, and a set that is Updating while a page is lost. A tiny server
//! per test, so each page's bytes are exactly what the case needs.

use crate::support::static_token::StaticToken;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use scaleguard::completeness;
use scaleguard::config::AzureConfig;
use scaleguard::model::ScaleSetKey;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::providers::{Operation, ProviderError, ScaleSetProvider};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "arm-paging-test-token";
const SUB: &str = "00000000-0000-0000-0000-000000000001";
const SET_PATH: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web";

/// One request as a server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path_and_query: String,
    authorization: Option<String>,
}

/// Answers a VM-list request (its query parameters, how many list requests came before) with a
/// page body built from the server's own URL.
type Pages = dyn Fn(&str, &HashMap<String, String>, usize) -> Value + Send + Sync;

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn list_requests(&self) -> usize {
        self.seen().iter().filter(|s| is_list(&s.path_and_query)).count()
    }
}

fn is_list(path_and_query: &str) -> bool {
    path_and_query.split('?').next().unwrap_or("").to_ascii_lowercase().ends_with("/virtualmachines")
}

#[derive(Clone)]
struct Shared {
    base: String,
    state: &'static str,
    capacity: u32,
    pages: Arc<Pages>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn handle(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let path_and_query = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let listed_before = {
        let mut seen = shared.seen.lock().unwrap();
        let before = seen.iter().filter(|s| is_list(&s.path_and_query)).count();
        seen.push(Seen { path_and_query: path_and_query.clone(), authorization });
        before
    };
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let body = if uri.path().to_ascii_lowercase().ends_with("/virtualmachines") {
        let body = (shared.pages)(&shared.base, &query, listed_before);
        if let Some(location) = body["redirect"].as_str() {
            return (StatusCode::FOUND, [("location", location.to_string())]).into_response();
        }
        body
    } else {
        json!({"name": "vmss-web", "location": "westus", "sku": {"capacity": shared.capacity},
               "properties": {"provisioningState": shared.state, "orchestrationMode": "Uniform"}})
    };
    (StatusCode::OK, [("content-type", "application/json")], body.to_string()).into_response()
}

/// A server whose scale set reports `state` and `capacity` and whose VM list answers `pages`.
async fn serve(state: &'static str, capacity: u32, pages: Arc<Pages>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = Shared { base: format!("http://{addr}"), state, capacity, pages, seen: seen.clone() };
    let app = axum::Router::new().fallback(handle).with_state(shared);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, seen }
}

fn vm(id: u32) -> Value {
    json!({"name": format!("vmss-web_{id}"), "location": "westus", "instanceId": id.to_string(),
           "id": format!("{SET_PATH}/virtualMachines/{id}"),
           "properties": {"provisioningState": "Succeeded", "vmId": format!("00000000-0000-0000-0000-{id:012}"),
                          "osProfile": {"computerName": format!("vmssweb{id:06}")}}})
}

fn page(ids: &[u32], next: Option<String>) -> Value {
    let mut body = json!({"value": ids.iter().map(|id| vm(*id)).collect::<Vec<_>>()});
    if let Some(next) = next {
        body["nextLink"] = json!(next);
    }
    body
}

/// The VM list's URL on `base`, as a server writes it in a nextLink.
fn list_url(base: &str, token: Option<&str>) -> String {
    let mut url = format!("{base}{SET_PATH}/virtualMachines?api-version=2024-07-01&$expand=instanceView");
    if let Some(token) = token {
        url.push_str(&format!("&$skiptoken={token}"));
    }
    url
}

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: SUB.into(),
        resource_group: "rg-web".into(),
        name: "vmss-web".into(),
    }
}

fn provider(server: &Server) -> AzureProvider {
    let config = AzureConfig {
        arm_url: server.url(),
        credential: scaleguard::config::CredentialKind::TokenEnv,
        token_env: Some("UNUSED".into()),
        timeout_secs: 5,
        lro_deadline_secs: 5,
    };
    AzureProvider::with_credential(&config, Arc::new(StaticToken(TOKEN.into())))
        .unwrap()
        .with_poll_interval(Duration::from_millis(10))
}

/// Old code followed looping links forever: give up well before a person would.
async fn listing(server: &Server) -> Result<scaleguard::snapshot::ScaleSetListing, ProviderError> {
    tokio::time::timeout(Duration::from_secs(20), provider(server).listing(&key()))
        .await
        .unwrap_or_else(|_| panic!("still paging after 20 s ({} list requests)", server.list_requests()))
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_not_followed_and_the_token_stays_home() {
    // Another loopback port that answers an empty page, as in the report.
    let foreign = serve("Succeeded", 0, Arc::new(|_, _, _| page(&[], None))).await;
    let foreign_url = foreign.url();
    let home =
        serve("Updating", 3, Arc::new(move |_, _, _| page(&[0], Some(list_url(&foreign_url, Some("1"))))))
            .await;
    let err = listing(&home).await.expect_err("a foreign nextLink is an error");
    assert!(foreign.seen().is_empty(), "a request (token: {:?}) went to the foreign origin", foreign.seen());
    let message = err.to_string();
    assert!(message.contains(&foreign.url()), "the foreign origin is named: {message}");
    assert!(message.contains(&home.url()), "the configured endpoint is named: {message}");
    assert!(!message.contains(TOKEN));
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let foreign = serve("Succeeded", 0, Arc::new(|_, _, _| page(&[], None))).await;
    let foreign_url = foreign.url();
    let home =
        serve("Updating", 3, Arc::new(move |_, _, _| json!({"redirect": list_url(&foreign_url, None)})))
            .await;
    let err = listing(&home).await.expect_err("a redirect is no page");
    assert!(foreign.seen().is_empty(), "the redirect was followed: {:?}", foreign.seen());
    assert!(err.to_string().contains("302"), "{err}");
}

#[tokio::test]
async fn a_relative_next_link_is_followed_on_the_configured_origin() {
    let home = serve(
        "Succeeded",
        2,
        Arc::new(|_, query, _| match query.get("$skiptoken") {
            None => {
                page(&[0], Some(format!("{SET_PATH}/virtualMachines?api-version=2024-07-01&$skiptoken=1")))
            }
            Some(_) => page(&[1], None),
        }),
    )
    .await;
    let listing = listing(&home).await.unwrap();
    assert_eq!(listing.instances.len(), 2);
    assert!(home.seen().iter().all(|s| s.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"))));
}

#[tokio::test]
async fn an_operation_poll_url_on_another_origin_is_not_polled() {
    let foreign = serve("Succeeded", 0, Arc::new(|_, _, _| page(&[], None))).await;
    let home = serve("Succeeded", 0, Arc::new(|_, _, _| page(&[], None))).await;
    let operation = Operation::Pending {
        poll: format!("{}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus/operations/op1?api-version=2024-07-01", foreign.url()),
        retry_after: Some(Duration::from_millis(1)),
    };
    let err = tokio::time::timeout(Duration::from_secs(10), provider(&home).wait(&operation))
        .await
        .expect("the poll ends")
        .expect_err("a foreign poll URL is an error");
    assert!(foreign.seen().is_empty(), "the poll went to the foreign origin: {:?}", foreign.seen());
    assert!(err.to_string().contains(&foreign.url()), "{err}");
}

#[tokio::test]
async fn a_next_link_back_to_page_one_stops_with_one_sentence_naming_the_endpoint() {
    // Written the way a server might: parameters reordered, `$` percent-encoded.
    let home = serve(
        "Succeeded",
        3,
        Arc::new(|base, _, _| {
            let back =
                format!("{base}{SET_PATH}/virtualMachines?%24expand=instanceView&api-version=2024-07-01");
            page(&[0, 1, 2], Some(back))
        }),
    )
    .await;
    let err = listing(&home).await.expect_err("a loop is an error");
    assert!(home.list_requests() <= 2, "{} list requests", home.list_requests());
    let message = err.to_string();
    assert!(message.contains("rg-web/vmss-web") && message.contains("loop"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[tokio::test]
async fn fresh_tokens_that_bring_page_one_again_are_a_loop() {
    let home = serve(
        "Updating",
        3,
        Arc::new(|base, _, before| page(&[0, 1], Some(list_url(base, Some(&format!("t{before}")))))),
    )
    .await;
    let err = listing(&home).await.expect_err("a loop is an error");
    assert!(home.list_requests() <= 2, "{} list requests", home.list_requests());
    assert!(err.to_string().contains("loop"), "{err}");
}

#[tokio::test]
async fn empty_pages_without_end_stop_at_the_bound_the_capacity_implies() {
    let home = serve(
        "Succeeded",
        3,
        Arc::new(|base, _, before| {
            let ids: &[u32] = if before == 0 { &[0, 1, 2] } else { &[] };
            page(ids, Some(list_url(base, Some(&format!("t{before}")))))
        }),
    )
    .await;
    let err = listing(&home).await.expect_err("endless paging is an error");
    let requests = home.list_requests();
    assert!((2..=40).contains(&requests), "{requests} list requests for a capacity-3 set");
    assert!(err.to_string().contains("capacity 3"), "{err}");
}

#[tokio::test]
async fn a_vm_repeated_across_pages_of_a_settled_set_is_an_incomplete_listing() {
    // VM 1 on both pages, VM 2 never: three entries for capacity 3.
    let home = serve(
        "Succeeded",
        3,
        Arc::new(|base, query, _| match query.get("$skiptoken") {
            None => page(&[0, 1], Some(list_url(base, Some("1")))),
            Some(_) => page(&[1], None),
        }),
    )
    .await;
    let err = listing(&home).await.expect_err("repeated entries hide a missing VM");
    assert!(matches!(err, ProviderError::IncompleteListing { .. }), "{err}");
    assert!(err.to_string().contains("instance 1 listed 2 times"), "{err}");
}

#[tokio::test]
async fn an_updating_set_that_lost_a_page_is_listed_but_not_proven_complete() {
    let home = serve("Updating", 3, Arc::new(|_, _, _| page(&[0], None))).await;
    let listing = listing(&home).await.expect("shown: it still drives waits");
    assert_eq!(listing.instances.len(), 1);
    let verdict = completeness::judge(&listing);
    assert!(!verdict.is_proven());
    assert_eq!(
        verdict.to_string(),
        "the scale set is Updating, not settled; 1 distinct VM(s) listed for capacity 3"
    );
}
