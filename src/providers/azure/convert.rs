//! azure_mgmt_compute models → domain types. The same functions serve the provider and the
//! fixture tests, so the fixtures check what production parses.

use crate::model::{
    Instance, OrchestrationMode, Placement, PowerState, ProvisioningState, ScaleSetKey, ScaleSetState,
    SetLayout,
};
use azure_mgmt_compute::package_2024_07_01::models;

pub fn scale_set(
    key: &ScaleSetKey,
    set: models::VirtualMachineScaleSet,
    header_etag: Option<String>,
) -> ScaleSetState {
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
    ScaleSetState {
        key: key.clone(),
        location: Some(set.resource.location).filter(|l| !l.is_empty()),
        capacity: set.sku.and_then(|s| s.capacity).map(|c| c.clamp(0, u32::MAX as i64) as u32).unwrap_or(0),
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
    }
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

pub fn instance(key: &ScaleSetKey, vm: models::VirtualMachineScaleSetVm) -> Instance {
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
    // Specialized images carry no osProfile; the instance view still reports the host name.
    let computer_name = named(props.os_profile.as_ref().and_then(|o| o.computer_name.as_ref()))
        .or_else(|| named(props.instance_view.as_ref().and_then(|v| v.computer_name.as_ref())));
    Instance {
        scale_set: key.clone(),
        instance_id,
        vm_id: props.vm_id.clone(),
        name,
        computer_name,
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
        instance(&key(), serde_json::from_value(vm).expect("a VM the SDK model accepts"))
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
}
