//! Azure Resource Manager subset (Microsoft.Compute scale sets, api-version 2024-07-01), served at
//! the root of host:port. Paths are case-insensitive, like the real ARM.

use super::arm_shapes::{reshape_vms, unname};
use super::faults::{ArmShape, CapacityShape};
use super::http::{format_time, Reply, Request};
use super::world::{ScaleSet, Vm, VmState, World};
use super::Shared;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// The kind of ARM endpoint a path names (also the key of the request counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmRoute {
    /// `VirtualMachineScaleSets_List`: the scale sets of one resource group.
    ScaleSetList {
        sub: String,
        rg: String,
    },
    ScaleSet {
        sub: String,
        rg: String,
        set: String,
    },
    VmList {
        sub: String,
        rg: String,
        set: String,
    },
    Vm {
        sub: String,
        rg: String,
        set: String,
        instance: String,
    },
    DeleteInstances {
        sub: String,
        rg: String,
        set: String,
    },
    Operation {
        id: String,
    },
    /// `VirtualMachines_List`: the VM resources of one resource group (Flexible sets' VMs).
    RgVmList {
        sub: String,
        rg: String,
    },
    /// One VM resource (a Flexible set's VM): `VirtualMachines_Get` / `_Delete`.
    VmResource {
        sub: String,
        rg: String,
        name: String,
    },
    /// Microsoft.Insights: autoscale settings and the Activity Log.
    Insights(super::arm_insights::InsightsRoute),
    Unknown,
}

impl ArmRoute {
    pub fn parse(segments: &[&str]) -> Self {
        let eq = |index: usize, want: &str| segments.get(index).is_some_and(|s| s.eq_ignore_ascii_case(want));
        let owned = |index: usize| segments[index].to_string();
        if let Some(route) = super::arm_insights::InsightsRoute::parse(segments) {
            return Self::Insights(route);
        }
        // subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{id}
        if segments.len() == 8 && eq(0, "subscriptions") && eq(2, "providers") && eq(6, "operations") {
            return Self::Operation { id: owned(7) };
        }
        let is_vms = segments.len() >= 7
            && eq(0, "subscriptions")
            && eq(2, "resourcegroups")
            && eq(4, "providers")
            && eq(5, "microsoft.compute")
            && eq(6, "virtualmachines");
        if is_vms {
            return match segments.len() {
                7 => Self::RgVmList { sub: owned(1), rg: owned(3) },
                8 => Self::VmResource { sub: owned(1), rg: owned(3), name: owned(7) },
                _ => Self::Unknown,
            };
        }
        let is_set = segments.len() >= 7
            && eq(0, "subscriptions")
            && eq(2, "resourcegroups")
            && eq(4, "providers")
            && eq(5, "microsoft.compute")
            && eq(6, "virtualmachinescalesets");
        if !is_set {
            return Self::Unknown;
        }
        if segments.len() == 7 {
            return Self::ScaleSetList { sub: owned(1), rg: owned(3) };
        }
        let (sub, rg, set) = (owned(1), owned(3), owned(7));
        match segments.len() {
            8 => Self::ScaleSet { sub, rg, set },
            9 if eq(8, "virtualmachines") => Self::VmList { sub, rg, set },
            9 if eq(8, "delete") => Self::DeleteInstances { sub, rg, set },
            10 if eq(8, "virtualmachines") => Self::Vm { sub, rg, set, instance: owned(9) },
            _ => Self::Unknown,
        }
    }

