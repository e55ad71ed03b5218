//! The Flexible half of the simulated ARM (api-version 2024-07-01): a Flexible set's VMs are
//! `Microsoft.Compute/virtualMachines` resources in the spec's shape, listed by
//! VirtualMachines_List in the resource group with `$filter='virtualMachineScaleSet/id' eq '<id>'`
//! and `$expand=instanceView` (only valid with a valid filter), at most 50 a page, absolute
//! nextLinks with an opaque skip token; VirtualMachines_Get and _Delete on one VM; the set's own
//! JSON in Flexible mode (no overprovisioning, zones, fault domains). The scale set's per-instance
//! API answers 400 for a Flexible set, as Azure does ("instanceId must be a number").
//!
//! Faults on the VM list: `filter_rejected` (400), `foreign_vm` (a VM reports another set),
//! `unencoded_next_link` (the `$filter` raw in the nextLink), and the listing faults the Uniform
//! list knows (`truncated_page`, `duplicate_vm`, computer names taken away, a foreign or looping
//! nextLink).

use super::arm::{async_headers, error, etag, set_id, ArmRoute};
use super::arm_shapes::unname;
use super::faults::ArmShape;
use super::flexible::FlexSet;
use super::http::{format_time, Reply, Request};
use super::world::{ScaleSet, Vm, VmState, World};
use super::Shared;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};

/// Real pages of the filtered VM list hold about 50 VMs.
const MOST_PER_PAGE: usize = 50;

/// The scale set's JSON in Flexible mode (the Uniform JSON reshaped; a Uniform set is untouched).
pub fn shape_set(set: &ScaleSet, body: &mut Value) {
    let Some(flex) = &set.flexible else { return };
    if let Some(properties) = body.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("orchestrationMode".into(), json!("Flexible"));
        properties.remove("overprovision");
        properties.remove("doNotRunExtensionsOnOverprovisionedVMs");
        properties.insert("singlePlacementGroup".into(), json!(false));
        properties.insert("platformFaultDomainCount".into(), json!(flex.fault_domain_count));
        properties.insert(
            "scaleInPolicy".into(),
            json!({"rules": [set.scale_in_policy], "forceDeletion": flex.force_deletion}),
        );
    }
    if !flex.zones.is_empty() {
        body["zones"] = json!(flex.zones);
    }
}

/// The scale set's per-instance API does not address a Flexible set's VMs.
pub fn refuse_per_instance(world: &World, route: &ArmRoute) -> Option<Reply> {
    let (sub, rg, set) = match route {
        ArmRoute::Vm { sub, rg, set, .. } | ArmRoute::DeleteInstances { sub, rg, set } => (sub, rg, set),
        _ => return None,
    };
    let index = super::arm::find_set(world, sub, rg, set).ok()?;
    world.scale_sets[index].is_flexible().then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "instanceId must be a number: the virtual machines of a scale set in Flexible orchestration mode \
             are addressed as virtual machines (Microsoft.Compute/virtualMachines).",
        )
    })
}

/// `virtualMachineScaleSets/{set}/virtualMachines` of a Flexible set: ids only.
pub fn set_vm_ids(set: &ScaleSet) -> Reply {
    let value: Vec<Value> = set.vms.iter().map(|vm| json!({ "id": vm_resource_id(set, vm) })).collect();
    Reply::ok(json!({ "value": value }))
}

fn vm_resource_id(set: &ScaleSet, vm: &Vm) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{}",
        set.subscription_id,
        set.resource_group,
        set.vm_name(vm)
    )
}

