//! A rewriting reverse proxy on 127.0.0.1 between the real binary and one of the simulator's
//! endpoints (AWS or Octopus): the answer lies while the simulated world stays true, so the world
//! judges what the binary did on a lie.

use super::bench::Bench;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// A reverse proxy in front of a simulator endpoint: forwards every request as sent (the
/// simulator checks AWS's SigV4 signature, so the Host header goes along), and in the answers to
/// the requests each lie picks replaces its `from` with its `to` once the lie is set.
#[derive(Clone)]
pub struct Proxy {
    upstream: String,
    http: reqwest::Client,
    lies: Arc<Mutex<Vec<Lie>>>,
}

/// In the answers to the requests whose path and body hold every one of `request_has`, `from`
/// becomes `to`.
struct Lie {
    request_has: Vec<String>,
    from: String,
    to: String,
}

impl Proxy {
    pub async fn start(upstream: &str) -> (Proxy, String) {
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            lies: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (proxy, url)
    }

    /// From now on, in the answers to the AWS `action` (`DescribeAutoScalingGroups`, EC2
    /// `DescribeInstances`), replace `from` with `to`.
    pub fn lie(&self, action: &str, from: &str, to: &str) {
        self.lie_where(&[&format!("Action={action}&")], from, to);
    }

    /// From now on, in the answers to the requests whose path and body hold every one of
    /// `request_has`, replace `from` with `to`.
    pub fn lie_where(&self, request_has: &[&str], from: &str, to: &str) {
        let request_has = request_has.iter().map(|part| part.to_string()).collect();
        self.lies.lock().unwrap().push(Lie { request_has, from: from.to_string(), to: to.to_string() });
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy.http.request(method, format!("{}{path}", proxy.upstream)).body(body.to_vec());
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::CONNECTION && name != header::TRANSFER_ENCODING {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the simulator answers");
    let status = answer.status();
    let content_type = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_string();
    let mut text = answer.text().await.expect("an answer body");
    let request = format!("{path}\n{}", String::from_utf8_lossy(&body));
    for lie in proxy.lies.lock().unwrap().iter() {
        if lie.request_has.iter().all(|part| request.contains(part.as_str())) {
            text = text.replace(lie.from.as_str(), &lie.to);
        }
    }
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The value of the first `key = "..."` line of a TOML text.
fn toml_value(toml: &str, key: &str) -> String {
    toml.lines()
        .find_map(|line| {
            line.trim().strip_prefix(&format!("{key} = \""))?.strip_suffix('"').map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no `{key}` in the profile"))
}

/// Put the proxy between the profile and the simulator: every use of the simulator's address in
/// the profile (it serves ARM, Octopus and AWS on one origin, which `--sim-clock` requires).
pub async fn behind_proxy(bench: &Bench) -> Proxy {
    let profile = std::fs::read_to_string(&bench.config).unwrap();
    let upstream = toml_value(&profile, "url");
    let (proxy, proxy_url) = Proxy::start(&upstream).await;
    std::fs::write(&bench.config, profile.replace(&upstream, &proxy_url)).unwrap();
    proxy
}
