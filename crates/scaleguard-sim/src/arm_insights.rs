//! ARM's Microsoft.Insights subset: autoscale settings (api-version 2022-10-01: list by resource
//! group, GET, PUT, PATCH) and the Activity Log (api-version 2015-04-01), paged with absolute
//! nextLinks like the rest of the simulated ARM. No ETag: the real resource has none.

use super::activity_log::{EventFilter, Writer};
use super::arm::error;
use super::autoscale::{setting_id, SimAutoscale};
use super::faults::ArmShape;
use super::http::{Reply, Request};
use super::world::World;
use super::Shared;
use axum::http::{Method, StatusCode};
use scaleguard_core::autoscale::parse_setting;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsightsRoute {
    SettingList { sub: String, rg: String },
    Setting { sub: String, rg: String, name: String },
    ActivityLog { sub: String },
}

impl InsightsRoute {
    pub fn parse(segments: &[&str]) -> Option<Self> {
        let eq = |index: usize, want: &str| segments.get(index).is_some_and(|s| s.eq_ignore_ascii_case(want));
        let owned = |index: usize| segments[index].to_string();
        if segments.len() == 7
            && eq(0, "subscriptions")
            && eq(2, "providers")
            && eq(3, "microsoft.insights")
            && eq(4, "eventtypes")
            && eq(5, "management")
            && eq(6, "values")
        {
            return Some(Self::ActivityLog { sub: owned(1) });
        }
        let settings = segments.len() >= 7
            && eq(0, "subscriptions")
            && eq(2, "resourcegroups")
            && eq(4, "providers")
            && eq(5, "microsoft.insights")
            && eq(6, "autoscalesettings");
        match segments.len() {
            7 if settings => Some(Self::SettingList { sub: owned(1), rg: owned(3) }),
            8 if settings => Some(Self::Setting { sub: owned(1), rg: owned(3), name: owned(7) }),
            _ => None,
        }
    }

    pub fn endpoint(&self, method: &Method) -> &'static str {
        match self {
            Self::SettingList { .. } => "list_autoscale_settings",
            Self::Setting { .. } if method == Method::PUT => "put_autoscale_setting",
            Self::Setting { .. } if method == Method::PATCH => "patch_autoscale_setting",
            Self::Setting { .. } => "get_autoscale_setting",
            Self::ActivityLog { .. } => "activity_log",
        }
    }
}

pub fn handle(shared: &Shared, world: &mut World, request: &Request, route: InsightsRoute) -> Reply {
    match (&request.method, route) {
        (&Method::GET, InsightsRoute::SettingList { sub, rg }) => list(shared, world, request, &sub, &rg),
        (&Method::GET, InsightsRoute::Setting { sub, rg, name }) => match find(world, &sub, &rg, &name) {
            Some(index) => Reply::ok(world.autoscale[index].resource.clone()),
            None => not_found(&name, &rg),
        },
        (&Method::PUT, InsightsRoute::Setting { sub, rg, name }) => put(world, request, &sub, &rg, &name),
        (&Method::PATCH, InsightsRoute::Setting { sub, rg, name }) => patch(world, request, &sub, &rg, &name),
        (&Method::GET, InsightsRoute::ActivityLog { sub }) => activity(shared, world, request, &sub),
        (method, _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The requested method {method} is not allowed on {}", request.path),
        ),
    }
}

fn id_part(resource: &Value, index: usize) -> &str {
    resource.get("id").and_then(Value::as_str).and_then(|id| id.split('/').nth(index)).unwrap_or_default()
}