    pub fn endpoint(&self, method: &Method) -> String {
        let name = match self {
            Self::ScaleSetList { .. } => "list_scale_sets",
            Self::ScaleSet { .. } if method == Method::PATCH => "patch_scale_set",
            Self::ScaleSet { .. } => "get_scale_set",
            Self::VmList { .. } => "list_vms",
            Self::Vm { .. } if method == Method::PUT => "put_vm",
            Self::Vm { .. } => "get_vm",
            Self::DeleteInstances { .. } => "delete_instances",
            Self::Operation { .. } => "operation",
            Self::RgVmList { .. } => "list_rg_vms",
            Self::VmResource { .. } if method == Method::DELETE => "delete_vm_resource",
            Self::VmResource { .. } => "get_vm_resource",
            Self::Insights(route) => route.endpoint(method),
            Self::Unknown => "unknown",
        };
        format!("arm.{name}")
    }
}

pub fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({"error": {"code": code, "message": message}}))
}

/// Budget headers like the real ARM (the numbers count down per request); writes report the
/// `-global-writes` budget, reads the `-global-reads` one.
fn with_rate_headers(reply: Reply, served: u64, method: &Method) -> Reply {
    let (resource, budget) = if method == Method::GET {
        ("GetVMScaleSet", "x-ms-ratelimit-remaining-subscription-global-reads")
    } else {
        ("UpdateVMScaleSet", "x-ms-ratelimit-remaining-subscription-global-writes")
    };
    let subscription = 2399u64.saturating_sub(served % 2400);
    let resource_left = 239u64.saturating_sub(served % 240);
    reply
        .header(
            "x-ms-ratelimit-remaining-resource",
            format!("Microsoft.Compute/{resource}SubscriptionMaximum;{subscription},Microsoft.Compute/{resource}Resource;{resource_left}"),
        )
        .header(budget, (3749u64.saturating_sub(served % 3750)).to_string())
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
}

pub fn handle(shared: &Shared, request: &Request, route: ArmRoute) -> Reply {
    let expected = format!("Bearer {}", shared.arm_token);
    if request.header("authorization") != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The access token is invalid.");
    }
    if request.param("api-version").is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    let served = shared.stats().total;
    let mut world = shared.world();
    if let Some(refusal) = super::flexible_arm::refuse_per_instance(&world, &route) {
        return with_rate_headers(refusal, served, &request.method);
    }
    let reply = match (&request.method, route) {
        (&Method::GET, ArmRoute::RgVmList { sub, rg }) => {
            super::flexible_arm::list_vms(shared, &world, request, &sub, &rg)
        }
        (&Method::GET, ArmRoute::VmResource { sub, rg, name }) => {
            super::flexible_arm::get_vm(shared, &world, request, &sub, &rg, &name)
        }
        (&Method::DELETE, ArmRoute::VmResource { sub, rg, name }) => {
            super::flexible_arm::delete_vm(shared, &mut world, request, &sub, &rg, &name)
        }
        (&Method::GET, ArmRoute::ScaleSetList { sub, rg }) => list_scale_sets(shared, &world, &sub, &rg),
        (&Method::GET, ArmRoute::ScaleSet { sub, rg, set }) => match find_set(&world, &sub, &rg, &set) {
            Ok(index) => {
                let set = &world.scale_sets[index];
                let mut body = scale_set_json(shared, set);
                match request.arm_shape {
                    Some(ArmShape::TruncatedWhileUpdating) => {
                        body["properties"]["provisioningState"] = json!("Updating");
                    }
                    Some(ArmShape::Capacity(CapacityShape::Absent)) => {
                        if let Some(sku) = body["sku"].as_object_mut() {
                            sku.remove("capacity");
                        }
                    }
                    Some(ArmShape::Capacity(CapacityShape::Negative)) => body["sku"]["capacity"] = json!(-1),
                    Some(ArmShape::Capacity(CapacityShape::Huge)) => {
                        body["sku"]["capacity"] = json!(4_294_967_295u64)
                    }
                    _ => {}
                }
                Reply::ok(body).header("etag", etag(set.etag))
            }
            Err(reply) => reply,
        },
        (&Method::PATCH, ArmRoute::ScaleSet { sub, rg, set }) => {
            patch_scale_set(shared, &mut world, request, &sub, &rg, &set)
        }
        (&Method::GET, ArmRoute::VmList { sub, rg, set }) => match find_set(&world, &sub, &rg, &set) {
            Ok(index) if world.scale_sets[index].is_flexible() => {
                super::flexible_arm::set_vm_ids(&world.scale_sets[index])
            }
            Ok(index) => list_vms(shared, &world, request, index),
            Err(_) => parent_not_found(&set),
        },
        (&Method::GET, ArmRoute::Vm { sub, rg, set, instance }) => {
            match find_vm(&world, &sub, &rg, &set, &instance) {
                Ok((index, vm)) => {
                    let expand =
                        request.param("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
                    Reply::ok(vm_json(shared, &world, &world.scale_sets[index], vm, expand))
                }
                Err(reply) => reply,
            }
        }
        (&Method::PUT, ArmRoute::Vm { sub, rg, set, instance }) => {
            put_vm(shared, &mut world, request, &sub, &rg, &set, &instance)
        }
        (&Method::POST, ArmRoute::DeleteInstances { sub, rg, set }) => {
            delete_instances(shared, &mut world, request, &sub, &rg, &set)
        }
        (&Method::GET, ArmRoute::Operation { id }) => operation_status(shared, &world, request, &id),
        (_, ArmRoute::Insights(route)) => super::arm_insights::handle(shared, &mut world, request, route),
        (_, ArmRoute::Unknown) => error(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            &format!("The resource type could not be found for path {}", request.path),
        ),
        (method, _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The requested method {method} is not allowed on {}", request.path),
        ),
    };
    with_rate_headers(reply, served, &request.method)
}

