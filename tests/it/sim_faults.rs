//! Each injectable fault kind, over real HTTP.

use crate::support::sim_harness::{start, start_with, API};
use scaleguard::sim::{FaultSpec, SimOptions};
use serde_json::{json, Value};
use std::time::Instant;

fn fault(target: &str, kind: &str) -> FaultSpec {
    FaultSpec {
        target: target.into(),
        kind: kind.into(),
        count: 1,
        retry_after_secs: Some(7),
        delay_ms: Some(300),
    }
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_once() {
    let h = start("steady").await;
    h.sim.inject_fault(fault("arm", "429")).unwrap();
    let url = format!("{}?{API}", h.set_url("vmss-web"));
    let throttled = h.arm_get(&url).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(h.arm_get(&url).await.status(), 200, "count = 1");
}

#[tokio::test]
async fn server_errors_use_each_apis_error_shape() {
    let h = start("steady").await;
    h.sim.inject_fault(fault("octopus", "500")).unwrap();
    h.sim.inject_fault(fault("arm", "503")).unwrap();
    let octo = h
        .http
        .get(h.octo("/Spaces-1/machines"))
        .header("X-Octopus-ApiKey", h.sim.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(octo.status(), 500);
    assert!(octo.json::<Value>().await.unwrap()["ErrorMessage"].is_string());
    let arm = h.arm_get(&format!("{}?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(arm.status(), 503);
    assert!(arm.json::<Value>().await.unwrap()["error"]["code"].is_string());
}

#[tokio::test]
async fn a_path_prefix_fault_hits_only_that_endpoint() {
    let h = start("steady").await;
    let over_http = h
        .http
        .post(format!("{}/_sim/fault", h.sim.arm_url()))
        .json(&json!({"target": "/api/Spaces-1/machines", "kind": "503", "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), 200);
    assert_eq!(
        h.http
            .get(h.octo("/octopusservernodes/summary"))
            .header("X-Octopus-ApiKey", h.sim.api_key())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for _ in 0..2 {
        let r = h
            .http
            .get(h.octo("/Spaces-1/machines"))
            .header("X-Octopus-ApiKey", h.sim.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
    h.octo_get("/Spaces-1/machines").await;
    let bad = h
        .http
        .post(format!("{}/_sim/fault", h.sim.arm_url()))
        .json(&json!({"target": "arm", "kind": "teapot"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn delay_slows_the_answer() {
    let h = start("steady").await;
    h.sim.inject_fault(fault("octopus", "delay")).unwrap();
    let started = Instant::now();
    h.octo_get("/Spaces-1/machines").await;
    assert!(started.elapsed().as_millis() >= 300);
}

#[tokio::test]
async fn truncated_page_drops_next_link_and_page_next() {
    let h = start_with(SimOptions::new("steady").manual_clock().arm_page_size(1).octopus_page_size(1)).await;
    h.sim.inject_fault(fault("arm", "truncated_page")).unwrap();
    h.sim.inject_fault(fault("octopus", "truncated_page")).unwrap();
    let page = h.arm_json(&format!("{}/virtualMachines?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert!(page.get("nextLink").is_none());
    let page = h.octo_get("/Spaces-1/machines").await;
    assert_eq!(page["TotalResults"], 3);
    assert!(page["Links"].get("Page.Next").is_none());
    let page = h.octo_get("/Spaces-1/machines").await;
    assert!(page["Links"].get("Page.Next").is_some(), "only the next request is truncated");
}

#[tokio::test]
async fn malformed_json_is_not_json() {
    let h = start("steady").await;
    h.sim.inject_fault(fault("arm", "malformed_json")).unwrap();
    let response = h.arm_get(&format!("{}?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn auth_faults_answer_401_with_the_arm_codes() {
    let h = start("steady").await;
    h.sim.inject_fault(fault("arm", "expired_token")).unwrap();
    h.sim.inject_fault(fault("arm", "401")).unwrap();
    h.sim.inject_fault(fault("octopus", "401")).unwrap();
    let url = format!("{}?{API}", h.set_url("vmss-web"));
    let expired = h.arm_get(&url).await;
    assert_eq!(expired.status(), 401);
    assert_eq!(expired.json::<Value>().await.unwrap()["error"]["code"], "ExpiredAuthenticationToken");
    let invalid = h.arm_get(&url).await;
    assert_eq!(invalid.json::<Value>().await.unwrap()["error"]["code"], "InvalidAuthenticationToken");
    let octo = h
        .http
        .get(h.octo("/Spaces-1/machines"))
        .header("X-Octopus-ApiKey", h.sim.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(octo.status(), 401);
}

#[tokio::test]
async fn control_endpoint_advances_the_manual_clock_and_sets_page_size() {
    let h = start("scale-out").await;
    let control = |path: &str| format!("{}/_sim/{path}", h.sim.arm_url());
    assert_eq!(
        h.http.post(control("page_size")).json(&json!({"arm": 2})).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        h.http.post(control("advance")).json(&json!({"secs": 300})).send().await.unwrap().status(),
        200
    );
    let (vms, pages) = h.list_vms(false).await;
    assert_eq!((vms.len(), pages), (6, 3));
    assert_eq!(h.http.post(control("advance")).body("nope").send().await.unwrap().status(), 400);
    let real = start_with(SimOptions::new("steady")).await;
    assert!(real.sim.advance(std::time::Duration::from_secs(1)).is_err(), "real clock cannot be advanced");
}
