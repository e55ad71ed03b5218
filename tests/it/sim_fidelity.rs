//! The simulator's wire shapes against real reference data (tests/fixtures, see SOURCES.md):
//! ARM JSON through azure_mgmt_compute 0.21's own model types, Octopus JSON against the Swagger
//! subset's property names.

use crate::support::sim_harness::{start, API};
use azure_mgmt_compute::package_2024_07_01::models::{
    VirtualMachineScaleSet, VirtualMachineScaleSetVm, VirtualMachineScaleSetVmListResult,
};
use serde_json::{json, Value};

fn fixture(path: &str) -> Value {
    let text =
        std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn example_body(file: &str) -> Value {
    fixture(&format!("azure/{file}"))["responses"]["200"]["body"].clone()
}

#[test]
fn real_examples_parse_with_the_client_types() {
    let set: VirtualMachineScaleSet =
        serde_json::from_value(example_body("VirtualMachineScaleSet_Get.json")).unwrap();
    assert_eq!(set.sku.unwrap().capacity, Some(4));
    assert_eq!(set.etag.as_deref(), Some("\"1\""));
    assert!(set.properties.unwrap().provisioning_state.unwrap().eq_ignore_ascii_case("succeeded"));

    let list: VirtualMachineScaleSetVmListResult =
        serde_json::from_value(example_body("VirtualMachineScaleSetVM_List_WithResiliencyView.json"))
            .unwrap();
    assert_eq!(list.value.len(), 2);
    assert_eq!(list.value[0].instance_id.as_deref(), Some("1"));
    assert!(list.value[0].properties.as_ref().unwrap().instance_view.is_none());

    let generated: VirtualMachineScaleSetVmListResult =
        serde_json::from_value(example_body("VirtualMachineScaleSetVM_List_MaximumSet_Gen.json")).unwrap();
    assert!(generated.next_link.is_some());
}

#[tokio::test]
async fn simulator_arm_json_parses_with_the_client_types() {
    let h = start("scale-in").await;
    let set: VirtualMachineScaleSet =
        serde_json::from_value(h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await).unwrap();
    assert_eq!(set.sku.as_ref().unwrap().capacity, Some(6));
    assert_eq!(set.etag.as_deref(), Some("\"1\""));
    let properties = set.properties.unwrap();
    assert_eq!(properties.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(properties.overprovision, Some(true));
    let prefix = properties.virtual_machine_profile.unwrap().os_profile.unwrap().computer_name_prefix;
    assert_eq!(prefix.as_deref(), Some("vmssweb"));

    let page =
        h.arm_json(&format!("{}/virtualMachines?{API}&$expand=instanceView", h.set_url("vmss-web"))).await;
    let list: VirtualMachineScaleSetVmListResult = serde_json::from_value(page).unwrap();
    assert_eq!(list.value.len(), 6);
    assert!(list.next_link.is_none());
    let vm: &VirtualMachineScaleSetVm = &list.value[5];
    assert_eq!(vm.instance_id.as_deref(), Some("5"));
    assert!(vm.etag.is_some());
    let p = vm.properties.as_ref().unwrap();
    assert_eq!(p.os_profile.as_ref().unwrap().computer_name.as_deref(), Some("vmssweb000005"));
    assert!(uuid::Uuid::parse_str(p.vm_id.as_deref().unwrap()).is_ok());
    assert_eq!(p.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(p.protection_policy.as_ref().unwrap().protect_from_scale_in, Some(true));
    let codes: Vec<_> =
        p.instance_view.as_ref().unwrap().statuses.iter().filter_map(|s| s.code.clone()).collect();
    assert_eq!(codes, ["ProvisioningState/succeeded", "PowerState/running"]);
}

/// Every property the Swagger definition names, in the same casing (bookkeeping fields aside).
fn assert_has_swagger_properties(definition: &str, value: &Value) {
    let swagger = fixture("octopus/swagger_subset.json");
    let properties = swagger["definitions"][definition]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{definition}"));
    let skip = ["LastModifiedBy", "LastModifiedOn"];
    let missing: Vec<&String> = properties
        .keys()
        .filter(|name| !skip.contains(&name.as_str()))
        .filter(|name| value.get(name.as_str()).is_none())
        .collect();
    assert!(missing.is_empty(), "{definition}: simulator JSON lacks {missing:?}: {value}");
}

#[tokio::test]
async fn simulator_octopus_json_has_the_swagger_property_names() {
    let h = start("steady").await;
    let machines = h.octo_get("/Spaces-1/machines").await;
    let mut collection = machines.clone();
    collection["Id"] = json!(null); // collections carry no Id on the wire in practice
    assert_has_swagger_properties("ResourceCollection_of_DeploymentTargetResource", &collection);
    let machine = &machines["Items"][0];
    assert_has_swagger_properties("DeploymentTargetResource", machine);
    assert_has_swagger_properties("EndpointResource", &machine["Endpoint"]);

    let node = h.octo_get("/octopusservernodes/OctopusServerNodes-OCTO-NODE-1").await;
    assert_has_swagger_properties("OctopusServerNodeResource", &node);
    let details = h.octo_get("/octopusservernodes/OctopusServerNodes-OCTO-NODE-1/details").await;
    assert_has_swagger_properties("OctopusServerNodeDetailsResource", &details);

    let tasks = h.octo_get("/tasks").await;
    assert_has_swagger_properties("TaskResource", &tasks["Items"][0]);
    let deployments = h.octo_get("/Spaces-1/deployments").await;
    assert_has_swagger_properties("DeploymentResource", &deployments["Items"][0]);
    let releases = h.octo_get("/Spaces-1/projects/Projects-4/releases").await;
    assert_has_swagger_properties("ReleaseResource", &releases["Items"][0]);
    let policy = h.octo_get("/Spaces-1/machinepolicies/MachinePolicies-1").await;
    assert_has_swagger_properties("MachinePolicyResource", &policy);
    assert_has_swagger_properties("MachineCleanupPolicy", &policy["MachineCleanupPolicy"]);
    let root: Value = h.http.get(h.octo("")).send().await.unwrap().json().await.unwrap();
    let mut root_checked = root.clone();
    root_checked["Id"] = root.get("Id").cloned().unwrap_or(json!(null));
    assert_has_swagger_properties("RootResource", &root_checked);
}