pub(super) fn etag(value: u64) -> String {
    format!("\"{value}\"")
}

pub(super) fn find_set(world: &World, sub: &str, rg: &str, set: &str) -> Result<usize, Reply> {
    let found = world.scale_sets.iter().position(|s| {
        s.subscription_id.eq_ignore_ascii_case(sub)
            && s.resource_group.eq_ignore_ascii_case(rg)
            && s.name.eq_ignore_ascii_case(set)
    });
    found.ok_or_else(|| {
        let rg_known = world.scale_sets.iter().any(|s| s.resource_group.eq_ignore_ascii_case(rg));
        if rg_known {
            error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("The Resource 'Microsoft.Compute/virtualMachineScaleSets/{set}' under resource group '{rg}' was not found."),
            )
        } else {
            error(StatusCode::NOT_FOUND, "ResourceGroupNotFound", &format!("Resource group '{rg}' could not be found."))
        }
    })
}

/// One page, no `nextLink` key (as real ARM answers a short list). The simulator knows a resource
/// group only by its scale sets, so a group without any is a 404 `ResourceGroupNotFound`.
fn list_scale_sets(shared: &Shared, world: &World, sub: &str, rg: &str) -> Reply {
    let value: Vec<Value> = world
        .scale_sets
        .iter()
        .filter(|s| s.subscription_id.eq_ignore_ascii_case(sub) && s.resource_group.eq_ignore_ascii_case(rg))
        .map(|s| scale_set_json(shared, s))
        .collect();
    if value.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    Reply::ok(json!({ "value": value }))
}

fn parent_not_found(set: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "ParentResourceNotFound",
        &format!(
            "Can not perform requested operation on nested resource. Parent resource '{set}' not found."
        ),
    )
}

fn find_vm<'w>(
    world: &'w World,
    sub: &str,
    rg: &str,
    set: &str,
    instance: &str,
) -> Result<(usize, &'w Vm), Reply> {
    let index = find_set(world, sub, rg, set).map_err(|_| parent_not_found(set))?;
    let vm = instance.parse::<u64>().ok().and_then(|id| world.scale_sets[index].vm(id));
    vm.map(|vm| (index, vm)).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The entity was not found in this Azure location. Instance '{instance}' of '{set}'."),
        )
    })
}

