//! azure_mgmt_compute models → domain types. The same functions serve the provider and the
//! fixture tests, so the fixtures check what production parses.

use super::paging::MAX_SET_CAPACITY;
use crate::completeness::canonical_vm_id;
use crate::matching::normalize_name;
use crate::model::{
    Instance, OrchestrationMode, Placement, PowerState, ProvisioningState, ScaleSetKey, ScaleSetState,
    SetLayout, SharedKey,
};
use azure_mgmt_compute::package_2024_07_01::models;

/// The scale set as the domain sees it; Err names what in the answer cannot be believed.
///
/// `sku.capacity` must be a VM count: absent, null or negative it is unknown, never 0 (a
/// capacity of 0 makes any partial listing look complete), and above the 1,000 VMs a scale set
/// can hold ("Working with large virtual machine scale sets",
/// <https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-placement-groups>)
/// it is not a count at all (and would let paging run unbounded).
pub fn scale_set(
    key: &ScaleSetKey,
    set: models::VirtualMachineScaleSet,
    header_etag: Option<String>,
) -> Result<ScaleSetState, String> {
    let capacity = match set.sku.as_ref().and_then(|s| s.capacity) {
        None => {
            return Err("the scale set has no sku.capacity (absent or null): how many VMs it should \
                        hold cannot be read, so no listing of it could be proven complete"
                .into())
        }
        Some(c) if c < 0 => return Err(format!("sku.capacity is {c}, not a number of VMs")),
        Some(c) if c > i64::from(MAX_SET_CAPACITY) => {
            return Err(format!(
                "sku.capacity is {c}, more than the {MAX_SET_CAPACITY} VMs a scale set can hold"
            ))
        }
        Some(c) => c as u32,
    };
    let props = set.properties.unwrap_or_default();
    let orchestration_mode = match props.orchestration_mode {
        Some(models::OrchestrationMode::Flexible) => OrchestrationMode::Flexible,
        Some(models::OrchestrationMode::UnknownValue(ref raw)) if raw.eq_ignore_ascii_case("flexible") => {
            OrchestrationMode::Flexible
        }
        _ => OrchestrationMode::Uniform,
    };
    let (scale_in_rules, force_deletion) =
        props.scale_in_policy.map(|p| (p.rules, p.force_deletion)).unwrap_or_default();
    Ok(ScaleSetState {
        key: key.clone(),
        location: Some(set.resource.location).filter(|l| !l.is_empty()),
        capacity,
        provisioning_state: ProvisioningState::parse(props.provisioning_state.as_deref().unwrap_or("")),
        // ARM's default for Uniform sets is on; Flexible sets never overprovision.
        overprovision: orchestration_mode == OrchestrationMode::Uniform
            && props.overprovision.unwrap_or(true),
        orchestration_mode,
        scale_in_rules,
        // The HTTP ETag header and the body's etag carry the same value; prefer the header.
        etag: header_etag.or(set.etag),
        last_changed: props.time_created,
        layout: SetLayout {
            resource_id: set.resource.id.filter(|id| !id.trim().is_empty()),
            zones: set.zones,
            fault_domain_count: props.platform_fault_domain_count,
            force_deletion,
        },
        aws: None,
    })
}

/// Is `vm`, listed for the Uniform set `key`, one of its VMs? Its `id` must lie under the set's
/// id (compared case-insensitively, as ARM does), end in its instance id, and its `name` must be
/// `<set>_<instanceId>`; the instance id must be written as ARM writes it (a decimal number
/// without leading zeros: "01" would count as a second VM beside "1"). Err names the VM.
pub fn membership(key: &ScaleSetKey, vm: &models::VirtualMachineScaleSetVm) -> Result<(), String> {
    let name = vm.resource.name.as_deref().unwrap_or_default();
    let shown = |text: &str| crate::untrusted::server_text(text);
    let instance_id = match vm.instance_id.as_deref() {
        Some(id) => id,
        None => name.rsplit_once('_').map_or("", |(_, id)| id),
    };
    let canonical = !instance_id.is_empty()
        && instance_id.bytes().all(|b| b.is_ascii_digit())
        && (instance_id == "0" || !instance_id.starts_with('0'));
    if !canonical {
        return Err(format!(
            "VM `{}` has instance id `{}`, not a number as ARM writes one, so it cannot be told apart \
             from the set's other VMs",
            shown(name),
            shown(instance_id)
        ));
    }
    let expected_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}/virtualMachines/{instance_id}",
        key.subscription_id, key.resource_group, key.name
    );
    match vm.resource.id.as_deref() {
        Some(id) if id.trim_end_matches('/').eq_ignore_ascii_case(&expected_id) => {}
        Some(id) => {
            return Err(format!("VM `{}` has id `{}`, which is not a VM of {key}", shown(name), shown(id)))
        }
        None => {
            return Err(format!("VM `{}` has no id, so it cannot be shown to be a VM of {key}", shown(name)))
        }
    }
    let expected_name = format!("{}_{instance_id}", key.name);
    if !name.eq_ignore_ascii_case(&expected_name) {
        return Err(format!(
            "VM `{}` with instance id {instance_id} is not named `{expected_name}`, as a VM of {key} is",
            shown(name)
        ));
    }
    Ok(())
}

