//! The Azure provider over HTTP on 127.0.0.1 against the fake ARM in tests/support/fake.rs.

use crate::support::static_token::StaticToken;

use crate::support::fake::{dead_url, Fake, Fault, ARM_TOKEN, SUB};
use reqwest::Method;
use scaleguard::model::{PowerState, ProvisioningState, ScaleSetKey};
use scaleguard::providers::azure::AzureProvider;
use scaleguard::providers::{Operation, ProviderError, ScaleSetProvider};
use std::time::{Duration, Instant};

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: SUB.into(),
        resource_group: "rg-web".into(),
        name: "vmss-web".into(),
    }
}

/// A provider with a fixed token (what `token_env` yields) and quick LRO polling.
fn provider(fake: &Fake, token: &str) -> AzureProvider {
    let config = fake.profile().azure;
    let credential = std::sync::Arc::new(StaticToken(token.to_string()));
    AzureProvider::with_credential(&config, credential).unwrap().with_poll_interval(Duration::from_millis(20))
}

fn list_requests(fake: &Fake) -> usize {
    fake.requests().iter().filter(|(_, uri)| uri.contains("/virtualMachines")).count()
}

#[tokio::test]
async fn lists_every_page_with_instance_view() {
    let fake = Fake::start(20).await;
    let p = provider(&fake, ARM_TOKEN);
    let listing = p.listing(&key()).await.unwrap();
    assert_eq!(listing.state.capacity, 20);
    assert_eq!(listing.state.etag.as_deref(), Some("\"1\""));
    assert_eq!(listing.state.provisioning_state, ProvisioningState::Succeeded);
    assert!(listing.state.overprovision);
    assert_eq!(listing.instances.len(), 20);
    let ids: Vec<_> = listing.instances.iter().map(|i| i.instance_id.clone()).collect();
    assert_eq!(ids, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(listing.instances[11].power_state, PowerState::Running);
    assert_eq!(listing.instances[11].computer_name.as_deref(), Some("vmssweb00000b"));
    // 7 per page: 3 pages, following the absolute nextLink.
    assert_eq!(list_requests(&fake), 3);
    assert!(fake.requests().iter().all(|(_, u)| !u.contains("virtualMachines/")), "no per-VM calls");
    assert!(fake.requests()[1].1.contains("instanceView"), "$expand=instanceView is asked for");
    assert_eq!(
        p.rate_limits().remaining,
        vec![("subscription-global-reads".to_string(), "3749".to_string())]
    );
}

#[tokio::test]
async fn a_failed_later_page_voids_the_listing() {
    let fake = Fake::start(20).await;
    fake.fault(
        Fault::new(
            "vmss-web/virtualmachines",
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#,
        )
        .skip(1),
    );
    let err = provider(&fake, ARM_TOKEN).list_instances(&key()).await.unwrap_err();
    match &err {
        ProviderError::PartialListing { page: 2, cause } => {
            assert!(matches!(**cause, ProviderError::Forbidden { .. }), "{cause}")
        }
        other => panic!("expected a partial listing at page 2, got {other}"),
    }
    assert!(err.to_string().contains("AuthorizationFailed"), "the ARM error code is kept: {err}");

    // Cut off mid-body: a parse failure, still named by its page.
    fake.fault(Fault::new("vmss-web/virtualmachines", 200, r#"{"value":[{"name":"vmss-web_7","#).skip(2));
    let err = provider(&fake, ARM_TOKEN).list_instances(&key()).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::PartialListing { page: 3, cause } if matches!(**cause, ProviderError::BadResponse { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn error_statuses_map_to_their_kinds() {
    let fake = Fake::start(1).await;
    let err = provider(&fake, "wrong-token").get_scale_set(&key()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("InvalidAuthenticationToken"), "{err}");
    assert!(!err.to_string().contains("wrong-token"));

    let p = provider(&fake, ARM_TOKEN);
    let mut other = key();
    other.name = "nope".into();
    assert!(matches!(p.get_scale_set(&other).await.unwrap_err(), ProviderError::NotFound { .. }));

    fake.fault(Fault::new("/virtualmachinescalesets/vmss-web", 500, "{}").times(10));
    let err = p.get_scale_set(&key()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Server { status: 500, .. }), "{err}");

    assert_eq!(fake.world.lock().unwrap().faults[0].times, 6, "1 attempt + 3 retries used 4 of 10");
    fake.world.lock().unwrap().faults.clear();
    fake.fault(Fault::new("/virtualmachinescalesets/vmss-web", 200, "not json"));
    assert!(matches!(p.get_scale_set(&key()).await.unwrap_err(), ProviderError::BadResponse { .. }));
}

#[tokio::test]
async fn throttling_honours_retry_after_then_succeeds() {
    let fake = Fake::start(1).await;
    fake.fault(
        Fault::new(
            "/virtualmachinescalesets/vmss-web",
            429,
            r#"{"error":{"code":"TooManyRequests","message":"later"}}"#,
        )
        .retry_after(1),
    );
    let started = Instant::now();
    let state = provider(&fake, ARM_TOKEN).get_scale_set(&key()).await.unwrap();
    assert_eq!(state.capacity, 1);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");

    fake.fault(Fault::new("/virtualmachinescalesets/vmss-web", 429, "{}").retry_after(0).times(100));
    let err = provider(&fake, ARM_TOKEN).get_scale_set(&key()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Throttled { retry_after: Some(_), .. }), "{err}");
}

#[tokio::test]
async fn capacity_change_uses_if_match_and_is_polled_to_completion() {
    let fake = Fake::start(3).await;
    let p = provider(&fake, ARM_TOKEN);
    let state = p.get_scale_set(&key()).await.unwrap();
    let operation = p.set_capacity(&key(), 5, state.etag.as_deref().unwrap()).await.unwrap();
    assert!(matches!(operation, Operation::Pending { .. }), "{operation:?}");
    p.wait(&operation).await.unwrap();
    let polls = fake.requests().iter().filter(|(_, u)| u.contains("/operations/")).count();
    assert_eq!(polls, 3, "InProgress twice, then Succeeded");
    let patches = fake.requests().iter().filter(|(m, _)| m == "PATCH").count();
    assert_eq!(patches, 1, "the PATCH is sent once, never re-sent by an SDK poller");
    assert_eq!(p.get_scale_set(&key()).await.unwrap().capacity, 5);

    // The old ETag no longer matches.
    let err = p.set_capacity(&key(), 4, state.etag.as_deref().unwrap()).await.unwrap_err();
    assert!(matches!(err, ProviderError::PreconditionFailed { .. }), "{err}");
}

#[tokio::test]
async fn a_post_is_not_repeated_after_a_500_but_is_after_a_503() {
    let fake = Fake::start(3).await;
    let p = provider(&fake, ARM_TOKEN);
    fake.fault(Fault::new("/delete", 500, "{}").method(Method::POST));
    let err = p.delete_instances(&key(), &["1".into()]).await.unwrap_err();
    assert!(matches!(err, ProviderError::Server { status: 500, .. }), "{err}");
    assert_eq!(fake.requests().iter().filter(|(m, _)| m == "POST").count(), 1);

    fake.fault(Fault::new("/delete", 503, "{}").method(Method::POST));
    let operation = p.delete_instances(&key(), &["1".into()]).await.unwrap();
    p.wait(&operation).await.unwrap();
    assert_eq!(fake.requests().iter().filter(|(m, _)| m == "POST").count(), 3);
    let ids: Vec<_> = p.list_instances(&key()).await.unwrap().into_iter().map(|i| i.instance_id).collect();
    assert_eq!(ids, vec!["0", "2"]);
}

#[tokio::test]
async fn protection_is_put_with_the_location() {
    let fake = Fake::start(3).await;
    let p = provider(&fake, ARM_TOKEN);
    let operation = p.set_scale_in_protection(&key(), "2", true).await.unwrap();
    p.wait(&operation).await.unwrap();
    let instances = p.list_instances(&key()).await.unwrap();
    assert_eq!(
        (instances[2].protected_from_scale_in, instances[1].protected_from_scale_in),
        (Some(true), Some(false))
    );
}

#[tokio::test]
async fn a_long_operation_hits_the_deadline() {
    let fake = Fake::start(1).await;
    fake.world.lock().unwrap().lro_polls = u32::MAX;
    let mut config = fake.profile().azure;
    config.lro_deadline_secs = 1;
    let p = AzureProvider::with_credential(&config, std::sync::Arc::new(StaticToken(ARM_TOKEN.into())))
        .unwrap()
        .with_poll_interval(Duration::from_millis(100));
    let operation = p.set_capacity(&key(), 2, "\"1\"").await.unwrap();
    let started = Instant::now();
    let err = p.wait(&operation).await.unwrap_err();
    assert!(matches!(err, ProviderError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_stopped_server_fails_fast() {
    let fake = Fake::start(1).await;
    let mut config = fake.profile().azure;
    config.arm_url = dead_url();
    let p =
        AzureProvider::with_credential(&config, std::sync::Arc::new(StaticToken(ARM_TOKEN.into()))).unwrap();
    let started = Instant::now();
    let err = p.get_scale_set(&key()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Connect { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn an_endpoint_with_a_path_is_refused_because_the_sdk_drops_it() {
    let fake = Fake::start(1).await;
    let mut config = fake.profile().azure;
    config.arm_url = format!("{}/arm", fake.url());
    let err = AzureProvider::with_credential(&config, std::sync::Arc::new(StaticToken(ARM_TOKEN.into())))
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn a_flexible_set_is_listed_through_the_filtered_vm_list_and_a_rejected_filter_names_both() {
    let fake = Fake::start(2).await;
    let body = r#"{"name":"vmss-web","location":"westus","sku":{"capacity":2},
                   "properties":{"provisioningState":"Succeeded","orchestrationMode":"Flexible"}}"#;
    fake.fault(Fault::new("/virtualmachinescalesets/vmss-web", 200, body).method(Method::GET));
    let rejected =
        r#"{"error":{"code":"InvalidParameter","message":"The value of parameter $filter is invalid."}}"#;
    fake.fault(Fault::new("/providers/microsoft.compute/virtualmachines", 400, rejected).method(Method::GET));
    let err = provider(&fake, ARM_TOKEN).listing(&key()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET virtual machines of Flexible scale set rg-web/vmss-web (the VM list of resource group rg-web \
         filtered on the set): rejected (400): InvalidParameter: The value of parameter $filter is invalid."
    );
    let requests = fake.requests();
    let (_, list) =
        requests.iter().find(|(_, u)| u.contains("/virtualMachines?")).expect("the VM list was asked");
    assert!(list.contains("/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines?"), "{list}");
    assert!(list.contains("%24filter=%27virtualMachineScaleSet%2Fid%27+eq+%27%2Fsubscriptions%2F"), "{list}");
    assert!(list.contains("%24expand=instanceView"), "{list}");
    assert!(
        !requests.iter().any(|(_, u)| u.contains("/virtualMachineScaleSets/vmss-web/virtualMachines")),
        "no per-set list"
    );
}

#[tokio::test]
async fn a_listing_that_ends_early_is_caught_by_the_capacity() {
    let fake = Fake::start(20).await;
    // Page 1 without its nextLink: each page parses, but 7 VMs of a settled capacity-20 set is short.
    let set_path = format!("/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web");
    let vms: Vec<_> = (0..7).map(|id| format!(r#"{{"name":"vmss-web_{id}","location":"westus","instanceId":"{id}","id":"{set_path}/virtualMachines/{id}"}}"#)).collect();
    fake.fault(Fault::new("vmss-web/virtualmachines", 200, &format!(r#"{{"value":[{}]}}"#, vms.join(","))));
    let err = provider(&fake, ARM_TOKEN).listing(&key()).await.unwrap_err();
    assert!(matches!(err, ProviderError::IncompleteListing { listed: 7, capacity: 20, .. }), "{err}");
}