pub(super) fn set_id(set: &ScaleSet) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
        set.subscription_id, set.resource_group, set.name
    )
}

pub fn scale_set_json(shared: &Shared, set: &ScaleSet) -> Value {
    let mut body = uniform_set_json(shared, set);
    super::flexible_arm::shape_set(set, &mut body);
    body
}

fn uniform_set_json(shared: &Shared, set: &ScaleSet) -> Value {
    json!({
        "name": set.name,
        "id": set_id(set),
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": set.location,
        "tags": {},
        "sku": {"name": set.sku_name, "tier": "Standard", "capacity": set.capacity},
        "etag": etag(set.etag),
        "properties": {
            "singlePlacementGroup": true,
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "scaleInPolicy": {"rules": [set.scale_in_policy], "forceDeletion": false},
            "virtualMachineProfile": {
                "osProfile": {
                    "computerNamePrefix": set.computer_name_prefix,
                    "adminUsername": "azureuser",
                    "allowExtensionOperations": true,
                },
                "storageProfile": {"osDisk": {"osType": if set.windows { "Windows" } else { "Linux" }, "createOption": "FromImage", "caching": "ReadWrite"}},
            },
            "provisioningState": set.provisioning_state(),
            "overprovision": set.overprovision,
            "doNotRunExtensionsOnOverprovisionedVMs": false,
            "uniqueId": set.unique_id,
            "platformFaultDomainCount": 5,
            "timeCreated": format_time(shared.time_at(-86_400.0 * 30.0)),
        }
    })
}

pub fn vm_json(shared: &Shared, world: &World, set: &ScaleSet, vm: &Vm, expand: bool) -> Value {
    let provisioning = match vm.state {
        VmState::Creating => "Creating",
        VmState::Succeeded => "Succeeded",
        VmState::Deleting => "Deleting",
    };
    let mut properties = json!({
        "latestModelApplied": true,
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "vmId": vm.vm_id,
        "hardwareProfile": {"vmSize": set.sku_name},
        "osProfile": {
            "computerName": set.computer_name(vm.instance_id),
            "adminUsername": "azureuser",
            "allowExtensionOperations": true,
        },
        "protectionPolicy": {
            "protectFromScaleIn": vm.protect_from_scale_in,
            "protectFromScaleSetActions": vm.protect_from_scale_set_actions,
        },
        "timeCreated": format_time(shared.time_at(vm.created_at)),
        "provisioningState": provisioning,
    });
    if expand {
        let power = match vm.state {
            VmState::Creating => "starting",
            VmState::Succeeded => "running",
            VmState::Deleting => "stopping",
        };
        let since = format_time(shared.time_at(vm.state_until.min(world.now)));
        properties["instanceView"] = json!({
            "platformUpdateDomain": vm.instance_id % 5,
            "platformFaultDomain": vm.instance_id % 5,
            "computerName": set.computer_name(vm.instance_id),
            "statuses": [
                {"code": format!("ProvisioningState/{}", provisioning.to_ascii_lowercase()), "level": "Info",
                 "displayStatus": format!("Provisioning {}", provisioning.to_ascii_lowercase()), "time": since},
                {"code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}")},
            ],
        });
    }
    json!({
        "name": format!("{}_{}", set.name, vm.instance_id),
        "id": format!("{}/virtualMachines/{}", set_id(set), vm.instance_id),
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": set.location,
        "tags": {},
        "instanceId": vm.instance_id.to_string(),
        "sku": {"name": set.sku_name, "tier": "Standard"},
        "etag": etag(vm.etag),
        "properties": properties,
    })
}

