//! The Octopus client over HTTP on 127.0.0.1 against the fake in tests/support/fake.rs.

use crate::support::fake::{dead_url, Fake, Fault, API_KEY, READ_ONLY_KEY};
use reqwest::Method;
use scaleguard::model::TaskState;
use scaleguard::octopus::{DeploymentRequest, NodeChange, OctopusClient, OctopusError, Resolved};
use scaleguard::secret::Secret;
use std::time::{Duration, Instant};

fn client(fake: &Fake, key: &str) -> OctopusClient {
    OctopusClient::new(&fake.profile().octopus, Secret::new(key)).unwrap()
}

fn machine_requests(fake: &Fake) -> usize {
    fake.requests().iter().filter(|(_, uri)| uri.contains("/machines")).count()
}

#[tokio::test]
async fn reads_every_page_and_keeps_only_targets_with_all_roles() {
    let fake = Fake::start(10).await;
    let c = client(&fake, API_KEY);
    let roles = vec!["vmss-web".to_string(), "web-server".to_string()];
    let targets = c.targets("Spaces-1", "Environments-1", &roles).await.unwrap();
    // 10 VMs' targets + the orphan; not the one-role target (the server's filter is any-of), not other-env.
    assert_eq!(targets.len(), 11);
    assert!(targets.iter().all(|t| t.has_all_roles(&roles)));
    assert!(!targets.iter().any(|t| t.name == "partial-roles" || t.name == "other-env"));
    // The server returns 3 per page whatever `take` says: 12 candidates need 4 pages.
    assert_eq!(machine_requests(&fake), 4);
}