/// The code after `prefix/` of the first status with that prefix (`PowerState/running` →
/// `running`; `ProvisioningState/failed/Error` → `failed`), prefixes compared case-insensitively.
pub(super) fn status(statuses: &[models::InstanceViewStatus], prefix: &str) -> Option<String> {
    statuses.iter().filter_map(|s| s.code.as_deref()).find_map(|code| {
        let (head, rest) = code.split_once('/')?;
        head.eq_ignore_ascii_case(prefix).then(|| rest.split('/').next().unwrap_or(rest).to_string())
    })
}

/// A blank name is no name: it must never match (or hide) a target.
pub(super) fn named(name: Option<&String>) -> Option<String> {
    name.filter(|n| !n.trim().is_empty()).cloned()
}

/// A VM's computer name and, where it differs, the guest's: `osProfile.computerName` is fixed at
/// creation and specialized images carry no osProfile, while the instance view reports the host
/// name the guest uses now (a domain join or a hostname script may have renamed it, and the
/// tentacle then registers under the new name). The VM answers to both.
pub(super) fn computer_names(
    profile: Option<&String>,
    guest: Option<&String>,
) -> (Option<String>, Option<String>) {
    match (named(profile), named(guest)) {
        (Some(profile), Some(guest)) if normalize_name(&profile) != normalize_name(&guest) => {
            (Some(profile), Some(guest))
        }
        (Some(profile), _) => (Some(profile), None),
        (None, guest) => (guest, None),
    }
}