/// Pages keyed on the last instance id served, so a list that changes between pages still
/// yields every surviving VM exactly once.
fn list_vms(shared: &Shared, world: &World, request: &Request, index: usize) -> Reply {
    let set = &world.scale_sets[index];
    let expand = request.param("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"));
    let after: Option<u64> = request.param("$skiptoken").and_then(|token| token.parse().ok());
    let page_size = shared.arm_page_size();
    let mut vms: Vec<&Vm> =
        set.vms.iter().filter(|vm| after.is_none_or(|after| vm.instance_id > after)).collect();
    vms.sort_by_key(|vm| vm.instance_id);
    let more = vms.len() > page_size;
    vms.truncate(page_size);
    let last = vms.last().map_or(0, |vm| vm.instance_id);
    let shape = request.arm_shape;
    if shape == Some(ArmShape::DuplicateVm) {
        // The previous page's last VM again, in place of this page's last: one VM goes missing.
        if let (Some(previous), Some(own)) = (after.and_then(|id| set.vm(id)), vms.last_mut()) {
            *own = previous;
        }
    }
    let mut value: Vec<Value> = vms.iter().map(|vm| vm_json(shared, world, set, vm, expand)).collect();
    if let Some(ArmShape::Unnamed(how)) = shape {
        value.iter_mut().for_each(|vm| unname(vm, how));
    }
    if let Some(shape) = shape {
        reshape_vms(&mut value, shape, !more, &set_id(set));
    }
    let mut body = json!({ "value": value });
    let truncated = request.truncate_page || shape == Some(ArmShape::TruncatedWhileUpdating);
    if more && !truncated {
        let base = match shape {
            Some(ArmShape::ForeignNextLink { port }) => format!("http://127.0.0.1:{port}"),
            _ => shared.base_url.clone(),
        };
        let mut link = format!(
            "{base}{}/virtualMachines?api-version={}",
            set_id(set),
            request.param("api-version").unwrap_or("2024-07-01")
        );
        if expand {
            link.push_str("&$expand=instanceView");
        }
        // A loop sends the client back to the first page.
        if shape != Some(ArmShape::PagingLoop) {
            link.push_str(&format!("&$skiptoken={last}"));
        }
        body["nextLink"] = json!(link);
    }
    Reply::ok(body)
}

pub(super) fn async_headers(
    shared: &Shared,
    reply: Reply,
    set: &ScaleSet,
    operation: &str,
    api_version: &str,
) -> Reply {
    let base = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{}",
        shared.base_url, set.subscription_id, set.location, operation
    );
    reply
        .header("Azure-AsyncOperation", format!("{base}?api-version={api_version}"))
        .header("Location", format!("{base}?monitor=true&api-version={api_version}"))
        .header("azure-asyncnotification", "Enabled")
}

fn patch_scale_set(
    shared: &Shared,
    world: &mut World,
    request: &Request,
    sub: &str,
    rg: &str,
    set: &str,
) -> Reply {
    let index = match find_set(world, sub, rg, set) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    let current = etag(world.scale_sets[index].etag);
    if request.header("if-match").is_none_or(|value| value.trim() == "*") {
        // Counted apart so tests can prove every capacity change was conditional (invariant 4).
        *super::lock(&shared.stats)
            .by_endpoint
            .entry("arm.patch_scale_set.unconditional".into())
            .or_default() += 1;
    }
    if let Some(if_match) = request.header("if-match") {
        if if_match.trim() != "*" && if_match.trim() != current {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                &format!("The condition specified using HTTP conditional header(s) is not met (If-Match {if_match}, current {current})."),
            );
        }
    }
    let body: Value = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &message),
    };
    let capacity = body.pointer("/sku/capacity");
    let Some(capacity) = capacity.map(|c| c.as_u64().and_then(|c| u32::try_from(c).ok())) else {
        // Nothing we model changed: answer with the set as it is.
        let set = &world.scale_sets[index];
        return Reply::ok(scale_set_json(shared, set)).header("etag", etag(set.etag));
    };
    let Some(capacity) = capacity.filter(|c| *c <= 1000) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "sku.capacity must be an integer from 0 to 1000.",
        );
    };
    let operation = world.set_capacity_by(index, capacity, &super::activity_log::Writer::Api);
    let set = &world.scale_sets[index];
    let api_version = request.param("api-version").unwrap_or("2024-07-01").to_string();
    // VirtualMachineScaleSets_Update allows only 200 (a long-running operation: the body says
    // `Updating`, Azure-AsyncOperation says when it is done); SDKs generated from the spec reject 202.
    let reply = Reply::ok(scale_set_json(shared, set)).header("etag", etag(set.etag));
    async_headers(shared, reply, set, &operation, &api_version)
}

