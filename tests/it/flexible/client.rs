//! The Azure provider against the simulator's Flexible sets over HTTP on 127.0.0.1: the filtered
//! VM list to its end, hostile answers, deletes of specific VMs, protection refused.

use super::kit::{fault, is_flexible_vm_name, key, profile, provider, start};
use scaleguard::model::{OrchestrationMode, PowerState, ProvisioningState};
use scaleguard::providers::{Operation, ProviderError, ScaleSetProvider};
use scaleguard::sim::FaultSpec;
use std::time::Duration;

#[tokio::test]
async fn a_flexible_set_lists_its_vms_by_name_with_their_status_and_unknowns() {
    let running = start("flex-scale-out").await;
    let set = key(&running, "vmss-flex");
    let listing = provider(&running).listing(&set).await.unwrap();
    assert_eq!(listing.state.orchestration_mode, OrchestrationMode::Flexible);
    assert!(!listing.state.overprovision);
    assert_eq!(listing.state.layout.zones, vec!["1", "2", "3"]);
    assert_eq!(listing.instances.len(), 2);
    for vm in &listing.instances {
        assert!(is_flexible_vm_name("vmss-flex", &vm.instance_id), "{}", vm.instance_id);
        assert_eq!(vm.name, vm.instance_id, "the VM name is the instance id");
        let computer = vm.computer_name.as_deref().unwrap();
        assert!(computer.starts_with("flexweb") && computer.len() == "flexweb".len() + 6, "{computer}");
        assert_eq!(
            (vm.provisioning_state.clone(), vm.power_state.clone()),
            (ProvisioningState::Succeeded, PowerState::Running)
        );
        assert_eq!((vm.latest_model_applied, vm.protected_from_scale_in), (None, None));
        assert!(vm.vm_id.is_some() && vm.placement.created_at.is_some());
    }
    let zones: Vec<_> = listing.instances.iter().filter_map(|vm| vm.placement.zone.clone()).collect();
    assert_eq!(zones.len(), 2, "zonal VMs report their zone");
    assert_ne!(zones[0], zones[1], "new VMs go to the emptiest zone");
    assert!(listing.foreign.is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn every_page_is_read_one_request_each_and_an_unencoded_filter_in_the_next_link_is_followed() {
    let running = start("flex-scale-in").await;
    running.set_page_sizes(Some(2), None);
    let set = key(&running, "vmss-flex");
    let p = provider(&running);
    let expected: Vec<String> =
        p.listing(&set).await.unwrap().instances.into_iter().map(|i| i.instance_id).collect();
    assert_eq!(expected.len(), 6);
    running.reset_stats();
    // Past the scale set's GET, every page's nextLink carries the filter unencoded.
    running.inject_fault(FaultSpec { delay_ms: Some(1), ..fault("arm", "delay", 1) }).unwrap();
    running.inject_fault(fault("arm", "unencoded_next_link", 3)).unwrap();
    let listing = p.listing(&set).await.unwrap();
    let ids: Vec<String> = listing.instances.into_iter().map(|i| i.instance_id).collect();
    assert_eq!(ids, expected, "the same VMs, all pages");
    let stats = running.stats();
    assert_eq!(stats.get("arm.list_rg_vms"), 3, "one request per page of 2: {stats:?}");
    assert_eq!(stats.get("arm.get_scale_set"), 2, "before the pages and after them");
    assert_eq!(stats.get("arm.list_vms"), 0, "never the scale set's per-instance list");
    running.shutdown().await;
}

#[tokio::test]
async fn a_rejected_filter_names_the_set_and_the_endpoint() {
    let running = start("flex-scale-out").await;
    let set = key(&running, "vmss-flex");
    // The scale set's GET passes (a 1 ms delay); the VM list after it is refused.
    running.inject_fault(FaultSpec { delay_ms: Some(1), ..fault("arm", "delay", 1) }).unwrap();
    running.inject_fault(fault("arm", "filter_rejected", 1)).unwrap();
    let err = provider(&running).listing(&set).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Rejected { status: 400, .. }), "{text}");
    assert!(text.starts_with("GET virtual machines of Flexible scale set rg-flex/vmss-flex (the VM list of resource group rg-flex"), "{text}");
    assert!(text.contains("InvalidParameter"), "{text}");
    running.shutdown().await;
}

