//! Real reference data through the clients' own wire types and conversions (tests/fixtures/SOURCES.md).

use azure_mgmt_compute::package_2024_07_01::models;
use scaleguard::model::{OrchestrationMode, PowerState, ProvisioningState, ScaleSetKey};
use scaleguard::octopus::{convert, wire};
use scaleguard::providers::azure::convert as azure_convert;
use serde_json::{json, Map, Value};

fn fixture(path: &str) -> Value {
    let text =
        std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn response_body(name: &str) -> Value {
    fixture(&format!("azure/{name}"))["responses"]["200"]["body"].clone()
}

fn key() -> ScaleSetKey {
    ScaleSetKey {
        provider: "azure".into(),
        subscription_id: "00000000-0000-0000-0000-000000000000".into(),
        resource_group: "rg".into(),
        name: "vmss".into(),
    }
}

#[test]
fn scale_set_get_example_converts() {
    let set: models::VirtualMachineScaleSet =
        serde_json::from_value(response_body("VirtualMachineScaleSet_Get.json")).unwrap();
    let state = azure_convert::scale_set(&key(), set, None).unwrap();
    assert_eq!(state.capacity, 4);
    // The example spells it lower-case; the domain compares case-insensitively.
    assert_eq!(state.provisioning_state, ProvisioningState::Succeeded);
    assert!(!state.overprovision);
    assert_eq!(state.orchestration_mode, OrchestrationMode::Uniform);
    assert_eq!(state.location.as_deref(), Some("westus"));
    assert_eq!(state.etag.as_deref(), Some("\"1\""), "the body's etag is the fallback for the header");
}

#[test]
fn header_etag_wins_over_body_etag() {
    let set: models::VirtualMachineScaleSet =
        serde_json::from_value(response_body("VirtualMachineScaleSet_Get.json")).unwrap();
    let state = azure_convert::scale_set(&key(), set, Some("\"5\"".into())).unwrap();
    assert_eq!(state.etag.as_deref(), Some("\"5\""));
}

#[test]
fn flexible_orchestration_is_detected() {
    let mut body = response_body("VirtualMachineScaleSet_Get.json");
    body["properties"]["orchestrationMode"] = json!("Flexible");
    let set: models::VirtualMachineScaleSet = serde_json::from_value(body).unwrap();
    assert_eq!(
        azure_convert::scale_set(&key(), set, None).unwrap().orchestration_mode,
        OrchestrationMode::Flexible
    );
}

#[test]
fn realistic_vm_list_page_converts() {
    let page: models::VirtualMachineScaleSetVmListResult =
        serde_json::from_value(response_body("VirtualMachineScaleSetVM_List_WithResiliencyView.json"))
            .unwrap();
    assert!(page.next_link.is_none());
    let vms: Vec<_> = page.value.into_iter().map(|vm| azure_convert::instance(&key().into(), vm)).collect();
    assert_eq!(vms.len(), 2);
    assert_eq!(vms[0].instance_id, "1");
    assert_eq!(vms[1].instance_id, "2");
    assert_eq!(vms[0].computer_name.as_deref(), Some("statustes000001"));
    assert_eq!(vms[0].vm_id.as_deref(), Some("eb282db2-12d4-4fc6-8bd5-0c6473a4078c"));
    assert_eq!(vms[0].provisioning_state, ProvisioningState::Succeeded);
    assert_eq!(vms[0].latest_model_applied, Some(true));
    // No $expand=instanceView in this example: the power state is unknown, not guessed.
    assert_eq!(vms[0].power_state, PowerState::Unknown);
}

#[test]
fn generated_maximum_vm_list_parses_tolerantly() {
    let page: models::VirtualMachineScaleSetVmListResult =
        serde_json::from_value(response_body("VirtualMachineScaleSetVM_List_MaximumSet_Gen.json")).unwrap();
    assert_eq!(page.next_link.as_deref(), Some("aaaaaaaaaaaaaa"));
    let vm = azure_convert::instance(&key().into(), page.value.into_iter().next().unwrap());
    assert_eq!(vm.instance_id, "aaaaaaaaaaaa");
    assert_eq!(vm.protected_from_scale_in, Some(true));
    assert_eq!(vm.computer_name.as_deref(), Some("test000000"));
    assert_eq!(vm.power_state, PowerState::Unknown, "a placeholder status code is not a power state");
}

#[test]
fn minimal_vm_list_and_vm_get_parse() {
    let page: models::VirtualMachineScaleSetVmListResult =
        serde_json::from_value(response_body("VirtualMachineScaleSetVM_List_MinimumSet_Gen.json")).unwrap();
    for vm in page.value {
        let instance = azure_convert::instance(&key().into(), vm);
        assert_eq!(instance.provisioning_state, ProvisioningState::Other(String::new()));
    }
    let vm: models::VirtualMachineScaleSetVm =
        serde_json::from_value(response_body("VirtualMachineScaleSetVM_Get_WithUserData.json")).unwrap();
    let instance = azure_convert::instance(&key().into(), vm);
    assert_eq!(instance.provisioning_state, ProvisioningState::Succeeded);
}

#[test]
fn real_traffic_vm_with_instance_view_converts() {
    // Shape from the azure-cli recording, with an instance view as $expand=instanceView adds it.
    let vm: models::VirtualMachineScaleSetVm = serde_json::from_value(json!({
        "name": "vmss1_4", "id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss1/virtualMachines/4",
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines", "location": "westus", "tags": {},
        "instanceId": "4", "sku": {"name": "Standard_DS1_v2", "tier": "Standard"},
        "properties": {"latestModelApplied": true, "modelDefinitionApplied": "VirtualMachineScaleSet",
            "provisioningState": "Succeeded", "hardwareProfile": {"vmSize": "Standard_DS1_v2"},
            "vmId": "826580a1-787e-4146-b93c-d9ff6b5dd9ce",
            "osProfile": {"computerName": "vmss1e119000004"},
            "instanceView": {"statuses": [
                {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded"},
                {"code": "PowerState/deallocated", "level": "Info", "displayStatus": "VM deallocated"}]}},
        "etag": "\"5\""
    }))
    .unwrap();
    let instance = azure_convert::instance(&key().into(), vm);
    assert_eq!(instance.instance_id, "4");
    assert_eq!(instance.name, "vmss1_4");
    assert_eq!(instance.computer_name.as_deref(), Some("vmss1e119000004"));
    assert_eq!(instance.power_state, PowerState::Deallocated);
    assert_eq!(instance.protected_from_scale_in, Some(false));
}

#[test]
fn capacity_patch_body_matches_the_update_example() {
    let example = fixture("azure/VirtualMachineScaleSet_Update_MaximumSet_Gen.json");
    let capacity = example["parameters"]["parameters"]["sku"]["capacity"].clone();
    let mut update = models::VirtualMachineScaleSetUpdate::new();
    update.sku = Some(models::Sku { capacity: capacity.as_i64(), ..models::Sku::new() });
    assert_eq!(serde_json::to_value(&update).unwrap(), json!({"sku": {"capacity": capacity}}));
}

// ---- Octopus: our wire types read the Swagger subset's field names -----------------------------

/// An example object for a Swagger definition: every property present, with a non-default value.
fn example(definitions: &Map<String, Value>, name: &str) -> Value {
    let mut object = Map::new();
    // References to definitions outside the subset become empty objects.
    let Some(properties) = definitions.get(name).and_then(|d| d["properties"].as_object()) else {
        return Value::Object(object);
    };
    for (field, schema) in properties {
        object.insert(field.clone(), value_for(definitions, schema));
    }
    Value::Object(object)
}

fn value_for(definitions: &Map<String, Value>, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        return example(definitions, reference.rsplit('/').next().unwrap());
    }
    match schema["type"].as_str() {
        Some("boolean") => json!(true),
        Some("integer") | Some("number") => json!(7),
        Some("array") => json!([value_for(definitions, &schema["items"])]),
        Some("object") => json!({"Page.Next": "/api/next"}),
        _ if schema["format"] == "date-time" => json!("2024-08-26T08:36:10+00:00"),
        _ => match schema["enum"].as_array() {
            Some(values) => values.last().cloned().unwrap(),
            None if schema["format"] == "date-time" => json!("2024-08-26T08:36:10+00:00"),
            None => json!("x"),
        },
    }
}

fn definitions() -> Map<String, Value> {
    fixture("octopus/swagger_subset.json")["definitions"].as_object().unwrap().clone()
}

#[test]
fn machine_fields_match_the_swagger_names() {
    let defs = definitions();
    let mut body = example(&defs, "DeploymentTargetResource");
    body["HealthStatus"] = json!("Healthy");
    let machine: wire::MachineResource = serde_json::from_value(body).unwrap();
    assert_eq!(machine.roles, vec!["x"]);
    assert_eq!(machine.environment_ids, vec!["x"]);
    assert!(machine.is_disabled);
    assert_eq!(machine.machine_policy_id.as_deref(), Some("x"));
    assert_eq!(machine.thumbprint.as_deref(), Some("x"));
    let target = convert::target(machine, &mut convert::Repeated::default());
    assert_eq!(&*target.endpoint.communication_style, "TentaclePassive");
    assert!(target.health.is_deployable());
}

#[test]
fn collection_fields_match_the_swagger_names() {
    let defs = definitions();
    let page: wire::Collection<wire::MachineResource> =
        serde_json::from_value(example(&defs, "ResourceCollection_of_DeploymentTargetResource")).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.total_results, Some(7));
    assert_eq!(page.items_per_page, Some(7));
    assert_eq!(page.next_link(), Some("/api/next"));
}

