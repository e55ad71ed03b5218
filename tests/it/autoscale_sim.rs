//! Azure Autoscale and the Activity Log in the simulator, read and written by the Azure provider
//! over HTTP on 127.0.0.1: the `autoscale` scenario's revert of a manual scale-out, who the
//! Activity Log names, a setting's round trip, paging on the ARM origin only, and failures that
//! leave the state unknown.

use crate::support::static_token::StaticToken;

use scaleguard::autoscale::{apply_to_resource, AutoscaleState, CapacityRange, ProfileValues};
use scaleguard::config::AzureConfig;
use scaleguard::model::ScaleSetKey;
use scaleguard::providers::azure::AzureProvider;
use scaleguard::providers::{other_scalers, ProviderError, ScaleSetProvider};
use scaleguard::sim::{self, EventAction, FaultSpec, RunningSim, SimOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SETTINGS: &str = "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourcegroups/rg-web/providers/Microsoft.Insights/autoscalesettings";

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b".into(),
        resource_group: "rg-web".into(),
        name: "vmss-web".into(),
    }
}

async fn start() -> RunningSim {
    sim::start(SimOptions::new("autoscale").manual_clock()).await.unwrap()
}

fn provider(sim: &RunningSim) -> AzureProvider {
    let config = AzureConfig { arm_url: sim.arm_url(), timeout_secs: 5, ..AzureConfig::default() };
    AzureProvider::with_credential(&config, Arc::new(StaticToken(sim.arm_token()))).unwrap()
}

fn capacity(sim: &RunningSim) -> u32 {
    sim.with_world(|w| w.scale_sets[0].capacity)
}

fn advance(sim: &RunningSim, secs: u64) {
    sim.advance(Duration::from_secs(secs)).unwrap();
}

#[tokio::test]
async fn a_manual_scale_out_ignoring_autoscale_is_reverted_and_the_activity_log_says_who() {
    let sim = start().await;
    let provider = provider(&sim);
    assert_eq!(capacity(&sim), 4);
    advance(&sim, 300);
    assert_eq!(capacity(&sim), 9, "ops@contoso.com scaled out in the portal at 300 s");
    advance(&sim, 61);
    assert_eq!(capacity(&sim), 6, "Autoscale scaled it back to the profile's maximum within a minute");

    let setting = provider.autoscale(&key()).await.unwrap();
    let now = sim.now();
    let changes = provider
        .changes_since(
            &key(),
            setting.as_ref(),
            now - time::Duration::minutes(10),
            now + time::Duration::hours(1),
        )
        .await
        .unwrap();
    let mut seen: Vec<(Option<String>, Option<u32>, Option<u32>)> =
        changes.iter().map(|c| (c.by.clone(), c.from, c.to)).collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (Some("autoscale (setting vmss-web-autoscale)".into()), None, None),
            (Some("autoscale (setting vmss-web-autoscale)".into()), Some(9), Some(6)),
            (Some("ops@contoso.com via portal".into()), None, None),
        ],
        "the set's two writes (the portal's, Autoscale's) and Autoscale's action on its setting"
    );
    let newest = changes.iter().max_by_key(|c| c.at).unwrap();
    assert!(newest.at > now - time::Duration::seconds(62) && newest.at <= now, "{newest:?} at {now}");
}

#[tokio::test]
async fn the_setting_reads_with_its_active_profile_and_a_change_round_trips() {
    let sim = start().await;
    let provider = provider(&sim);
    let setting = provider.autoscale(&key()).await.unwrap().expect("the scenario's setting targets the set");
    assert_eq!(setting.name, "vmss-web-autoscale");
    let state = AutoscaleState::of(Ok(Some(&setting)), sim.now());
    assert_eq!(
        state.line(sim.now()),
        "on · profile \"default\" 2..6 (default 4) · next change 2027-11-26 05:00 UTC",
        "Eastern Standard Time's midnight of the fixed date is 05:00 UTC"
    );

    let after =
        ProfileValues { enabled: true, capacity: Some(CapacityRange { minimum: 2, maximum: 8, default: 4 }) };
    let body = apply_to_resource(&setting.resource, Some(0), &after);
    let written = provider.put_autoscale(&setting, &body).await.unwrap();
    assert_eq!(written.profiles[0].capacity.maximum, 8);
    assert_eq!(
        written.resource["properties"]["profiles"][0]["rules"],
        setting.resource["properties"]["profiles"][0]["rules"]
    );
    let read_again = provider.autoscale(&key()).await.unwrap().unwrap();
    assert_eq!(read_again.profiles[0].capacity.maximum, 8);
    assert_eq!(sim.stats().get("arm.put_autoscale_setting"), 1);

    // Autoscale now leaves 8 alone (the load sits between its rules' thresholds).
    sim.apply(EventAction::ScaleBy {
        set: "vmss-web".into(),
        capacity: 8,
        caller: "ops@contoso.com".into(),
        app: "cli".into(),
    })
    .unwrap();
    advance(&sim, 180);
    assert_eq!(capacity(&sim), 8);
    // A write to the setting is no change to the set.
    let now = sim.now();
    let changes = provider
        .changes_since(
            &key(),
            Some(&read_again),
            now - time::Duration::minutes(10),
            now + time::Duration::hours(1),
        )
        .await
        .unwrap();
    let by: Vec<_> = changes.iter().filter_map(|c| c.by.clone()).collect();
    assert_eq!(by, vec!["ops@contoso.com via Azure CLI"], "{changes:?}");
}