#[tokio::test]
async fn a_vm_reporting_another_set_is_not_counted_and_the_listing_says_so() {
    let running = start("flex-scale-out").await;
    let set = key(&running, "vmss-flex");
    running.inject_fault(FaultSpec { delay_ms: Some(1), ..fault("arm", "delay", 1) }).unwrap();
    running.inject_fault(fault("arm", "foreign_vm", 1)).unwrap();
    let err = provider(&running).listing(&set).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::IncompleteListing { listed: 1, capacity: 2, .. }), "{text}");
    assert!(text.contains("reports scale set /subscriptions/"), "{text}");
    assert!(
        text.contains("vmss-flex-other (it left the set, or the server did not apply the listing's filter)"),
        "{text}"
    );
    // The members call keeps it apart rather than failing: the planner's rule then judges it.
    let p = provider(&running);
    let state = p.get_scale_set(&set).await.unwrap();
    running.inject_fault(fault("arm", "foreign_vm", 1)).unwrap();
    let members = p.list_members(&state).await.unwrap();
    assert_eq!((members.instances.len(), members.foreign.len()), (1, 1));
    running.shutdown().await;
}

#[tokio::test]
async fn a_vm_listed_twice_across_pages_is_an_incomplete_listing() {
    let running = start("flex-scale-in").await;
    running.set_page_sizes(Some(2), None);
    let set = key(&running, "vmss-flex");
    // The scale set GET and page 1 pass (a 1 ms delay); page 2 repeats page 1's last VM in place
    // of its own last one: six entries, five VMs.
    running.inject_fault(FaultSpec { delay_ms: Some(1), ..fault("arm", "delay", 2) }).unwrap();
    running.inject_fault(fault("arm", "duplicate_vm", 1)).unwrap();
    let err = provider(&running).listing(&set).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::IncompleteListing { listed: 5, capacity: 6, .. }), "{text}");
    assert!(text.contains("listed 2 times"), "{text}");
    running.shutdown().await;
}

#[tokio::test]
async fn specific_vms_are_deleted_as_vm_resources_and_only_the_sets_own() {
    let running = start("flex-scale-in").await;
    // Past the scenario's scale-in (6 -> 3 at 10 s), settled.
    running.advance(Duration::from_secs(300)).unwrap();
    let set = key(&running, "vmss-flex");
    let p = provider(&running);
    let before = p.listing(&set).await.unwrap();
    let victim = before.instances[0].instance_id.clone();
    running.reset_stats();
    let err = p.delete_instances(&set, &[victim.clone(), "vmss-flex_00000000".into()]).await.unwrap_err();
    assert!(matches!(err, ProviderError::NotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("DELETE VM vmss-flex_00000000 of Flexible scale set rg-flex/vmss-flex"),
        "{err}"
    );
    assert_eq!(
        running.stats().get("arm.delete_vm_resource"),
        0,
        "nothing sent when one name is not the set's"
    );

    // The simulator finishes deletes as its clock moves: move it while the provider polls.
    let clock = {
        let running = &running;
        async move {
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let _ = running.advance(Duration::from_secs(1));
            }
        }
    };
    let (operation, ()) = tokio::join!(p.delete_instances(&set, std::slice::from_ref(&victim)), clock);
    assert_eq!(operation.unwrap(), Operation::Done);
    let stats = running.stats();
    assert_eq!((stats.get("arm.delete_vm_resource"), stats.get("arm.delete_instances")), (1, 0), "{stats:?}");
    let after = p.listing(&set).await.unwrap();
    assert_eq!(after.state.capacity, 2, "deleting a Flexible VM lowers the capacity");
    assert!(after.instances.iter().all(|vm| vm.instance_id != victim));
    running.shutdown().await;
}

#[tokio::test]
async fn protection_is_refused_on_a_flexible_set_with_the_lock_suggestion() {
    let running = start("flex-scale-in").await;
    let set = key(&running, "vmss-flex");
    let p = provider(&running);
    let name = p.listing(&set).await.unwrap().instances[0].instance_id.clone();
    running.reset_stats();
    let err = p.set_scale_in_protection(&set, &name, true).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("CanNotDelete management lock"), "{err}");
    assert_eq!(running.stats().get("arm.put_vm"), 0, "no PUT sent");
    running.shutdown().await;
}

#[tokio::test]
async fn the_scale_sets_per_instance_api_answers_400_for_a_flexible_set() {
    let running = start("flex-scale-in").await;
    let set = key(&running, "vmss-flex");
    let url = format!(
        "{}/subscriptions/{}/resourceGroups/rg-flex/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-flex/virtualMachines/0?api-version=2024-07-01",
        running.arm_url(),
        set.subscription_id
    );
    let answer = reqwest::Client::new().get(url).bearer_auth(running.arm_token()).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("instanceId must be a number"));
    // And a Uniform profile is untouched: the mixed scenario's Uniform set lists as before.
    let mixed = start("mixed").await;
    let uniform = provider(&mixed).listing(&key(&mixed, "vmss-web")).await.unwrap();
    assert_eq!(uniform.state.orchestration_mode, OrchestrationMode::Uniform);
    let ids: Vec<_> = uniform.instances.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(ids, vec!["0", "1", "2"]);
    assert_eq!(profile(&mixed).scale_sets.len(), 2);
    running.shutdown().await;
    mixed.shutdown().await;
}