#[test]
fn task_deployment_release_and_root_fields_match_the_swagger_names() {
    let defs = definitions();
    let mut task = example(&defs, "TaskResource");
    task["State"] = json!("Executing");
    task["Arguments"] = json!({"DeploymentId": "Deployments-1"});
    let task = convert::task(serde_json::from_value(task).unwrap()).unwrap();
    assert_eq!(task.server_node.as_deref(), Some("x"));
    assert_eq!(task.deployment_id.as_deref(), Some("Deployments-1"));
    assert!(task.queue_time.is_some() && task.start_time.is_some() && task.completed_time.is_some());

    let deployment: wire::DeploymentResource =
        serde_json::from_value(example(&defs, "DeploymentResource")).unwrap();
    let deployment = convert::deployment(deployment, None);
    assert_eq!(deployment.specific_machine_ids, vec!["x"]);
    assert_eq!(deployment.deployed_to_machine_ids, Some(vec!["x".to_string()]));
    assert_eq!(deployment.task_id.as_deref(), Some("x"));
    assert_eq!(deployment.release_id, "x");
    assert!(deployment.created.is_some());

    let release: wire::ReleaseResource = serde_json::from_value(example(&defs, "ReleaseResource")).unwrap();
    assert_eq!(convert::release(release, "Projects-1").version, "x");

    let root: wire::RootResource = serde_json::from_value(example(&defs, "RootResource")).unwrap();
    assert_eq!(root.version, "x");
    assert_eq!(root.api_version.as_deref(), Some("x"));
}

