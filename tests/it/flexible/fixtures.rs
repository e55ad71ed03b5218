//! Real spec examples (tests/fixtures/azure, see SOURCES.md) through azure_mgmt_compute 0.21's
//! models and the conversions the provider uses: every field the Flexible handling reads.

use azure_mgmt_compute::package_2024_07_01::models;
use scaleguard::model::{OrchestrationMode, PowerState, ProvisioningState, ScaleSetKey};
use scaleguard::providers::azure::convert;
use scaleguard::providers::azure::flexible::{self, Member};
use serde_json::Value;

fn example(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn body(name: &str) -> Value {
    example(name)["responses"]["200"]["body"].clone()
}

fn key(resource_group: &str, name: &str) -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "{subscription-id}".into(),
        resource_group: resource_group.into(),
        name: name.into(),
    }
}

const FLEX_SET_ID: &str =
    "/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myExistingFlexVmss";

#[test]
fn the_flexible_scale_set_example_reads_as_flexible_without_overprovisioning() {
    let set: models::VirtualMachineScaleSet =
        serde_json::from_value(body("VirtualMachineScaleSet_Create_WithPriorityMixPolicy.json")).unwrap();
    let state = convert::scale_set(&key("myResourceGroup", "{vmss-name}"), set, None)
        .expect("the example is a readable scale set");
    assert_eq!(state.orchestration_mode, OrchestrationMode::Flexible);
    assert_eq!(state.capacity, 10);
    assert_eq!(state.provisioning_state, ProvisioningState::Creating);
    assert!(!state.overprovision, "Flexible sets never overprovision");
    assert_eq!(
        state.layout.resource_id.as_deref(),
        Some("/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss-name}")
    );
    assert_eq!((state.layout.zones.len(), state.layout.fault_domain_count), (0, None), "a regional set");
}

#[test]
fn zones_fault_domains_and_the_scale_in_policy_are_read_from_the_update_example() {
    let set: models::VirtualMachineScaleSet =
        serde_json::from_value(body("VirtualMachineScaleSet_Update_MaximumSet_Gen.json")).unwrap();
    let state =
        convert::scale_set(&key("rg", "vmss"), set, None).expect("the example is a readable scale set");
    assert_eq!(state.scale_in_rules, vec!["OldestVM".to_string()]);
    assert_eq!(state.layout.force_deletion, Some(true));
    assert_eq!(state.layout.fault_domain_count, Some(1));
    assert_eq!(state.layout.zones, vec!["aaaaaaaaaaaaaaaaaaaa".to_string()]);
    assert_eq!(state.orchestration_mode, OrchestrationMode::Uniform);
}

#[test]
fn the_vm_created_in_a_flexible_set_converts_with_its_identity_and_placement() {
    let vm: models::VirtualMachine = serde_json::from_value(body(
        "VirtualMachine_Create_InAVmssWithCustomerAssignedPlatformFaultDomain.json",
    ))
    .unwrap();
    let set = key("myResourceGroup", "myExistingFlexVmss");
    let Member::Instance(instance) = flexible::member(&set.clone().into(), FLEX_SET_ID, vm.clone()) else {
        panic!("the VM names this set")
    };
    assert_eq!(instance.instance_id, "myVM", "the VM name is the instance id");
    assert_eq!(instance.name, "myVM");
    assert_eq!(instance.vm_id.as_deref(), Some("7cce54f2-ecd3-4ddd-a8d9-50984faa3918"));
    assert_eq!(instance.computer_name.as_deref(), Some("myVM"));
    assert_eq!(instance.provisioning_state, ProvisioningState::Creating);
    assert_eq!(instance.placement.fault_domain, Some(1));
    assert_eq!(instance.power_state, PowerState::Unknown, "no instance view: the power state is not guessed");
    assert_eq!((instance.latest_model_applied, instance.protected_from_scale_in), (None, None));
    // The same VM judged for another set (the set id in another case is still this set).
    let upper = FLEX_SET_ID.replace("myResourceGroup", "MYRESOURCEGROUP");
    assert!(matches!(flexible::member(&set.clone().into(), &upper, vm.clone()), Member::Instance(_)));
    let other = FLEX_SET_ID.replace("myExistingFlexVmss", "anotherVmss");
    let Member::Foreign(foreign) = flexible::member(&set.clone().into(), &other, vm) else {
        panic!("another set's VM")
    };
    assert_eq!(foreign.reported_set.as_deref(), Some(FLEX_SET_ID));
}