/// A Flexible VM as VirtualMachines_Get / _List answer it (the spec's `VirtualMachine`).
fn vm_json(shared: &Shared, world: &World, set: &ScaleSet, flex: &FlexSet, vm: &Vm, expand: bool) -> Value {
    let provisioning = match vm.state {
        VmState::Creating => "Creating",
        VmState::Succeeded => "Succeeded",
        VmState::Deleting => "Deleting",
    };
    let placed = vm.flex.as_ref();
    // Max spreading (count 1): every VM shows fault domain 0, the spreading is implicit.
    let fault_domain = if flex.fault_domain_count > 1 { placed.map_or(0, |p| p.fault_domain) } else { 0 };
    let computer_name = set.vm_computer_name(vm);
    let mut properties = json!({
        "vmId": vm.vm_id,
        "hardwareProfile": {"vmSize": set.sku_name},
        "storageProfile": {"osDisk": {
            "osType": if set.windows { "Windows" } else { "Linux" },
            "createOption": "FromImage", "caching": "ReadWrite",
            "managedDisk": {"storageAccountType": "Premium_LRS"}, "deleteOption": "Delete",
        }},
        "osProfile": {"computerName": computer_name, "adminUsername": "azureuser", "secrets": [],
                      "allowExtensionOperations": true},
        "virtualMachineScaleSet": {"id": set_id(set)},
        "provisioningState": provisioning,
        "timeCreated": format_time(shared.time_at(vm.created_at)),
    });
    if flex.fault_domain_count > 1 {
        properties["platformFaultDomain"] = json!(fault_domain);
    }
    if expand {
        let power = match vm.state {
            VmState::Creating => "starting",
            VmState::Succeeded => "running",
            VmState::Deleting => "stopping",
        };
        let since = format_time(shared.time_at(vm.state_until.min(world.now)));
        let mut view = json!({
            "platformFaultDomain": fault_domain,
            "statuses": [
                {"code": format!("ProvisioningState/{}", provisioning.to_ascii_lowercase()), "level": "Info",
                 "displayStatus": format!("Provisioning {}", provisioning.to_ascii_lowercase()), "time": since},
                {"code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}")},
            ],
        });
        // A VM still being created has no computer name in its instance view yet; osProfile has it.
        if vm.state != VmState::Creating {
            view["computerName"] = json!(computer_name);
        }
        properties["instanceView"] = view;
    }
    let mut body = json!({
        "name": set.vm_name(vm),
        "id": vm_resource_id(set, vm),
        "type": "Microsoft.Compute/virtualMachines",
        "location": set.location,
        "tags": {},
        "managedBy": set_id(set),
        "etag": etag(vm.etag),
        "properties": properties,
    });
    if let Some(zone) = placed.and_then(|p| p.zone.as_ref()) {
        body["zones"] = json!([zone]);
    }
    body
}

/// `'virtualMachineScaleSet/id' eq '<id>'` → the id (key quotes optional, `eq` in any case).
fn parse_filter(raw: &str) -> Option<String> {
    let text = raw.trim();
    let lower = text.to_ascii_lowercase();
    let key_len = ["'virtualmachinescaleset/id'", "virtualmachinescaleset/id"]
        .iter()
        .find(|key| lower.starts_with(**key))
        .map(|key| key.len())?;
    let rest = text[key_len..].trim_start();
    let rest = rest.get(..2).filter(|op| op.eq_ignore_ascii_case("eq")).map(|_| rest[2..].trim())?;
    let id = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    (!id.is_empty() && !id.contains('\'')).then(|| id.to_string())
}

/// The sets of resource group `rg` a filter (or none) selects.
fn selected<'w>(world: &'w World, sub: &str, rg: &str, filter: Option<&str>) -> Vec<&'w ScaleSet> {
    world
        .scale_sets
        .iter()
        .filter(|s| s.subscription_id.eq_ignore_ascii_case(sub) && s.resource_group.eq_ignore_ascii_case(rg))
        .filter(|s| filter.is_none_or(|id| set_id(s).eq_ignore_ascii_case(id)))
        .filter(|s| s.is_flexible())
        .collect()
}

fn invalid(message: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, "InvalidParameter", message)
}

