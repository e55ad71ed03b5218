//! The Octopus client against a hostile server (the simulator's `redirect`, `lying_total`,
//! `ignore_skip` and `act_then_503` faults), over real HTTP on 127.0.0.1: a credential never
//! leaves its origin, paging ends with one sentence instead of looping, and a POST that may have
//! landed is never sent again.

use scaleguard::config::{ConfigFile, Profile};
use scaleguard::octopus::{DeploymentRequest, OctopusClient, OctopusError};
use scaleguard::secret::Secret;
use scaleguard::sim::{self, FaultSpec, RunningSim, SimOptions};
use std::time::{Duration, Instant};

const MACHINES: &str = "/api/Spaces-1/machines";
const ALWAYS: u32 = 100_000;

fn profile(running: &RunningSim) -> Profile {
    let file = ConfigFile::parse(&running.profile_toml(), std::path::Path::new("sim.toml")).unwrap();
    file.profile(None).unwrap().1.clone()
}

fn octopus(running: &RunningSim) -> OctopusClient {
    OctopusClient::new(&profile(running).octopus, Secret::new(running.api_key())).unwrap()
}

fn fault(target: &str, kind: &str, count: u32) -> FaultSpec {
    FaultSpec { target: target.into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
}

async fn steady() -> RunningSim {
    sim::start(SimOptions::new("steady").manual_clock()).await.unwrap()
}

async fn targets(running: &RunningSim) -> Result<Vec<scaleguard::model::Target>, OctopusError> {
    let c = octopus(running);
    let roles = profile(running).octopus.roles;
    let env = c.resolve_environment("Spaces-1", "Production").await.unwrap();
    c.targets("Spaces-1", &env.id, &roles).await
}

/// Issue 13 item 8: the API key followed a 302 to another origin and the empty answer there was
/// taken for a complete listing.
#[tokio::test]
async fn a_redirect_to_another_origin_is_an_error_naming_it_and_the_key_stays_home() {
    let running = steady().await;
    running.inject_fault(fault(MACHINES, "redirect", ALWAYS)).unwrap();
    let result = targets(&running).await;
    let stats = running.stats();
    assert_eq!(stats.get("foreign.credentials"), 0, "the API key reached another origin: {stats:?}");
    assert_eq!(stats.get("foreign.requests"), 0, "no redirect is followed: {stats:?}");
    let err = result.expect_err("a redirected listing is never a complete one");
    let port = running.addr().port();
    let message = err.to_string();
    assert!(message.contains(&format!("http://localhost:{port}")), "names the Location's origin: {message}");
    assert!(message.contains("GET /api/Spaces-1/machines"), "names the endpoint: {message}");
    assert!(message.contains("redirect"), "{message}");
    assert!(!message.contains(&running.api_key()));
    running.shutdown().await;
}

/// Issue 13 item 11: `TotalResults` far above the real count, with `skip` clamped to the last
/// page, made the client page on until `skip` reached the lie (1,300 requests here).
#[tokio::test]
async fn a_lying_total_ends_in_a_few_requests_with_one_sentence() {
    let running = steady().await;
    running.set_page_sizes(None, Some(2));
    let c = octopus(&running);
    let roles = profile(&running).octopus.roles;
    let env = c.resolve_environment("Spaces-1", "Production").await.unwrap();
    running.inject_fault(fault(MACHINES, "lying_total", ALWAYS)).unwrap();
    running.reset_stats();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(60), c.targets("Spaces-1", &env.id, &roles)).await;
    let requests = running.stats().get("octopus.machines");
    eprintln!("lying TotalResults: {requests} request(s) in {:?}", started.elapsed());
    let err = result.expect("paging ends").expect_err("the listing is incomplete");
    assert!(requests <= 6, "{requests} requests for 3 targets");
    let message = err.to_string();
    assert!(message.contains("GET /api/Spaces-1/machines"), "{message}");
    assert!(message.contains("incomplete"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    running.shutdown().await;
}

/// Issue 13 item 11: a server that ignores `skip` answered the first page every time; its items
/// were taken, deduplicated, for the whole listing (1 target of 3).
#[tokio::test]
async fn a_server_ignoring_skip_gives_an_error_not_a_shorter_listing() {
    let running = steady().await;
    running.set_page_sizes(None, Some(1));
    running.inject_fault(fault(MACHINES, "ignore_skip", ALWAYS)).unwrap();
    let result = targets(&running).await;
    let err = result.expect_err("a repeated page is never the rest of the listing");
    let message = err.to_string();
    assert!(message.contains("GET /api/Spaces-1/machines"), "{message}");
    assert!(message.contains("repeats"), "{message}");
    running.shutdown().await;
}

/// Issue 13 item 5: a POST the server acted on and then answered 503 was retried as "the server
/// did not act", creating a second deployment.
#[tokio::test]
async fn a_deployment_post_answered_503_after_acting_is_never_sent_again() {
    let running = steady().await;
    let c = octopus(&running);
    let (release, environment, before) = running.with_world(|w| {
        (w.releases.last().unwrap().id.clone(), w.octopus.environment_id.clone(), w.deployments.len())
    });
    running.inject_fault(fault("/api/Spaces-1/deployments", "act_then_503", 1)).unwrap();
    let request = DeploymentRequest {
        release_id: release,
        environment_id: environment,
        specific_machine_ids: vec!["Machines-1".into()],
        comments: "scaleguard test".into(),
        use_guided_failure: false,
        tenant_id: None,
    };
    let result = c.create_deployment("Spaces-1", &request).await;
    let after = running.with_world(|w| w.deployments.len());
    assert_eq!(after, before + 1, "exactly one deployment created ({result:?})");
    assert_eq!(running.stats().get("octopus.deployments.post"), 1, "the POST is not retried");
    assert!(matches!(result, Err(OctopusError::Server { status: 503, .. })), "{result:?}");
    running.shutdown().await;
}

// ---- the issue-13 review's Octopus breaks (7, 11, the deployments' order) ----

/// Break 11: a listing without `TotalResults` was paged by `Page.Next` alone (endless with fresh
/// ids: 1,661 requests in 60 s). Every Octopus collection states its total: without one the
/// listing is incomplete, in one sentence naming the endpoint.
#[tokio::test]
async fn a_listing_without_total_results_is_an_error_naming_the_endpoint() {
    let running = steady().await;
    running.inject_fault(fault(MACHINES, "no_total", ALWAYS)).unwrap();
    let err = targets(&running).await.expect_err("no total, no proof of completeness");
    let message = err.to_string();
    assert!(message.contains("GET /api/Spaces-1/machines") && message.contains("TotalResults"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    running.shutdown().await;
}

/// Break 7: a target whose Id was `Machines-99/../Machines-1` had its DELETE land on
/// `Machines-1`. Such an id fails the listing that carries it, naming the id.
#[tokio::test]
async fn a_target_id_that_is_not_an_octopus_id_fails_the_listing_naming_it() {
    let running = steady().await;
    running.inject_fault(fault(MACHINES, "traversal_id", ALWAYS)).unwrap();
    let err = targets(&running).await.expect_err("an id that is a path is no id");
    let message = err.to_string();
    assert!(message.contains("Machines-99/../Machines-1"), "{message}");
    assert!(message.contains("GET /api/Spaces-1/machines"), "{message}");
    running.shutdown().await;
}

/// The deployments listing read oldest first (a server that ignores its documented order) must
/// not make an old release the one rolled out to new targets: the order is ours (`Created`).
#[tokio::test]
async fn a_reordered_deployments_listing_cannot_make_an_old_release_current() {
    let running = steady().await;
    let c = octopus(&running);
    let (newer, old_version) = running.with_world_mut(|w| {
        let project = w.projects[0].id.clone();
        let old = w.releases.iter().rev().find(|r| r.project_id == project).unwrap().version.clone();
        let release = w.add_release(&project, "1.9.0");
        let environment_id = w.octopus.environment_id.clone();
        let request = scaleguard::sim::world::DeployRequest {
            release_id: release,
            environment_id,
            ..Default::default()
        };
        (w.create_deployment(request).unwrap(), old)
    });
    for _ in 0..30 {
        running.advance(Duration::from_secs(30)).unwrap();
        let done = running.with_world(|w| {
            let task = &w.deployments.iter().find(|d| d.id == newer).unwrap().task_id;
            w.tasks.iter().any(|t| &t.id == task && t.state.as_str() == "Success")
        });
        if done {
            break;
        }
    }
    let profile = profile(&running);
    let project = c.resolve_project("Spaces-1", &profile.octopus.projects[0]).await.unwrap();
    let env = c.resolve_environment("Spaces-1", "Production").await.unwrap();
    let honest = c.project_state("Spaces-1", &project, &env.id).await.unwrap();
    assert_eq!(honest.latest_release.map(|r| r.version).as_deref(), Some("1.9.0"));
    running.inject_fault(fault("/api/Spaces-1/deployments", "oldest_first", ALWAYS)).unwrap();
    let state = c.project_state("Spaces-1", &project, &env.id).await.unwrap();
    let current = state.latest_release.map(|r| r.version);
    assert_eq!(current.as_deref(), Some("1.9.0"), "{old_version} is not current, whatever the order");
    running.shutdown().await;
}