#[tokio::test]
async fn resolves_names_and_ids_under_a_virtual_directory() {
    let fake = Fake::start(1).await;
    let c = client(&fake, API_KEY);
    assert_eq!(c.server_version().await.unwrap(), "2024.3.12345");
    assert_eq!(c.resolve_space("default").await.unwrap().id, "Spaces-1");
    assert_eq!(c.resolve_environment("Spaces-1", "Production").await.unwrap().id, "Environments-1");
    assert_eq!(c.resolve_project("Spaces-1", "todo-web").await.unwrap().name, "Todo Web");
    let err = c.resolve_environment("Spaces-1", "Staging").await.unwrap_err();
    assert!(matches!(err, OctopusError::UnknownName { what: "environment", .. }), "{err}");
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_never_echoed() {
    let fake = Fake::start(1).await;
    let err = client(&fake, "API-WRONGKEY123456").nodes().await.unwrap_err();
    assert!(matches!(err, OctopusError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("GET /api/octopusservernodes/summary") && text.contains("401"), "{text}");
    assert!(text.contains("You must be logged in"), "the server's ErrorMessage is kept: {text}");
    assert!(!text.contains("WRONGKEY") && !format!("{err:?}").contains("WRONGKEY"));
}

#[tokio::test]
async fn read_only_key_is_forbidden_to_delete() {
    let fake = Fake::start(1).await;
    let err = client(&fake, READ_ONLY_KEY).delete_target("Spaces-1", "Machines-1").await.unwrap_err();
    assert!(matches!(err, OctopusError::Forbidden { .. }), "{err}");
    assert!(err.to_string().contains("DELETE /api/Spaces-1/machines/Machines-1"), "{err}");
}

#[tokio::test]
async fn deleting_a_missing_target_is_not_found_and_a_present_one_goes() {
    let fake = Fake::start(2).await;
    let c = client(&fake, API_KEY);
    let err = c.delete_target("Spaces-1", "Machines-999").await.unwrap_err();
    assert!(matches!(err, OctopusError::NotFound { .. }), "{err}");
    c.delete_target("Spaces-1", "Machines-1").await.unwrap();
    let left = c.targets("Spaces-1", "Environments-1", &["vmss-web".into()]).await.unwrap();
    assert!(!left.iter().any(|t| t.id == "Machines-1"));
}

#[tokio::test]
async fn throttling_is_retried_after_the_servers_retry_after() {
    let fake = Fake::start(1).await;
    fake.fault(
        Fault::new("/octopusservernodes/summary", 429, r#"{"ErrorMessage":"slow down"}"#).retry_after(1),
    );
    let started = Instant::now();
    let nodes = client(&fake, API_KEY).nodes().await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn persistent_throttling_ends_as_throttled() {
    let fake = Fake::start(1).await;
    fake.fault(Fault::new("/octopusservernodes/summary", 429, "{}").retry_after(0).times(100));
    let err = client(&fake, API_KEY).nodes().await.unwrap_err();
    assert!(matches!(err, OctopusError::Throttled { .. }), "{err}");
    assert_eq!(fake.request_count(), 4, "first attempt + 3 bounded retries");
}

#[tokio::test]
async fn server_errors_retry_reads_but_never_a_processed_post() {
    let fake = Fake::start(1).await;
    let c = client(&fake, API_KEY);
    fake.fault(Fault::new("/octopusservernodes/summary", 500, "{}"));
    assert_eq!(c.nodes().await.unwrap().len(), 2, "a GET is retried after a 500");

    fake.reset_requests();
    fake.fault(Fault::new("/deployments", 500, r#"{"ErrorMessage":"boom"}"#).method(Method::POST));
    let request = DeploymentRequest {
        release_id: "Releases-2".into(),
        environment_id: "Environments-1".into(),
        specific_machine_ids: vec!["Machines-1".into()],
        comments: "scaleguard".into(),
        use_guided_failure: true,
        tenant_id: None,
    };
    let err = c.create_deployment("Spaces-1", &request).await.unwrap_err();
    assert!(matches!(err, OctopusError::Server { status: 500, .. }), "{err}");
    assert_eq!(fake.request_count(), 1, "a POST that may have been processed is not repeated");

    // A server may create the deployment and still answer 503 (issue 13): not repeated either.
    fake.reset_requests();
    fake.fault(Fault::new("/deployments", 503, "{}").method(Method::POST));
    let err = c.create_deployment("Spaces-1", &request).await.unwrap_err();
    assert!(matches!(err, OctopusError::Server { status: 503, .. }), "{err}");
    assert!(err.may_have_acted());
    assert_eq!(fake.request_count(), 1, "a 503 to a POST is ambiguous: not repeated");

    // 429 is a refusal by rate limiting, answered before the request is processed.
    fake.reset_requests();
    fake.fault(Fault::new("/deployments", 429, "{}").method(Method::POST).retry_after(0));
    let created = c.create_deployment("Spaces-1", &request).await.unwrap();
    assert_eq!(created.task_id.as_deref(), Some("ServerTasks-9"));
    assert_eq!(created.specific_machine_ids, vec!["Machines-1"]);
    assert_eq!(fake.request_count(), 2, "throttled, then retried once");
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    let fake = Fake::start(1).await;
    fake.fault(Fault::new("/octopusservernodes/summary", 200, "{\"Nodes\": [ {\"Id\": "));
    let err = client(&fake, API_KEY).nodes().await.unwrap_err();
    assert!(matches!(err, OctopusError::BadResponse { .. }), "{err}");
}

#[tokio::test]
async fn a_truncated_page_is_an_error_not_a_shorter_list() {
    let fake = Fake::start(10).await;
    let c = client(&fake, API_KEY);
    // Second page cut off mid-body.
    fake.fault(Fault::new("/machines", 200, r#"{"Items":[{"Id":"Machines-4","Na"#).skip(1));
    let err = c.targets("Spaces-1", "Environments-1", &["vmss-web".into()]).await.unwrap_err();
    assert!(matches!(err, OctopusError::BadResponse { .. }), "{err}");
    assert!(err.to_string().contains("skip=3"), "names the page: {err}");

    // A well-formed but empty page before TotalResults is reached.
    fake.fault(Fault::new("/machines", 200, r#"{"Items":[],"TotalResults":12,"Links":{}}"#).skip(1));
    let err = c.targets("Spaces-1", "Environments-1", &["vmss-web".into()]).await.unwrap_err();
    assert!(err.to_string().contains("incomplete"), "{err}");
}

#[tokio::test]
async fn a_stopped_server_fails_fast_with_a_connect_error() {
    let mut config = Fake::start(1).await.profile().octopus;
    config.url = dead_url();
    let c = OctopusClient::new(&config, Secret::new(API_KEY)).unwrap();
    let started = Instant::now();
    let err = c.server_version().await.unwrap_err();
    assert!(matches!(err, OctopusError::Connect { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn node_drain_and_cap_round_trip_the_whole_resource() {
    let fake = Fake::start(1).await;
    let c = client(&fake, API_KEY);
    c.update_node("OctopusServerNodes-a", &NodeChange { drain: Some(true), max_concurrent_tasks: Some(0) })
        .await
        .unwrap();
    let node = fake.world.lock().unwrap().nodes[0].clone();
    assert_eq!(node["IsInMaintenanceMode"], true);
    assert_eq!(node["MaxConcurrentTasks"], 0);
    assert_eq!(node["PutHadLinks"], true, "fields we do not know are PUT back unchanged");
    let nodes = c.nodes().await.unwrap();
    assert!(nodes[0].drain && nodes[0].max_concurrent_tasks == 0);
    assert!(nodes[1].is_offline && nodes[1].last_seen.is_none());
    let err = c.update_node("OctopusServerNodes-zz", &NodeChange::default()).await.unwrap_err();
    assert!(matches!(err, OctopusError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn latest_release_is_the_last_successful_deployments() {
    let fake = Fake::start(1).await;
    let c = client(&fake, API_KEY);
    let project = Resolved { id: "Projects-1".into(), name: "Todo Web".into() };
    let state = c.project_state("Spaces-1", &project, "Environments-1").await.unwrap();
    let release = state.latest_release.unwrap();
    assert_eq!((release.id.as_str(), release.version.as_str()), ("Releases-2", "1.4.2"));
    let deployments: Vec<_> = state.deployments.iter().map(|d| (d.id.as_str(), d.task_state)).collect();
    assert_eq!(
        deployments,
        vec![
            ("Deployments-3", Some(TaskState::Executing)),
            ("Deployments-2", Some(TaskState::Success)),
            ("Deployments-0", Some(TaskState::Success)),
        ],
        "every deployment of the release to the environment, also before its last success; none elsewhere"
    );
    assert_eq!(
        state.deployments[1].deployed_to_machine_ids,
        Some(vec!["Machines-1".to_string(), "Machines-2".to_string()])
    );
}

#[tokio::test]
async fn tasks_are_filtered_by_state_and_node_and_can_be_cancelled() {
    let fake = Fake::start(1).await;
    let c = client(&fake, API_KEY);
    let tasks =
        c.tasks(Some("OctopusServerNodes-a"), &[TaskState::Executing, TaskState::Cancelling]).await.unwrap();
    assert_eq!(tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), vec!["ServerTasks-3"]);
    assert_eq!(tasks[0].deployment_id.as_deref(), Some("Deployments-3"));
    c.cancel_task("ServerTasks-3").await.unwrap();
    assert!(fake
        .requests()
        .iter()
        .any(|(m, u)| m == "POST" && u.ends_with("/api/tasks/ServerTasks-3/cancel")));
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_bounded_retries() {
    let fake = Fake::start(1).await;
    let mut config = fake.profile().octopus;
    config.timeout_secs = 1;
    fake.fault(Fault::new("/octopusservernodes/summary", 200, "").delay(Duration::from_secs(3)).times(10));
    let c = OctopusClient::new(&config, Secret::new(API_KEY)).unwrap();
    let started = Instant::now();
    let err = c.nodes().await.unwrap_err();
    assert!(matches!(err, OctopusError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("no complete answer within 1s"), "{err}");
    // One retry fits the 2 x timeout deadline; no more.
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
}

/// Issue 13 review, break 7: ids go into request paths only when they are Octopus ids
/// (`Machines-12`; a node's `OctopusServerNodes-<host>`). Anything else is refused before a
/// request is made, naming the id; the old client sent `DELETE machines/Machines-99/../Machines-1`
/// and the URL parser made it `machines/Machines-1`.
#[tokio::test]
async fn ids_that_are_not_octopus_ids_never_reach_a_request_path() {
    let fake = Fake::start(2).await;
    let c = client(&fake, API_KEY);
    fake.reset_requests();
    let errors = [
        c.delete_target("Spaces-1", "Machines-99/../Machines-1").await.map(drop).unwrap_err(),
        c.target_registered("Spaces-1", "Machines-1%2F..%2FMachines-2").await.map(drop).unwrap_err(),
        c.delete_target("Spaces-1/../Spaces-2", "Machines-1").await.map(drop).unwrap_err(),
        c.cancel_task("ServerTasks-1/../../octopusservernodes/OctopusServerNodes-a").await.unwrap_err(),
        c.task("ServerTasks-1?skip=1").await.map(drop).unwrap_err(),
        c.delete_node("OctopusServerNodes-a/../OctopusServerNodes-b").await.unwrap_err(),
        c.update_node("OctopusServerNodes-a#x", &NodeChange { drain: Some(true), ..Default::default() })
            .await
            .unwrap_err(),
    ];
    assert_eq!(fake.requests(), vec![], "no request carries an id that is not one");
    for err in errors {
        let message = err.to_string();
        assert!(message.contains("not an Octopus id"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    // Real ids still work, node ids with their host name too.
    c.delete_target("Spaces-1", "Machines-1").await.unwrap();
    c.update_node("OctopusServerNodes-a", &NodeChange { drain: Some(true), ..Default::default() })
        .await
        .unwrap();
}

/// Issue 13 review, minor: a compressed answer nobody asked for read as "not the expected JSON".
#[tokio::test]
async fn a_compressed_answer_says_it_is_compressed() {
    let fake = Fake::start(1).await;
    fake.fault(
        Fault::new("/api/spaces", 200, "\u{1f}\u{8b}\u{8}\u{0}garbage").header("content-encoding", "gzip"),
    );
    let err = client(&fake, API_KEY).resolve_space("Default").await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("gzip") && message.contains("Content-Encoding"), "{message}");
    assert!(message.contains("GET /api/spaces"), "{message}");
}

/// Issue 13 review, minor: an HTML page (a proxy's sign-in page) answering for the API is named as
/// one, whether it says text/html or claims to be JSON.
#[tokio::test]
async fn an_html_page_says_it_is_html_whatever_its_content_type() {
    for content_type in ["text/html; charset=utf-8", "application/json"] {
        let fake = Fake::start(1).await;
        let page = "\n  <!DOCTYPE html><html><body>Sign in</body></html>";
        fake.fault(Fault::new("/api/spaces", 200, page).header("content-type", content_type));
        let err = client(&fake, API_KEY).resolve_space("Default").await.unwrap_err();
        let message = err.to_string();
        assert!(message.contains("HTML page"), "{content_type}: {message}");
        assert!(message.contains("GET /api/spaces"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
}