/// VirtualMachines_List in resource group `rg`: every Flexible VM there, or a set's with the filter.
pub fn list_vms(shared: &Shared, world: &World, request: &Request, sub: &str, rg: &str) -> Reply {
    if !world.scale_sets.iter().any(|s| s.resource_group.eq_ignore_ascii_case(rg)) {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    let shape = request.arm_shape;
    let raw_filter = request.param("$filter");
    if shape == Some(ArmShape::FilterRejected) {
        return invalid(&format!(
            "The value '{}' of parameter '$filter' is not valid.",
            raw_filter.unwrap_or_default()
        ));
    }
    let filter = match raw_filter {
        Some(raw) => match parse_filter(raw) {
            Some(id) => Some(id),
            None => {
                return invalid(&format!(
                    "The value '{raw}' of parameter '$filter' is not valid. Allowed value is \
                     'virtualMachineScaleSet/id' eq '/subscriptions/{{subId}}/resourceGroups/{{resourceGroupName}}/providers/Microsoft.Compute/virtualMachineScaleSets/{{vmssName}}'."
                ))
            }
        },
        None => None,
    };
    let expand = match request.param("$expand") {
        Some(e) if e.eq_ignore_ascii_case("instanceView") && filter.is_some() => true,
        Some(e) if e.eq_ignore_ascii_case("instanceView") => {
            return invalid(
                "The $expand=instanceView option can only be specified with a valid $filter option.",
            )
        }
        Some(other) => return invalid(&format!("The value '{other}' of parameter '$expand' is not valid.")),
        None => false,
    };
    let after = request
        .param("$skiptoken")
        .and_then(|token| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let mut vms: Vec<(String, &ScaleSet, &Vm)> = selected(world, sub, rg, filter.as_deref())
        .into_iter()
        .flat_map(|set| set.vms.iter().map(move |vm| (set.vm_name(vm).to_ascii_lowercase(), set, vm)))
        .filter(|(name, _, _)| after.as_ref().is_none_or(|after| name > after))
        .collect();
    // Keyed on the last name served, so a list that changes between pages still yields every
    // surviving VM exactly once.
    vms.sort_by(|a, b| a.0.cmp(&b.0));
    let page_size = shared.arm_page_size().min(MOST_PER_PAGE);
    let more = vms.len() > page_size;
    vms.truncate(page_size);
    let last = vms.last().map(|(name, _, _)| name.clone()).unwrap_or_default();
    if shape == Some(ArmShape::DuplicateVm) {
        // The previous page's last VM again, in place of this page's last: one VM goes missing.
        let previous = after.as_ref().and_then(|after| {
            world.scale_sets.iter().find_map(|set| set.vm_named(after).map(|vm| (after.clone(), set, vm)))
        });
        if let (Some(previous), Some(own)) = (previous, vms.last_mut()) {
            *own = previous;
        }
    }
    let mut value: Vec<Value> = vms
        .iter()
        .filter_map(|(_, set, vm)| {
            set.flexible.as_ref().map(|flex| vm_json(shared, world, set, flex, vm, expand))
        })
        .collect();
    if let Some(ArmShape::Unnamed(how)) = shape {
        value.iter_mut().for_each(|vm| unname(vm, how));
    }
    if shape == Some(ArmShape::ForeignVm) {
        if let Some(first) = value.first_mut() {
            let other = format!(
                "{}-other",
                first["properties"]["virtualMachineScaleSet"]["id"].as_str().unwrap_or("")
            );
            first["properties"]["virtualMachineScaleSet"]["id"] = json!(other);
        }
    }
    let mut body = json!({ "value": value });
    let truncated = request.truncate_page || shape == Some(ArmShape::TruncatedWhileUpdating);
    if more && !truncated {
        body["nextLink"] = json!(next_link(shared, request, sub, rg, filter.as_deref(), expand, &last));
    }
    Reply::ok(body)
}

/// An absolute nextLink on this server (or another port / page 1 / raw filter, as faults ask).
fn next_link(
    shared: &Shared,
    request: &Request,
    sub: &str,
    rg: &str,
    filter: Option<&str>,
    expand: bool,
    last: &str,
) -> String {
    let shape = request.arm_shape;
    let base = match shape {
        Some(ArmShape::ForeignNextLink { port }) => format!("http://127.0.0.1:{port}"),
        _ => shared.base_url.clone(),
    };
    let mut link = format!(
        "{base}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines?api-version={}",
        request.param("api-version").unwrap_or("2024-07-01")
    );
    if let Some(id) = filter {
        let filter = format!("'virtualMachineScaleSet/id' eq '{id}'");
        if shape == Some(ArmShape::UnencodedNextLink) {
            link.push_str(&format!("&$filter={filter}"));
        } else {
            let encoded: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
            link.push_str(&format!("&$filter={encoded}"));
        }
    }
    if expand {
        link.push_str("&$expand=instanceView");
    }
    // A loop sends the client back to the first page.
    if shape != Some(ArmShape::PagingLoop) {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes());
        link.push_str(&format!("&$skiptoken={token}"));
    }
    link
}

/// The Flexible VM `name` in resource group `rg`, with its set.
fn find<'w>(world: &'w World, sub: &str, rg: &str, name: &str) -> Result<(usize, &'w Vm), Reply> {
    world
        .scale_sets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.subscription_id.eq_ignore_ascii_case(sub) && s.resource_group.eq_ignore_ascii_case(rg))
        .find_map(|(index, set)| set.vm_named(name).map(|vm| (index, vm)))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The Resource 'Microsoft.Compute/virtualMachines/{name}' under resource group '{rg}' was not found."
                ),
            )
        })
}

