//! Helpers shared by the simulator's HTTP tests: a running simulator and an HTTP client.

use scaleguard::sim::{self, RunningSim, SimOptions};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const SUB: &str = "7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b";
pub const API: &str = "api-version=2024-07-01";

pub struct Harness {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

pub async fn start(scenario: &str) -> Harness {
    start_with(SimOptions::new(scenario).manual_clock()).await
}

pub async fn start_with(options: SimOptions) -> Harness {
    let sim = sim::start(options).await.expect("simulator starts");
    Harness { sim, http: reqwest::Client::new() }
}

impl Harness {
    pub fn set_url(&self, set: &str) -> String {
        format!(
            "{}/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/{set}",
            self.sim.arm_url()
        )
    }

    pub async fn arm_get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).bearer_auth(self.sim.arm_token()).send().await.expect("ARM GET")
    }

    pub async fn arm_json(&self, url: &str) -> Value {
        let response = self.arm_get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        response.json().await.expect("ARM JSON")
    }

    /// Every VM over every page, following nextLink as given.
    pub async fn list_vms(&self, expand: bool) -> (Vec<Value>, usize) {
        let mut url = format!("{}/virtualMachines?{API}", self.set_url("vmss-web"));
        if expand {
            url.push_str("&$expand=instanceView");
        }
        let mut vms = Vec::new();
        let mut pages = 0;
        loop {
            let page = self.arm_json(&url).await;
            pages += 1;
            vms.extend(page["value"].as_array().unwrap().iter().cloned());
            match page.get("nextLink") {
                Some(Value::String(next)) => url = next.clone(),
                Some(other) => panic!("nextLink must be absent on the last page, got {other}"),
                None => break,
            }
        }
        (vms, pages)
    }

    pub fn octo(&self, path: &str) -> String {
        format!("{}/api{path}", self.sim.octopus_url())
    }

    pub async fn octo_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.octo(path))
            .header("X-Octopus-ApiKey", self.sim.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    pub async fn octo_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request =
            self.http.request(method, self.octo(path)).header("X-Octopus-ApiKey", self.sim.api_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub fn advance(&self, secs: u64) {
        self.sim.advance(Duration::from_secs(secs)).expect("manual clock");
    }
}

pub fn ids(vms: &[Value]) -> Vec<u64> {
    vms.iter().map(|vm| vm["instanceId"].as_str().unwrap().parse().unwrap()).collect()
}

/// Run `command` (the scaleguard binary under `--sim-clock`) on a blocking thread while `sim`'s
/// clock moves `step_secs` every 100 ms, so operations it waits for can finish; at most 60 s.
pub async fn output_advancing(mut command: Command, sim: &RunningSim, step_secs: u64) -> Output {
    let what = format!("{command:?}");
    let child = tokio::task::spawn_blocking(move || command.output().expect("run scaleguard"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !child.is_finished() {
        assert!(Instant::now() < deadline, "{what} did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
        sim.advance(Duration::from_secs(step_secs)).unwrap();
    }
    child.await.unwrap()
}