/// `key` is shared by every VM of the listing (one copy of the set's key, not one per VM).
pub fn instance(key: &SharedKey, vm: models::VirtualMachineScaleSetVm) -> Instance {
    let props = vm.properties.unwrap_or_default();
    let statuses = props.instance_view.as_ref().map(|v| v.statuses.as_slice()).unwrap_or_default();
    // The instance view's provisioning status is fresher than properties.provisioningState.
    let provisioning = props
        .provisioning_state
        .clone()
        .or_else(|| status(statuses, "ProvisioningState"))
        .unwrap_or_default();
    let name = vm.resource.name.clone().unwrap_or_default();
    let instance_id = vm
        .instance_id
        .clone()
        .or_else(|| name.rsplit_once('_').map(|(_, id)| id.to_string()))
        .unwrap_or_default();
    let (computer_name, guest_computer_name) = computer_names(
        props.os_profile.as_ref().and_then(|o| o.computer_name.as_ref()),
        props.instance_view.as_ref().and_then(|v| v.computer_name.as_ref()),
    );
    Instance {
        scale_set: SharedKey::clone(key),
        instance_id,
        // A GUID, compared case-insensitively everywhere: kept in one spelling.
        vm_id: props.vm_id.as_deref().map(canonical_vm_id),
        name,
        computer_name,
        guest_computer_name,
        provisioning_state: ProvisioningState::parse(&provisioning),
        power_state: status(statuses, "PowerState")
            .map(|p| PowerState::parse(&p))
            .unwrap_or(PowerState::Unknown),
        latest_model_applied: props.latest_model_applied,
        // A Uniform VM without a protection policy is not protected (the API has the field).
        protected_from_scale_in: Some(
            props.protection_policy.as_ref().and_then(|p| p.protect_from_scale_in).unwrap_or(false),
        ),
        placement: Placement {
            zone: vm.zones.first().cloned(),
            fault_domain: props.instance_view.as_ref().and_then(|v| v.platform_fault_domain),
            created_at: props.time_created,
        },
        aws: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg".into(),
            name: "vmss".into(),
        }
    }

    fn parse(properties: serde_json::Value) -> Instance {
        let vm = serde_json::json!({"name": "vmss_3", "location": "westus", "instanceId": "3", "properties": properties});
        instance(&key().into(), serde_json::from_value(vm).expect("a VM the SDK model accepts"))
    }

    #[test]
    fn a_specialized_image_vm_is_named_by_its_instance_view() {
        // Specialized images have no osProfile; the instance view still reports the host name.
        let vm = parse(serde_json::json!({"instanceView": {"computerName": "vmss000003"}}));
        assert_eq!(vm.computer_name.as_deref(), Some("vmss000003"));
    }

    #[test]
    fn null_or_empty_computer_names_fall_back_to_the_instance_view_or_read_as_none() {
        let view = serde_json::json!({"computerName": "vmss000003"});
        let empty = parse(serde_json::json!({"osProfile": {"computerName": ""}, "instanceView": view}));
        assert_eq!(empty.computer_name.as_deref(), Some("vmss000003"));
        let null = parse(serde_json::json!({"osProfile": {"computerName": null}}));
        assert_eq!(null.computer_name, None);
        let blank = parse(
            serde_json::json!({"osProfile": {"computerName": " "}, "instanceView": {"computerName": ""}}),
        );
        assert_eq!(blank.computer_name, None);
    }

    fn member(id: &str, name: &str, instance_id: Option<&str>) -> models::VirtualMachineScaleSetVm {
        let mut vm = serde_json::json!({"name": name, "location": "westus", "id": id, "properties": {}});
        if let Some(instance_id) = instance_id {
            vm["instanceId"] = serde_json::json!(instance_id);
        }
        serde_json::from_value(vm).expect("a VM the SDK model accepts")
    }

    const SET_ID: &str =
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss";

    #[test]
    fn a_vm_of_the_set_is_a_member_whatever_the_case_of_its_id() {
        let id = format!("{}/virtualMachines/3", SET_ID.to_ascii_lowercase());
        assert_eq!(membership(&key(), &member(&id, "VMSS_3", Some("3"))), Ok(()));
        assert_eq!(
            membership(&key(), &member(&format!("{SET_ID}/virtualMachines/0"), "vmss_0", Some("0"))),
            Ok(())
        );
    }

    #[test]
    fn a_vm_of_another_set_or_with_a_name_or_id_that_does_not_fit_is_refused_by_name() {
        let other = SET_ID.replace("vmss", "vmss-other");
        let refused = [
            member(&format!("{other}/virtualMachines/3"), "vmss_3", Some("3")),
            member(&format!("{SET_ID}/virtualMachines/4"), "vmss_3", Some("3")),
            member(&format!("{SET_ID}/virtualMachines/3"), "vmss-other_3", Some("3")),
            member(&format!("{SET_ID}/virtualMachines/01"), "vmss_01", Some("01")),
            member(&format!("{SET_ID}/virtualMachines/x"), "vmss_x", Some("x")),
            member(&format!("{SET_ID}/virtualMachines/3/../4"), "vmss_3", Some("3")),
        ];
        for vm in refused {
            let name = vm.resource.name.clone().unwrap();
            let err = membership(&key(), &vm).expect_err(&name);
            assert!(err.contains(&format!("`{name}`")), "{err}");
        }
        let mut no_id = member("x", "vmss_3", Some("3"));
        no_id.resource.id = None;
        assert!(membership(&key(), &no_id).is_err_and(|e| e.contains("no id")));
    }

    #[test]
    fn a_renamed_guest_keeps_both_names_and_vm_ids_are_kept_in_one_spelling() {
        let vm = parse(serde_json::json!({
            "vmId": "C9FBA417-0000-4000-8000-00000000000A",
            "osProfile": {"computerName": "vmss000003"},
            "instanceView": {"computerName": "WEB-PROD-03"}
        }));
        assert_eq!(vm.computer_name.as_deref(), Some("vmss000003"));
        assert_eq!(vm.guest_computer_name.as_deref(), Some("WEB-PROD-03"));
        assert_eq!(vm.vm_id.as_deref(), Some("c9fba417-0000-4000-8000-00000000000a"));
        // The same name in another case or with a DNS suffix is one name.
        let same = parse(serde_json::json!({
            "osProfile": {"computerName": "vmss000003"},
            "instanceView": {"computerName": "VMSS000003.corp.local"}
        }));
        assert_eq!(same.guest_computer_name, None);
    }

    fn set_with(sku: serde_json::Value) -> models::VirtualMachineScaleSet {
        serde_json::from_value(serde_json::json!({"location": "westus", "sku": sku, "properties": {}}))
            .unwrap()
    }

    #[test]
    fn a_capacity_that_is_no_vm_count_is_an_error_naming_sku_capacity() {
        for sku in [
            serde_json::json!({"name": "Standard_D2s_v3"}),
            serde_json::json!({"capacity": null}),
            serde_json::json!({"capacity": -1}),
            serde_json::json!({"capacity": 1001}),
            serde_json::json!({"capacity": 4_294_967_295u64}),
        ] {
            let err = scale_set(&key(), set_with(sku.clone()), None).expect_err(&sku.to_string());
            assert!(err.contains("sku.capacity"), "{sku}: {err}");
        }
        for capacity in [0, 1000] {
            let state = scale_set(&key(), set_with(serde_json::json!({"capacity": capacity})), None).unwrap();
            assert_eq!(state.capacity, capacity);
        }
    }
}