/// VirtualMachines_Get.
pub fn get_vm(shared: &Shared, world: &World, request: &Request, sub: &str, rg: &str, name: &str) -> Reply {
    match find(world, sub, rg, name) {
        Ok((index, vm)) => {
            let set = &world.scale_sets[index];
            let expand = request.param("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
            match &set.flexible {
                Some(flex) => Reply::ok(vm_json(shared, world, set, flex, vm, expand)),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "Not a virtual machine resource."),
            }
        }
        Err(reply) => reply,
    }
}

/// VirtualMachines_Delete: the VM goes, and its Flexible set's capacity drops by one.
pub fn delete_vm(
    shared: &Shared,
    world: &mut World,
    request: &Request,
    sub: &str,
    rg: &str,
    name: &str,
) -> Reply {
    let (index, id, state) = match find(world, sub, rg, name) {
        Ok((index, vm)) => (index, vm.instance_id, vm.state),
        Err(reply) => return reply,
    };
    if state == VmState::Deleting {
        return error(
            StatusCode::CONFLICT,
            "OperationNotAllowed",
            &format!("The virtual machine '{name}' is already being deleted."),
        );
    }
    match world.delete_instances(index, &[id]) {
        Ok(operation) => {
            let set = &world.scale_sets[index];
            let api_version = request.param("api-version").unwrap_or("2024-07-01").to_string();
            async_headers(shared, Reply::empty(StatusCode::ACCEPTED), set, &operation, &api_version)
        }
        Err(err) => error(StatusCode::NOT_FOUND, "NotFound", &err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn the_filter_is_read_as_the_spec_and_azure_cli_write_it() {
        let id =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/flex";
        assert_eq!(parse_filter(&format!("'virtualMachineScaleSet/id' eq '{id}'")).as_deref(), Some(id));
        assert_eq!(parse_filter(&format!("virtualMachineScaleSet/id EQ  '{id}' ")).as_deref(), Some(id));
        for bad in [
            "",
            "resourceGroup eq 'rg'",
            "'virtualMachineScaleSet/id' ne 'x'",
            "'virtualMachineScaleSet/id' eq x",
        ] {
            assert_eq!(parse_filter(bad), None, "{bad}");
        }
    }
}