#[test]
fn the_instance_view_example_gives_the_power_state_and_the_computer_name() {
    let view = body("VirtualMachine_Get_InstanceView.json");
    let typed: models::VirtualMachineInstanceView = serde_json::from_value(view.clone()).unwrap();
    assert_eq!(typed.computer_name.as_deref(), Some("myVM"));
    // What `$expand=instanceView` puts under properties: the example VM with this view, its
    // osProfile taken away (a specialized image): the view names it and says it runs.
    let mut vm = body("VirtualMachine_Create_InAVmssWithCustomerAssignedPlatformFaultDomain.json");
    vm["properties"]["instanceView"] = view;
    vm["properties"].as_object_mut().unwrap().remove("osProfile");
    vm["properties"].as_object_mut().unwrap().remove("provisioningState");
    let vm: models::VirtualMachine = serde_json::from_value(vm).unwrap();
    let Member::Instance(instance) =
        flexible::member(&key("myResourceGroup", "myExistingFlexVmss").into(), FLEX_SET_ID, vm)
    else {
        panic!("the VM names this set")
    };
    assert_eq!(instance.power_state, PowerState::Running);
    assert_eq!(instance.provisioning_state, ProvisioningState::Succeeded, "from the view's statuses");
    assert_eq!(instance.computer_name.as_deref(), Some("myVM"));
}

#[test]
fn the_generated_vm_list_page_parses_with_its_instance_views_and_next_link() {
    let page: models::VirtualMachineListResult =
        serde_json::from_value(body("VirtualMachine_List_MaximumSet_Gen.json")).unwrap();
    assert_eq!(page.next_link.as_deref(), Some("foo://example.com/a"));
    assert_eq!(page.value.len(), 2);
    // The generated example points virtualMachineScaleSet at a placeholder id: judged against our
    // set, both VMs are foreign (what a list whose filter was not applied looks like) ...
    let ours = key("rg", "vmss");
    let our_id = flexible::scale_set_id(&ours);
    assert!(page
        .value
        .iter()
        .all(|vm| matches!(flexible::member(&ours.clone().into(), &our_id, vm.clone()), Member::Foreign(_))));
    // ... and against the id it names, both are members, read field by field.
    let named =
        page.value[1].properties.as_ref().unwrap().virtual_machine_scale_set.clone().unwrap().id.unwrap();
    let members: Vec<_> = page
        .value
        .into_iter()
        .map(|vm| match flexible::member(&ours.clone().into(), &named, vm) {
            Member::Instance(instance) => instance,
            Member::Foreign(foreign) => panic!("{foreign}"),
        })
        .collect();
    assert_eq!(members[0].computer_name.as_deref(), Some("Test"), "osProfile first");
    assert_eq!(members[1].placement.fault_domain, Some(11));
    assert_eq!(members[1].placement.zone.as_deref(), Some("aaaaaa"));
    assert_eq!(members[1].placement.created_at, Some(time::macros::datetime!(2022-01-14 16:43:41.685 UTC)));
    assert_eq!(members[1].provisioning_state, ProvisioningState::Succeeded);
    assert_eq!(members[1].power_state, PowerState::Unknown, "a placeholder status code is not a power state");
}

#[test]
fn a_minimal_vm_list_entry_reports_no_set_and_is_never_counted_as_the_sets() {
    let page: models::VirtualMachineListResult =
        serde_json::from_value(body("VirtualMachine_List_MinimumSet_Gen.json")).unwrap();
    assert!(page.next_link.is_none());
    let ours = key("rgcompute", "vmss");
    for vm in page.value {
        let Member::Foreign(foreign) =
            flexible::member(&ours.clone().into(), &flexible::scale_set_id(&ours), vm)
        else {
            panic!("a VM reporting no set is not the set's")
        };
        assert_eq!(foreign.reported_set, None);
    }
}
