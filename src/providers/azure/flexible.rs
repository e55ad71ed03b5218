//! Flexible orchestration: the set's VMs are ordinary `Microsoft.Compute/virtualMachines`
//! resources whose `properties.virtualMachineScaleSet.id` names the set (pure: URLs and
//! conversions; the provider does the IO).
//!
//! Listing is VirtualMachines_List in the set's resource group with
//! `$filter='virtualMachineScaleSet/id' eq '<set id>'` and `$expand=instanceView` (the 2024-07-01
//! spec allows `$expand` only together with a valid `$filter`): the model (osProfile, vmId,
//! timeCreated, zones) and the run-time status (power, provisioning) in one paged answer, one
//! request per page and none per VM. The subscription-wide VirtualMachines_ListAll with
//! `statusOnly=true` costs the same one request per page but needs read access to the whole
//! subscription, and its spec promises run-time status, not the model whose `osProfile` names a
//! VM whose instance view lacks a computer name (stopped, still creating).
//!
//! Identity: the VM name (`{set}_{8 hex}`) is the instance id, `vmId` the stable identity, the
//! computer name (`{prefix}{6 chars}`) what targets are matched on. The VM resource carries no
//! `latestModelApplied` and no `protectionPolicy`: both are unknown, never guessed. Set ids are
//! compared case-insensitively (ARM may spell a resource group in another case).
//!
//! Specific VMs are deleted with VirtualMachines_Delete on each VM resource (the spec's DELETE
//! `.../virtualMachines/{vmName}`, 200/202/204, long-running). VirtualMachineScaleSets_DeleteInstances
//! takes "instance IDs" and its spec does not say that Flexible VM names are accepted, so it is not
//! used for Flexible sets.

use super::convert::{computer_names, status};
use crate::completeness::canonical_vm_id;
use crate::model::{Instance, Placement, PowerState, ProvisioningState, ScaleSetKey, SharedKey};
use crate::snapshot::ForeignVm;
use azure_core::Url;
use azure_mgmt_compute::package_2024_07_01::models;

/// The scale set's ARM resource id, as scaleguard spells it from the config.
pub fn scale_set_id(key: &ScaleSetKey) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
        key.subscription_id, key.resource_group, key.name
    )
}

/// The `$filter` value that selects the VMs of the set `set_id`.
pub fn filter(set_id: &str) -> String {
    format!("'virtualMachineScaleSet/id' eq '{set_id}'")
}

/// The first page of the set's VM list: the resource group's VMs filtered on the set, with
/// their instance views.
pub fn list_url(endpoint: &Url, key: &ScaleSetKey, set_id: &str, api_version: &str) -> Url {
    let mut url = endpoint.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.clear().extend([
            "subscriptions",
            &key.subscription_id,
            "resourceGroups",
            &key.resource_group,
            "providers",
            "Microsoft.Compute",
            "virtualMachines",
        ]);
    }
    url.query_pairs_mut()
        .append_pair("api-version", api_version)
        .append_pair("$filter", &filter(set_id))
        .append_pair("$expand", "instanceView");
    url
}

/// Can `name` be a VM resource's name ("Naming rules and restrictions for Azure resources",
/// Microsoft.Compute/virtualMachines: alphanumerics, underscores, periods and hyphens, not ending
/// in a period or hyphen)? Anything else, `..` above all, could move a request path that a
/// client library builds by formatting, so it is never sent.
pub fn is_vm_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.ends_with(['.', '-'])
}

/// One VM resource's URL (the path segment encoded), with the api-version.
pub fn vm_url(endpoint: &Url, key: &ScaleSetKey, vm_name: &str, api_version: &str) -> Url {
    let mut url = endpoint.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.clear().extend([
            "subscriptions",
            &key.subscription_id,
            "resourceGroups",
            &key.resource_group,
            "providers",
            "Microsoft.Compute",
            "virtualMachines",
            vm_name,
        ]);
    }
    url.query_pairs_mut().append_pair("api-version", api_version);
    url
}

/// A listed VM: one of the set's, or one that reports another set (or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Instance(Box<Instance>),
    Foreign(ForeignVm),
}

