//! Red team (review-s9): the executor's read-back of a release's deployments after its POST, with
//! a server spelling a deployment's own Id in another case in the listing (as `server_ids` does
//! for DeployedToMachineIds): Octopus ids name one document in any ASCII case.

use crate::support::bench::Bench;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use scaleguard::sim::SimOptions;
use std::time::Duration;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
}

/// Forwards every request; in the answers listing a release's deployments, spells each
/// deployment's Id in lower case.
async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut request = proxy.http.request(method, format!("{}{path}", proxy.upstream)).body(body.to_vec());
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::CONNECTION && name != header::TRANSFER_ENCODING {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the simulator answers");
    let status = answer.status();
    let mut text = answer.text().await.expect("an answer body");
    let p = path.to_ascii_lowercase();
    if p.contains("/releases/") && p.split('?').next().unwrap_or_default().ends_with("/deployments") {
        text = text.replace("\"Id\":\"Deployments-", "\"Id\":\"deployments-");
    }
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The scale-out's new targets get the release by one deployment this run creates: the read-back
/// listing it as `deployments-N` (the POST answered `Deployments-N`) is that same deployment, not
/// "a second copy the server made" to cancel. It used to cancel the run's own deployment's task
/// and journal the deploy done.
#[tokio::test]
async fn the_read_back_of_a_deployment_in_another_case_does_not_cancel_the_runs_own_deployment() {
    let bench = Bench::start(SimOptions::new("scale-out").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    let profile = std::fs::read_to_string(&bench.config).unwrap();
    let octopus = profile
        .lines()
        .find_map(|l| l.trim().strip_prefix("url = \"")?.strip_suffix('"').map(str::to_string))
        .expect("the octopus url");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = Proxy {
        upstream: octopus.trim_end_matches('/').to_string(),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    std::fs::write(
        &bench.config,
        profile.replace(&format!("url = \"{octopus}\""), &format!("url = \"{proxy_url}\"")),
    )
    .unwrap();
    let mut outputs = String::new();
    for _ in 0..12 {
        bench.sim.advance(Duration::from_secs(25)).unwrap();
        let out = bench.run(&["apply", "--yes"]).await;
        outputs.push_str(&out.stdout);
        outputs.push_str(&out.stderr);
        if bench.stat("octopus.deployments.post") > 0 {
            break;
        }
    }
    assert_eq!(bench.stat("octopus.deployments.post"), 1, "one deployment was created:\n{outputs}");
    let cancelled: Vec<String> = bench.sim.with_world(|w| {
        let ours: Vec<&String> = w
            .deployments
            .iter()
            .filter(|d| d.comments.starts_with("scaleguard"))
            .map(|d| &d.task_id)
            .collect();
        w.tasks
            .iter()
            .filter(|t| ours.contains(&&t.id) && format!("{:?}", t.state).contains("Cancel"))
            .map(|t| t.id.clone())
            .collect()
    });
    assert!(
        cancelled.is_empty() && !outputs.contains("a second copy the server made"),
        "the run cancelled its own deployment's task ({cancelled:?}), taking its read-back in another case for a \
         second copy:\n{outputs}"
    );
}