fn find(world: &World, sub: &str, rg: &str, name: &str) -> Option<usize> {
    world.autoscale.iter().position(|s| {
        id_part(&s.resource, 2).eq_ignore_ascii_case(sub)
            && id_part(&s.resource, 4).eq_ignore_ascii_case(rg)
            && s.resource.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn not_found(name: &str, rg: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!("The Resource 'microsoft.insights/autoscalesettings/{name}' under resource group '{rg}' was not found."),
    )
}

/// `?$skiptoken=N`: the offset of the page's first item.
fn offset(request: &Request) -> usize {
    request.param("$skiptoken").and_then(|token| token.parse().ok()).unwrap_or(0)
}

fn list(shared: &Shared, world: &World, request: &Request, sub: &str, rg: &str) -> Reply {
    let known = world.scale_sets.iter().any(|s| s.resource_group.eq_ignore_ascii_case(rg));
    if !known && !world.autoscale.iter().any(|s| id_part(&s.resource, 4).eq_ignore_ascii_case(rg)) {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    let all: Vec<&Value> = world
        .autoscale
        .iter()
        .map(|s| &s.resource)
        .filter(|r| id_part(r, 2).eq_ignore_ascii_case(sub) && id_part(r, 4).eq_ignore_ascii_case(rg))
        .collect();
    let path =
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Insights/autoscalesettings");
    page(shared, request, all.into_iter().cloned().collect(), &path, "2022-10-01", &[])
}

/// One page of `items` from `?$skiptoken`, with an absolute nextLink while more remain.
fn page(
    shared: &Shared,
    request: &Request,
    items: Vec<Value>,
    path: &str,
    default_api: &str,
    keep: &[(&str, &str)],
) -> Reply {
    let size = shared.arm_page_size();
    let start = offset(request).min(items.len());
    let end = (start + size).min(items.len());
    let mut body = json!({ "value": items[start..end] });
    if end < items.len() && !request.truncate_page {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("api-version", request.param("api-version").unwrap_or(default_api));
        for (name, value) in keep {
            query.append_pair(name, value);
        }
        // The hostile shapes the VM list has: a nextLink to another origin, or back to page 1.
        let base = match request.arm_shape {
            Some(ArmShape::ForeignNextLink { port }) => format!("http://127.0.0.1:{port}"),
            _ => shared.base_url.clone(),
        };
        if request.arm_shape != Some(ArmShape::PagingLoop) {
            query.append_pair("$skiptoken", &end.to_string());
        }
        body["nextLink"] = json!(format!("{base}{path}?{}", query.finish()));
    }
    Reply::ok(body)
}

/// What Azure checks before storing a setting: the shape, a location, 1 to 20 profiles, capacities
/// with minimum <= default <= maximum, a target.
fn validate(body: &Value) -> Result<(), String> {
    if body.get("location").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("The location property is required for this definition.".into());
    }
    let profiles = body.pointer("/properties/profiles").and_then(Value::as_array).map_or(0, Vec::len);
    if !(1..=20).contains(&profiles) {
        return Err(format!("An autoscale setting holds 1 to 20 profiles, not {profiles}."));
    }
    if body.pointer("/properties/targetResourceUri").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("properties.targetResourceUri is required.".into());
    }
    let setting = parse_setting(body).map_err(|err| err.to_string())?;
    for profile in &setting.profiles {
        if !profile.capacity.contains(profile.capacity.default) {
            return Err(format!(
                "Profile '{}': the default capacity {} must lie between the minimum {} and the maximum {}.",
                profile.name, profile.capacity.default, profile.capacity.minimum, profile.capacity.maximum
            ));
        }
    }
    Ok(())
}

/// Store `body` as setting `name` (the read-only fields are the server's).
fn store(
    world: &mut World,
    sub: &str,
    rg: &str,
    name: &str,
    mut body: Value,
) -> Result<(Value, bool), Reply> {
    let canonical_rg = world
        .scale_sets
        .iter()
        .find(|s| s.resource_group.eq_ignore_ascii_case(rg))
        .map_or(rg.to_string(), |s| s.resource_group.clone());
    let existing = find(world, sub, rg, name);
    let name = existing
        .and_then(|i| world.autoscale[i].resource.get("name").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| name.to_string());
    body["id"] = json!(setting_id(sub, &canonical_rg, &name));
    body["name"] = json!(name);
    body["type"] = json!("Microsoft.Insights/autoscaleSettings");
    if let Some(object) = body.as_object_mut() {
        object.remove("systemData");
        object.entry("tags").or_insert_with(|| json!({}));
    }
    if let Some(properties) = body.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("name".into(), json!(name));
        properties.entry("enabled").or_insert(json!(true));
    }
    if let Err(message) = validate(&body) {
        return Err(error(StatusCode::BAD_REQUEST, "BadRequest", &message));
    }
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let created = match existing {
        Some(index) => {
            world.autoscale[index].resource = body.clone();
            false
        }
        None => {
            let next_evaluation = world.now + 30.0;
            world.autoscale.push(SimAutoscale { resource: body.clone(), next_evaluation, last_action: None });
            true
        }
    };
    world.record_setting_write(&id, &canonical_rg, &Writer::Api);
    Ok((body, created))
}

fn put(world: &mut World, request: &Request, sub: &str, rg: &str, name: &str) -> Reply {
    let body: Value = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &message),
    };
    match store(world, sub, rg, name, body) {
        Ok((stored, true)) => Reply::json(StatusCode::CREATED, stored),
        Ok((stored, false)) => Reply::ok(stored),
        Err(reply) => reply,
    }
}

/// AutoscaleSettings_Update: `tags` and the given `properties` replace the stored ones.
fn patch(world: &mut World, request: &Request, sub: &str, rg: &str, name: &str) -> Reply {
    let Some(index) = find(world, sub, rg, name) else { return not_found(name, rg) };
    let changes: Value = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &message),
    };
    let mut merged = world.autoscale[index].resource.clone();
    if let Some(tags) = changes.get("tags") {
        merged["tags"] = tags.clone();
    }
    if let (Some(stored), Some(given)) = (
        merged.get_mut("properties").and_then(Value::as_object_mut),
        changes.get("properties").and_then(Value::as_object),
    ) {
        for (key, value) in given {
            stored.insert(key.clone(), value.clone());
        }
    }
    match store(world, sub, rg, name, merged) {
        Ok((stored, _)) => Reply::ok(stored),
        Err(reply) => reply,
    }
}

fn activity(shared: &Shared, world: &World, request: &Request, sub: &str) -> Reply {
    let Some(raw) = request.param("$filter") else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The $filter query parameter is required, with an eventTimestamp ge bound.",
        );
    };
    let filter = match EventFilter::parse(raw) {
        Ok(filter) => filter,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let select: Option<Vec<String>> =
        request.param("$select").map(|s| s.split(',').map(|f| f.trim().to_string()).collect());
    let events: Vec<Value> = world
        .events(&filter)
        .into_iter()
        .filter(|e| e.resource_id.split('/').nth(2).is_some_and(|s| s.eq_ignore_ascii_case(sub)))
        .map(|e| {
            let json = world.event_json(sub, e);
            match &select {
                None => json,
                Some(fields) => Value::Object(
                    json.as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| fields.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
            }
        })
        .collect();
    let mut keep = vec![("$filter", raw)];
    if let Some(select) = request.param("$select") {
        keep.push(("$select", select));
    }
    let path = format!("/subscriptions/{sub}/providers/microsoft.insights/eventtypes/management/values");
    page(shared, request, events, &path, "2015-04-01", &keep)
}