/// Same ARM resource id? Compared case-insensitively, a trailing slash ignored.
pub fn same_resource_id(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/').eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

/// A VM of the set's listing, judged against `set_id` (the set it was listed for).
pub fn member(key: &SharedKey, set_id: &str, vm: models::VirtualMachine) -> Member {
    let name = vm.resource.name.clone().unwrap_or_default();
    let props = vm.properties.unwrap_or_default();
    let reported_set = props.virtual_machine_scale_set.as_ref().and_then(|s| s.id.clone());
    if !reported_set.as_deref().is_some_and(|reported| same_resource_id(reported, set_id)) {
        // Shown to the operator: server text, cleaned and capped.
        let shown = |text: &str| crate::untrusted::server_text(text);
        return Member::Foreign(ForeignVm {
            name: shown(&name),
            vm_id: props.vm_id.as_deref().map(shown),
            reported_set: reported_set.as_deref().map(shown),
        });
    }
    let view = props.instance_view.as_ref();
    let statuses = view.map(|v| v.statuses.as_slice()).unwrap_or_default();
    let provisioning = props
        .provisioning_state
        .clone()
        .or_else(|| status(statuses, "ProvisioningState"))
        .unwrap_or_default();
    // The instance view of a stopped or still-creating VM may lack the computer name; the model's
    // osProfile has it. A guest that renamed its host answers to both names.
    let (computer_name, guest_computer_name) = computer_names(
        props.os_profile.as_ref().and_then(|o| o.computer_name.as_ref()),
        view.and_then(|v| v.computer_name.as_ref()),
    );
    Member::Instance(Box::new(Instance {
        scale_set: SharedKey::clone(key),
        instance_id: name.clone(),
        // A GUID, compared case-insensitively everywhere: kept in one spelling.
        vm_id: props.vm_id.as_deref().map(canonical_vm_id),
        name,
        computer_name,
        guest_computer_name,
        provisioning_state: ProvisioningState::parse(&provisioning),
        power_state: status(statuses, "PowerState")
            .map(|p| PowerState::parse(&p))
            .unwrap_or(PowerState::Unknown),
        latest_model_applied: None,
        protected_from_scale_in: None,
        placement: Placement {
            zone: vm.zones.first().cloned(),
            fault_domain: props.platform_fault_domain.or_else(|| view.and_then(|v| v.platform_fault_domain)),
            created_at: props.time_created,
        },
        aws: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> ScaleSetKey {
        ScaleSetKey {
            provider: "azure".into(),
            subscription_id: "sub".into(),
            resource_group: "rg-flex".into(),
            name: "vmss-flex".into(),
        }
    }

    fn vm(set_id: Option<&str>, properties: serde_json::Value) -> models::VirtualMachine {
        let mut properties = properties;
        if let Some(id) = set_id {
            properties["virtualMachineScaleSet"] = json!({ "id": id });
        }
        serde_json::from_value(json!({"name": "vmss-flex_0a1b2c3d", "location": "westeurope",
                                      "zones": ["2"], "properties": properties}))
        .expect("a VM the SDK model accepts")
    }

    #[test]
    fn the_set_id_matches_whatever_the_case_of_the_resource_group() {
        let reported = "/subscriptions/sub/resourceGroups/RG-FLEX/providers/Microsoft.Compute/virtualMachineScaleSets/VMSS-flex";
        let member = member(&key().into(), &scale_set_id(&key()), vm(Some(reported), json!({"vmId": "v1"})));
        let Member::Instance(instance) = member else { panic!("a VM of the set: {member:?}") };
        assert_eq!(instance.instance_id, "vmss-flex_0a1b2c3d");
        assert_eq!(instance.placement.zone.as_deref(), Some("2"));
        assert_eq!((instance.latest_model_applied, instance.protected_from_scale_in), (None, None));
    }

    #[test]
    fn a_vm_of_another_set_or_of_none_is_foreign() {
        let other = "/subscriptions/sub/resourceGroups/rg-flex/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-other";
        let found = member(&key().into(), &scale_set_id(&key()), vm(Some(other), json!({})));
        assert_eq!(
            found,
            Member::Foreign(ForeignVm {
                name: "vmss-flex_0a1b2c3d".into(),
                vm_id: None,
                reported_set: Some(other.into())
            })
        );
        let none = member(&key().into(), &scale_set_id(&key()), vm(None, json!({})));
        assert!(matches!(none, Member::Foreign(ForeignVm { reported_set: None, .. })), "{none:?}");
    }

    #[test]
    fn a_creating_vm_is_named_by_its_os_profile() {
        let properties = json!({"osProfile": {"computerName": "flexweb1a2b3c"},
                                "instanceView": {"statuses": [{"code": "ProvisioningState/creating"}]}});
        let set_id = scale_set_id(&key());
        let Member::Instance(instance) = member(&key().into(), &set_id, vm(Some(&set_id), properties)) else {
            panic!("a VM of the set")
        };
        assert_eq!(instance.computer_name.as_deref(), Some("flexweb1a2b3c"));
        assert_eq!(instance.provisioning_state, ProvisioningState::Creating);
        assert_eq!(instance.power_state, PowerState::Unknown);
    }

    #[test]
    fn the_list_url_carries_the_filter_and_the_expand() {
        let endpoint = Url::parse("http://127.0.0.1:4000").unwrap();
        let url = list_url(&endpoint, &key(), &scale_set_id(&key()), "2024-07-01");
        assert_eq!(
            url.path(),
            "/subscriptions/sub/resourceGroups/rg-flex/providers/Microsoft.Compute/virtualMachines"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        assert!(pairs.contains(&("$expand".into(), "instanceView".into())), "{pairs:?}");
        assert!(pairs.contains(&(
            "$filter".into(),
            "'virtualMachineScaleSet/id' eq '/subscriptions/sub/resourceGroups/rg-flex/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-flex'".into()
        )));
        let vm = vm_url(&endpoint, &key(), "a/b?c", "2024-07-01");
        assert!(vm.path().ends_with("/virtualMachines/a%2Fb%3Fc"), "a name is one encoded segment: {vm}");
    }

    #[test]
    fn only_names_a_vm_can_have_are_vm_names() {
        assert!(is_vm_name("vmss-flex_0a1b2c3d"));
        for bad in [
            "",
            "..",
            "x/../../rg-prod/providers/Microsoft.Compute/virtualMachines/db01",
            "%2e%2e",
            "vm.",
            "a b",
        ] {
            assert!(!is_vm_name(bad), "{bad}");
        }
    }
}