fn delete_instances(
    shared: &Shared,
    world: &mut World,
    request: &Request,
    sub: &str,
    rg: &str,
    set: &str,
) -> Reply {
    let index = match find_set(world, sub, rg, set) {
        Ok(index) => index,
        Err(reply) => return reply,
    };
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        instance_ids: Vec<String>,
    }
    let body: Body = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &message),
    };
    let mut ids = Vec::new();
    for raw in &body.instance_ids {
        match raw.parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    &format!("Instance id '{raw}' is not valid."),
                )
            }
        }
    }
    if ids.is_empty() {
        return error(StatusCode::BAD_REQUEST, "InvalidParameter", "instanceIds must not be empty.");
    }
    match world.delete_instances_by(index, &ids, &super::activity_log::Writer::Api) {
        Ok(operation) => {
            let set = &world.scale_sets[index];
            let api_version = request.param("api-version").unwrap_or("2024-07-01").to_string();
            async_headers(shared, Reply::empty(StatusCode::ACCEPTED), set, &operation, &api_version)
        }
        Err(err) => error(StatusCode::NOT_FOUND, "NotFound", &err.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
fn put_vm(
    shared: &Shared,
    world: &mut World,
    request: &Request,
    sub: &str,
    rg: &str,
    set: &str,
    instance: &str,
) -> Reply {
    let index = match find_vm(world, sub, rg, set, instance) {
        Ok((index, _)) => index,
        Err(reply) => return reply,
    };
    let body: Value = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &message),
    };
    if body.get("location").and_then(Value::as_str).is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "LocationRequired",
            "The location property is required for this definition.",
        );
    }
    let policy = body.pointer("/properties/protectionPolicy");
    let flag = |name: &str| policy.and_then(|p| p.get(name)).and_then(Value::as_bool).unwrap_or(false);
    let instance_id = instance.parse::<u64>().unwrap_or_default();
    if let Err(err) = world.set_protection(
        index,
        instance_id,
        flag("protectFromScaleIn"),
        flag("protectFromScaleSetActions"),
    ) {
        return error(StatusCode::NOT_FOUND, "NotFound", &err.to_string());
    }
    let set = &world.scale_sets[index];
    match set.vm(instance_id) {
        Some(vm) => Reply::ok(vm_json(shared, world, set, vm, false)),
        None => error(StatusCode::NOT_FOUND, "NotFound", "The instance vanished."),
    }
}

fn operation_status(shared: &Shared, world: &World, request: &Request, id: &str) -> Reply {
    let Some(operation) = world.operation(id) else {
        return error(StatusCode::NOT_FOUND, "NotFound", &format!("Operation '{id}' was not found."));
    };
    let monitor = request.param("monitor").is_some_and(|m| m.eq_ignore_ascii_case("true"));
    if monitor {
        // The Location URL: 202 while running, 200 with an empty body when done.
        return match operation.end {
            Some(_) => Reply::empty(StatusCode::OK),
            None => Reply::empty(StatusCode::ACCEPTED),
        };
    }
    let mut body = json!({
        "startTime": format_time(shared.time_at(operation.start)),
        "status": if operation.end.is_some() { "Succeeded" } else { "InProgress" },
        "name": operation.id,
    });
    if let Some(end) = operation.end {
        body["endTime"] = json!(format_time(shared.time_at(end)));
    }
    Reply::ok(body)
}
