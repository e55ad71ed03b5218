//! Hostile but well-formed ARM VM lists (the `ArmShape` faults): names taken away, stand-ins
//! for a lost VM, a renamed guest, vmIds in another case.

use super::faults::{ArmShape, Unnamed};
use serde_json::{json, Value};

/// The review's hostile VM lists: a stand-in for the last page's last VM (another set's VM, an
/// alias of the first, a Deleting VM), a renamed guest, vmIds in upper case.
pub(super) fn reshape_vms(value: &mut [Value], shape: ArmShape, last_page: bool, set_id: &str) {
    let stand_in = |value: &[Value]| -> Option<Value> {
        let first = value.first()?.clone();
        Some(match shape {
            ArmShape::ForeignSetVm => {
                let mut vm = first;
                let other = set_id.replace("virtualMachineScaleSets/", "virtualMachineScaleSets/other-");
                vm["id"] = json!(format!("{other}/virtualMachines/900"));
                vm["name"] = json!(format!("{}_900", other.rsplit('/').next().unwrap_or("other")));
                vm["instanceId"] = json!("900");
                vm["properties"]["vmId"] = json!("00000000-0000-4000-8000-000000000900");
                vm
            }
            ArmShape::AliasVm => {
                let mut vm = first;
                vm["instanceId"] = json!(format!("0{}", vm["instanceId"].as_str().unwrap_or("")));
                let upper = vm["properties"]["vmId"].as_str().unwrap_or("").to_ascii_uppercase();
                vm["properties"]["vmId"] = json!(upper);
                vm
            }
            ArmShape::DeletingStandIn => {
                let mut vm = first;
                vm["instanceId"] = json!("9000");
                vm["name"] = json!(format!("{}_9000", set_id.rsplit('/').next().unwrap_or("set")));
                vm["id"] = json!(format!("{set_id}/virtualMachines/9000"));
                vm["properties"]["vmId"] = json!("00000000-0000-4000-8000-000000009000");
                vm["properties"]["provisioningState"] = json!("Deleting");
                vm
            }
            _ => return None,
        })
    };
    match shape {
        ArmShape::ForeignSetVm | ArmShape::AliasVm | ArmShape::DeletingStandIn if last_page => {
            if let (Some(vm), Some(last)) = (stand_in(value), value.len().checked_sub(1)) {
                value[last] = vm;
            }
        }
        ArmShape::RenamedGuest => {
            for vm in value.iter_mut() {
                let name = format!("GUEST-{}", vm["instanceId"].as_str().unwrap_or(""));
                if let Some(view) = vm["properties"]["instanceView"].as_object_mut() {
                    view.insert("computerName".into(), json!(name));
                }
            }
        }
        ArmShape::VmIdCase => {
            for vm in value.iter_mut() {
                let upper = vm["properties"]["vmId"].as_str().unwrap_or("").to_ascii_uppercase();
                vm["properties"]["vmId"] = json!(upper);
            }
        }
        _ => {}
    }
}

/// Take a VM's computer name away the way real answers do.
pub(super) fn unname(vm: &mut Value, how: Unnamed) {
    let Some(properties) = vm.get_mut("properties").and_then(Value::as_object_mut) else { return };
    let view_name = |properties: &mut serde_json::Map<String, Value>, name: Option<&str>| {
        if let Some(view) = properties.get_mut("instanceView").and_then(Value::as_object_mut) {
            match name {
                Some(name) => view.insert("computerName".into(), json!(name)),
                None => view.remove("computerName"),
            };
        }
    };
    match how {
        Unnamed::NoOsProfile => {
            properties.remove("osProfile");
        }
        Unnamed::Nowhere => {
            properties.remove("osProfile");
            view_name(properties, None);
        }
        Unnamed::Null => {
            properties["osProfile"]["computerName"] = Value::Null;
            view_name(properties, None);
        }
        Unnamed::Empty => {
            properties["osProfile"]["computerName"] = json!("");
            view_name(properties, Some(""));
        }
    }
}