#[tokio::test]
async fn settings_and_activity_pages_are_followed_to_the_end() {
    let sim = start().await;
    let provider = provider(&sim);
    let setting = provider.autoscale(&key()).await.unwrap().unwrap();
    // A second setting in the group, for another set, listed first on its own page.
    let mut other = setting.resource.clone();
    other["properties"]["targetResourceUri"] = serde_json::json!(
        "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-api"
    );
    other["id"] = serde_json::json!(setting.id.replace("vmss-web-autoscale", "api-autoscale"));
    let mut renamed = setting.clone();
    renamed.id = other["id"].as_str().unwrap().to_string();
    provider.put_autoscale(&renamed, &other).await.unwrap();
    for capacity in [5, 4, 5, 6] {
        sim.apply(EventAction::SetCapacity { set: "vmss-web".into(), capacity }).unwrap();
        advance(&sim, 1);
    }
    sim.set_page_sizes(Some(1), None);
    sim.reset_stats();
    let found = provider.autoscale(&key()).await.unwrap().unwrap();
    assert_eq!(found.name, "vmss-web-autoscale");
    assert_eq!(sim.stats().get("arm.list_autoscale_settings"), 2, "one setting per page");
    let now = sim.now();
    let changes = provider
        .changes_since(
            &key(),
            Some(&found),
            now - time::Duration::minutes(10),
            now + time::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(changes.len(), 4, "one change per write: {changes:?}");
    assert!(
        sim.stats().get("arm.activity_log") >= 8,
        "two events per write, one per page: {:?}",
        sim.stats()
    );
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_not_followed() {
    let sim = start().await;
    let provider = provider(&sim);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for _ in 0..50 {
            if listener.accept().is_ok() {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    for capacity in [5, 4] {
        sim.apply(EventAction::SetCapacity { set: "vmss-web".into(), capacity }).unwrap();
    }
    sim.set_page_sizes(Some(1), None);
    let events =
        "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes";
    let fault = FaultSpec {
        target: events.into(),
        kind: format!("foreign_next_link:{port}"),
        count: 1,
        retry_after_secs: None,
        delay_ms: None,
    };
    sim.inject_fault(fault).unwrap();
    let now = sim.now();
    let err = provider
        .changes_since(&key(), None, now - time::Duration::minutes(10), now + time::Duration::hours(1))
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Paging { .. }), "{err}");
    assert!(err.to_string().contains(&format!("points to http://127.0.0.1:{port}")), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing (no token) went to the other origin");
}

#[tokio::test]
async fn unreadable_autoscale_or_activity_log_leaves_the_guard_unknown_not_nobody() {
    let sim = start().await;
    let provider = provider(&sim);
    sim.inject_fault(FaultSpec {
        target: SETTINGS.into(),
        kind: "403".into(),
        count: 1,
        retry_after_secs: None,
        delay_ms: None,
    })
    .unwrap();
    let observed = other_scalers::read(&provider, &key(), 600, sim.now()).await;
    let scalers = observed.scalers(sim.now());
    let AutoscaleState::Unknown { why } = &scalers.autoscale else { panic!("{scalers:?}") };
    assert!(why.contains("permission denied (403 Forbidden)"), "{why}");
    assert_eq!(scalers.activity_log_failure, None, "the Activity Log was still read");

    let events =
        "/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes";
    sim.inject_fault(FaultSpec {
        target: events.into(),
        kind: "500".into(),
        count: 10,
        retry_after_secs: None,
        delay_ms: None,
    })
    .unwrap();
    let observed = other_scalers::read(&provider, &key(), 600, sim.now()).await;
    let scalers = observed.scalers(sim.now());
    assert!(matches!(scalers.autoscale, AutoscaleState::On { .. }), "{scalers:?}");
    let failure = scalers.activity_log_failure.expect("the failed read is kept");
    assert!(
        failure.contains("GET Activity Log of scale set rg-web/vmss-web") && failure.contains("500"),
        "{failure}"
    );
}

#[tokio::test]
async fn the_activity_log_takes_only_the_spec_filters() {
    let sim = start().await;
    let base = format!("{}/subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/providers/microsoft.insights/eventtypes/management/values", sim.arm_url());
    let client = reqwest::Client::new();
    let get = |filter: &str| {
        client
            .get(&base)
            .query(&[("api-version", "2015-04-01"), ("$filter", filter)])
            .bearer_auth(sim.arm_token())
            .send()
    };
    let refused = get("resourceUri eq '/x'").await.unwrap();
    assert_eq!(refused.status(), 400, "no eventTimestamp ge bound");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");
    let accepted =
        get("eventTimestamp ge '2026-01-01T00:00:00Z' and resourceGroupName eq 'rg-web'").await.unwrap();
    assert_eq!(accepted.status(), 200);
    let body: serde_json::Value = accepted.json().await.unwrap();
    assert!(body["value"].as_array().unwrap().is_empty(), "nothing was written yet: {body}");
}