#[test]
fn node_and_machine_policy_fields_match_the_swagger_names() {
    let defs = definitions();
    // The summary's entries are the node resource plus status fields (IsOffline, RunningTaskCount,
    // ...); the resource's own names must be the ones we PUT back.
    let node = example(&defs, "OctopusServerNodeResource");
    for field in ["Id", "Name", "IsInMaintenanceMode", "MaxConcurrentTasks"] {
        assert!(node.get(field).is_some(), "{field} is not in the swagger node resource");
    }
    let mut status = node.clone();
    status["IsOffline"] = json!(false);
    status["RunningTaskCount"] = json!(2);
    let node = convert::node(serde_json::from_value(status).unwrap());
    assert!(node.drain);
    assert_eq!(node.max_concurrent_tasks, 7);
    assert_eq!(node.running_tasks, 2);

    let mut policy = example(&defs, "MachinePolicyResource");
    policy["MachineCleanupPolicy"] = json!({"DeleteMachinesBehavior": "DeleteUnavailableMachines", "DeleteMachinesElapsedTimeSpan": "1.00:00:00"});
    let policy = convert::machine_policy(serde_json::from_value(policy).unwrap());
    assert!(policy.deletes_unavailable_machines);
    assert_eq!(policy.delete_after, Some(std::time::Duration::from_secs(86_400)));
    let cleanup = &definitions()["MachineCleanupPolicy"]["properties"];
    assert!(
        cleanup.get("DeleteMachinesBehavior").is_some()
            && cleanup.get("DeleteMachinesElapsedTimeSpan").is_some()
    );
}
