//! Octopus REST subset under `/api` (PascalCase, shapes from the Swagger subset).

use super::faults::OctopusShape;
use super::http::{format_time, Reply, Request};
use super::octopus_json as wire;
use super::tasks::DeployRequest;
use super::world::{Health, TaskState, World, WorldError};
use super::Shared;
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"ErrorMessage": message, "Errors": [], "FullException": null, "HelpText": null}),
    )
}

fn not_found(what: &str) -> Reply {
    error(StatusCode::NOT_FOUND, &format!("The resource '{what}' you requested was not found."))
}

/// Split `[Spaces-1, machines, ...]` / `[spaces, Spaces-1, machines]` / `[machines]` into
/// (space given, rest).
fn split_space<'a>(segments: &'a [&'a str]) -> (Option<&'a str>, &'a [&'a str]) {
    let is_space_id = |s: &str| s.len() > 7 && s[..7].eq_ignore_ascii_case("spaces-");
    match segments {
        [first, rest @ ..] if is_space_id(first) => (Some(first), rest),
        [first, id, rest @ ..]
            if first.eq_ignore_ascii_case("spaces") && is_space_id(id) && !rest.is_empty() =>
        {
            (Some(id), rest)
        }
        _ => (None, segments),
    }
}

/// Counter key: `octopus.machines`, `octopus.deployments.post`, ...
pub fn endpoint(method: &Method, segments: &[&str]) -> String {
    let (_, rest) = split_space(segments);
    let mut name = rest.first().map_or("root".to_string(), |s| s.to_ascii_lowercase());
    if rest.len() >= 2 && rest[1].eq_ignore_ascii_case("summary") {
        name.push_str(".summary");
    }
    if rest.last().is_some_and(|s| s.eq_ignore_ascii_case("cancel")) {
        name.push_str(".cancel");
    } else if method != Method::GET {
        name.push('.');
        name.push_str(&method.as_str().to_ascii_lowercase());
    }
    format!("octopus.{name}")
}

pub fn handle(shared: &Shared, request: &Request, segments: &[&str]) -> Reply {
    if segments.is_empty() {
        return root(shared);
    }
    let key = request.header("x-octopus-apikey").or_else(|| request.param("apikey"));
    let writer = key == Some(shared.api_key.as_str());
    let reader = writer || key == Some(shared.read_only_api_key.as_str());
    if !reader {
        return error(
            StatusCode::UNAUTHORIZED,
            "You must be logged in to perform this action. Please provide a valid API key or log in again.",
        );
    }
    if request.method != Method::GET && !writer {
        return error(StatusCode::FORBIDDEN, "You do not have permission to perform this action.");
    }
    let (space, rest) = split_space(segments);
    let mut world = shared.world();
    if let Some(space) = space {
        if !space.eq_ignore_ascii_case(&world.octopus.space_id) {
            return not_found(space);
        }
    }
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let parts: Vec<&str> = lower.iter().map(String::as_str).collect();
    let method = &request.method;
    let ctx = Ctx { shared, request, path: request.path.clone() };
    match (method, parts.as_slice()) {
        (&Method::GET, ["spaces"] | ["spaces", "all"]) => {
            ctx.list("Space", vec![wire::space(&world)], parts.len() == 2)
        }
        (&Method::GET, ["spaces", _]) if rest[1].eq_ignore_ascii_case(&world.octopus.space_id) => {
            Reply::ok(wire::space(&world))
        }
        (&Method::GET, ["environments"] | ["environments", "all"]) => {
            let items = world.environments.iter().map(|e| wire::environment(&world, e)).collect();
            ctx.list("Environment", items, parts.len() == 2)
        }
        (&Method::GET, ["environments", _, "machines"]) => {
            match world.environments.iter().find(|e| e.id.eq_ignore_ascii_case(rest[1])) {
                Some(environment) => list_machines(&ctx, &world, Some(&environment.id), false),
                None => not_found(rest[1]),
            }
        }
        (&Method::GET, ["environments", _]) => by_id(
            world
                .environments
                .iter()
                .find(|e| e.id.eq_ignore_ascii_case(rest[1]))
                .map(|e| wire::environment(&world, e)),
            rest[1],
        ),
        (&Method::GET, ["projects"] | ["projects", "all"]) => {
            let items = world.projects.iter().map(|p| wire::project(&world, p)).collect();
            ctx.list("Project", items, parts.len() == 2)
        }
        (&Method::GET, ["projects", _]) => by_id(
            world
                .projects
                .iter()
                .find(|p| p.id.eq_ignore_ascii_case(rest[1]) || p.name.eq_ignore_ascii_case(rest[1]))
                .map(|p| wire::project(&world, p)),
            rest[1],
        ),
        (&Method::GET, ["projects", _, "releases"]) => {
            let Some(project) = world.projects.iter().find(|p| p.id.eq_ignore_ascii_case(rest[1])) else {
                return not_found(rest[1]);
            };
            let releases = world.releases.iter().filter(|r| r.project_id == project.id).collect();
            list_releases(&ctx, &world, releases)
        }
        (&Method::GET, ["releases"]) => list_releases(&ctx, &world, world.releases.iter().collect()),
        (&Method::GET, ["releases", _]) => by_id(
            world
                .releases
                .iter()
                .find(|r| r.id.eq_ignore_ascii_case(rest[1]))
                .map(|r| wire::release(shared, &world, r)),
            rest[1],
        ),
        (&Method::GET, ["releases", _, "deployments"]) => {
            let items = newest_deployments(&world)
                .filter(|d| d.release_id.eq_ignore_ascii_case(rest[1]))
                .map(|d| wire::deployment(shared, &world, d))
                .collect();
            ctx.list("Deployment", items, false)
        }
        (&Method::GET, ["machinepolicies"] | ["machinepolicies", "all"]) => {
            let items = world.machine_policies.iter().map(|p| wire::machine_policy(&world, p)).collect();
            ctx.list("MachinePolicy", items, parts.len() == 2)
        }
        (&Method::GET, ["machinepolicies", _]) => by_id(
            world
                .machine_policies
                .iter()
                .find(|p| p.id.eq_ignore_ascii_case(rest[1]))
                .map(|p| wire::machine_policy(&world, p)),
            rest[1],
        ),
        (&Method::GET, ["machines"] | ["machines", "all"]) => {
            list_machines(&ctx, &world, None, parts.len() == 2)
        }
        (&Method::GET, ["machines", _]) => by_id(
            world
                .machines
                .iter()
                .find(|m| m.id.eq_ignore_ascii_case(rest[1]))
                .map(|m| wire::machine(&world, m)),
            rest[1],
        ),
        (&Method::DELETE, ["machines", _]) => match world.delete_machine(rest[1]) {
            Ok(()) => Reply::ok(json!({})),
            Err(_) => not_found(rest[1]),
        },
        (&Method::GET, ["deployments"]) => list_deployments(&ctx, &world),
        (&Method::GET, ["deployments", _]) => by_id(
            world
                .deployments
                .iter()
                .find(|d| d.id.eq_ignore_ascii_case(rest[1]))
                .map(|d| wire::deployment(shared, &world, d)),
            rest[1],
        ),
        (&Method::POST, ["deployments"]) => create_deployment(shared, request, &mut world),
        (&Method::GET, ["tasks"]) => list_tasks(&ctx, &world),
        (&Method::GET, ["tasks", _]) => by_id(
            world
                .tasks
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(rest[1]))
                .map(|t| wire::task(shared, &world, t)),
            rest[1],
        ),
        (&Method::GET, ["tasks", _, "details"]) => by_id(
            world
                .tasks
                .iter()
                .find(|t| t.id.eq_ignore_ascii_case(rest[1]))
                .map(|t| task_details(wire::task(shared, &world, t), t.state.is_completed())),
            rest[1],
        ),
        (&Method::POST, ["tasks", _, "cancel"]) => match world.cancel_task(rest[1]) {
            Ok(()) => {
                let task = world.tasks.iter().find(|t| t.id.eq_ignore_ascii_case(rest[1]));
                Reply::ok(task.map(|t| wire::task(shared, &world, t)).unwrap_or(json!({})))
            }
            Err(_) => not_found(rest[1]),
        },
        (_, ["octopusservernodes", ..]) if space.is_some() => not_found(&request.path),
        (&Method::GET, ["octopusservernodes"] | ["octopusservernodes", "all"]) => {
            let items = world.nodes.iter().map(|n| wire::node(shared, &world, n)).collect();
            ctx.list("OctopusServerNode", items, parts.len() == 2)
        }
        (&Method::GET, ["octopusservernodes", "summary"]) => {
            let nodes: Vec<Value> =
                world.nodes.iter().map(|n| wire::node_summary(shared, &world, n)).collect();
            Reply::ok(json!({"Nodes": nodes}))
        }
        (&Method::GET, ["octopusservernodes", "ping"]) => Reply::ok(json!({})),
        (&Method::GET, ["octopusservernodes", _]) => by_id(
            world
                .nodes
                .iter()
                .find(|n| n.id.eq_ignore_ascii_case(rest[1]))
                .map(|n| wire::node(shared, &world, n)),
            rest[1],
        ),
        (&Method::GET, ["octopusservernodes", _, "details"]) => {
            let Some(node) = world.nodes.iter().find(|n| n.id.eq_ignore_ascii_case(rest[1])) else {
                return not_found(rest[1]);
            };
            let running: Vec<Value> = world
                .tasks
                .iter()
                .filter(|t| matches!(t.state, TaskState::Executing | TaskState::Cancelling))
                .filter(|t| t.node_id.as_deref() == Some(node.id.as_str()))
                .map(|t| wire::task(shared, &world, t))
                .collect();
            Reply::ok(
                json!({"Id": node.id, "RunningTasks": running, "Links": {"Self": format!("/api/octopusservernodes/{}/details", node.id)}}),
            )
        }
        (&Method::PUT, ["octopusservernodes", _]) => update_node(shared, request, &mut world, rest[1]),
        (&Method::DELETE, ["octopusservernodes", _]) => {
            let before = world.nodes.len();
            world.nodes.retain(|n| !n.id.eq_ignore_ascii_case(rest[1]));
            if world.nodes.len() == before {
                not_found(rest[1])
            } else {
                Reply::ok(json!({}))
            }
        }
        _ => {
            let all = parts.len() == 2 && parts[1] == "all";
            let list = |items| ctx.list("Tenant", items, all);
            super::tenants::handle(&world, request, &parts, rest, list).unwrap_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("The resource you requested was not found: {} {}", method, ctx.path),
                )
            })
        }
    }
}

fn by_id(found: Option<Value>, id: &str) -> Reply {
    found.map(Reply::ok).unwrap_or_else(|| not_found(id))
}

fn root(shared: &Shared) -> Reply {
    let world = shared.world();
    let space = &world.octopus.space_id;
    Reply::ok(json!({
        "Application": "Octopus Deploy",
        "Version": world.octopus.version,
        "ApiVersion": "3.0.0",
        "InstallationId": world.octopus.installation_id,
        "IsEarlyAccessProgram": false,
        "HasLongTermSupport": true,
        "Links": {
            "Self": "/api",
            "Spaces": "/api/spaces{/id}{?skip,ids,take,partialName}",
            "Machines": format!("/api/{space}/machines{{/id}}{{?skip,take,name,ids,partialName,roles,isDisabled,healthStatuses,commStyles,tenantIds,tenantTags,environmentIds,thumbprint,deploymentId,shellNames}}"),
            "Tasks": "/api/tasks{/id}{?skip,active,environment,project,name,node,running,states,hasPendingInterruptions,hasWarningsOrErrors,take,ids,partialName,spaces,includeSystem}",
            "OctopusServerNodes": "/api/octopusservernodes{/id}{?skip,take,ids,partialName}",
            "Deployments": format!("/api/{space}/deployments{{/id}}{{?skip,take,ids,projects,environments,tenants,channels,taskState}}"),
        }
    }))
}

struct Ctx<'a> {
    shared: &'a Shared,
    request: &'a Request,
    path: String,
}

impl Ctx<'_> {
    /// A paged collection; `/all` endpoints answer a plain array, like the real server.
    fn list(&self, item_type: &str, items: Vec<Value>, all: bool) -> Reply {
        self.list_rendered(item_type, items, |item| item, all)
    }

    /// As `list`, rendering only the items on the page: a 10,000-target listing costs one page of
    /// JSON per request, not the whole collection.
    fn list_rendered<T>(
        &self,
        item_type: &str,
        items: Vec<T>,
        render: impl FnMut(T) -> Value,
        all: bool,
    ) -> Reply {
        if all {
            return Reply::ok(Value::Array(items.into_iter().map(render).collect()));
        }
        let mut skip = self.request.param("skip").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
        let take = self.request.param("take").and_then(|s| s.parse::<usize>().ok()).unwrap_or(30);
        let per_page = take.min(self.shared.octopus_page_size()).max(1);
        let real_total = items.len();
        if self.request.ignore_skip {
            skip = 0;
        }
        if self.request.lying_total && skip >= real_total {
            // A server that clamps `skip`: past the end it answers the last page again.
            skip = real_total.saturating_sub(1) / per_page * per_page;
        }
        let page: Vec<Value> = items.into_iter().skip(skip).take(per_page).map(render).collect();
        let total = if self.request.lying_total { real_total * 100 + 1000 } else { real_total };
        let pages = total.div_ceil(per_page).max(1);
        let base = &self.path;
        let mut links = json!({
            "Self": format!("{base}?skip={skip}&take={per_page}"),
            "Template": format!("{base}{{?skip,take}}"),
            "Page.All": format!("{base}/all"),
            "Page.Current": format!("{base}?skip={skip}&take={per_page}"),
            "Page.Last": format!("{base}?skip={}&take={per_page}", (pages - 1) * per_page),
        });
        if skip + page.len() < total && !self.request.truncate_page {
            links["Page.Next"] = json!(format!("{base}?skip={}&take={per_page}", skip + page.len()));
        }
        if skip > 0 {
            links["Page.Previous"] =
                json!(format!("{base}?skip={}&take={per_page}", skip.saturating_sub(per_page)));
        }
        Reply::ok(json!({
            "ItemType": item_type,
            "TotalResults": total,
            "ItemsPerPage": per_page,
            "NumberOfPages": pages,
            "LastPageNumber": pages - 1,
            "IsStale": false,
            "Items": page,
            "Links": links,
        }))
    }

    fn list_param(&self, name: &str) -> Option<Vec<String>> {
        self.request
            .param(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    }
}

fn contains_ci(list: &[String], value: &str) -> bool {
    list.iter().any(|item| item.eq_ignore_ascii_case(value))
}

/// `/machines`, or `/environments/{id}/machines` when `environment` is given.
fn list_machines(ctx: &Ctx, world: &World, environment: Option<&str>, all: bool) -> Reply {
    let roles = ctx.list_param("roles");
    let environments =
        environment.map(|id| vec![id.to_string()]).or_else(|| ctx.list_param("environmentIds"));
    let health = ctx.list_param("healthStatuses");
    let ids = ctx.list_param("ids");
    let name = ctx.request.param("name");
    let partial = ctx.request.param("partialName").map(str::to_ascii_lowercase);
    let disabled = ctx.request.param("isDisabled").and_then(|v| v.parse::<bool>().ok());
    let thumbprint = ctx.request.param("thumbprint");
    let items = world
        .machines
        .iter()
        // Any-of on purpose: the real server's multi-role filter is not documented as all-of.
        .filter(|m| roles.as_ref().is_none_or(|roles| m.roles.iter().any(|r| contains_ci(roles, r))))
        .filter(|m| {
            environments.as_ref().is_none_or(|envs| m.environment_ids.iter().any(|e| contains_ci(envs, e)))
        })
        .filter(|m| health.as_ref().is_none_or(|h| contains_ci(h, wire::health_str(m.health))))
        .filter(|m| ids.as_ref().is_none_or(|ids| contains_ci(ids, &m.id)))
        .filter(|m| name.is_none_or(|n| m.name.eq_ignore_ascii_case(n)))
        .filter(|m| partial.as_ref().is_none_or(|p| m.name.to_ascii_lowercase().contains(p.as_str())))
        .filter(|m| disabled.is_none_or(|d| m.is_disabled == d))
        .filter(|m| thumbprint.is_none_or(|t| m.thumbprint.eq_ignore_ascii_case(t)))
        .collect::<Vec<_>>();
    ctx.list_rendered("DeploymentTarget", items, |m| wire::machine(world, m), all)
}

/// Newest first, like the real server.
fn list_releases(ctx: &Ctx, world: &World, mut releases: Vec<&super::world::Release>) -> Reply {
    releases.sort_by(|a, b| b.assembled.total_cmp(&a.assembled));
    let items = releases.iter().map(|r| wire::release(ctx.shared, world, r)).collect();
    ctx.list("Release", items, false)
}

/// `GET tasks/{id}/details`: the task and its progress; activity logs are not simulated.
fn task_details(task: Value, completed: bool) -> Value {
    json!({
        "Task": task,
        "Progress": {"ProgressPercentage": if completed { 100 } else { 0 }, "EstimatedTimeRemaining": ""},
        "PhysicalLogSize": 0,
        "ActivityLogs": [],
    })
}

fn newest_deployments(world: &World) -> impl Iterator<Item = &super::world::Deployment> {
    world.deployments.iter().rev()
}

fn list_deployments(ctx: &Ctx, world: &World) -> Reply {
    let projects = ctx.list_param("projects");
    let environments = ctx.list_param("environments");
    let tenants = ctx.list_param("tenants");
    let states = ctx.list_param("taskState");
    let items = newest_deployments(world)
        .filter(|d| projects.as_ref().is_none_or(|p| contains_ci(p, &d.project_id)))
        .filter(|d| environments.as_ref().is_none_or(|e| contains_ci(e, &d.environment_id)))
        .filter(|d| {
            tenants.as_ref().is_none_or(|t| d.tenant_id.as_ref().is_some_and(|id| contains_ci(t, id)))
        })
        .filter(|d| {
            states.as_ref().is_none_or(|states| {
                world.tasks.iter().any(|t| t.id == d.task_id && contains_ci(states, t.state.as_str()))
            })
        })
        .map(|d| wire::deployment(ctx.shared, world, d))
        .collect();
    ctx.list("Deployment", items, false)
}

/// `GET tasks?ids=…&states=…&node=…&running=…`, newest first and paged like every collection;
/// only the page's tasks are rendered.
fn list_tasks(ctx: &Ctx, world: &World) -> Reply {
    let states = ctx.list_param("states");
    // A set: a batch read of 100 ids over a log of 10,000 tasks stays one pass.
    let ids: Option<std::collections::HashSet<String>> =
        ctx.list_param("ids").map(|ids| ids.iter().map(|id| id.to_ascii_lowercase()).collect());
    let node = ctx.request.param("node");
    let running = ctx.request.param("running").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut tasks: Vec<_> = world
        .tasks
        .iter()
        .filter(|t| states.as_ref().is_none_or(|s| contains_ci(s, t.state.as_str())))
        .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id.to_ascii_lowercase())))
        .filter(|t| node.is_none_or(|n| t.node_id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(n))))
        .filter(|t| !running || !t.state.is_completed())
        .collect();
    tasks.sort_by(|a, b| b.queue_time.total_cmp(&a.queue_time));
    ctx.list_rendered("ServerTask", tasks, |t| wire::task(ctx.shared, world, t), false)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeploymentBody {
    release_id: String,
    environment_id: String,
    #[serde(default)]
    specific_machine_ids: Vec<String>,
    #[serde(default)]
    excluded_machine_ids: Vec<String>,
    #[serde(default)]
    comments: Option<String>,
    #[serde(default)]
    use_guided_failure: bool,
    #[serde(default)]
    tenant_id: Option<String>,
}

fn create_deployment(shared: &Shared, request: &Request, world: &mut World) -> Reply {
    let body: DeploymentBody = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let result = world.create_deployment(DeployRequest {
        release_id: body.release_id,
        environment_id: body.environment_id,
        specific_machine_ids: body.specific_machine_ids,
        excluded_machine_ids: body.excluded_machine_ids,
        comments: body.comments.unwrap_or_default(),
        use_guided_failure: body.use_guided_failure,
        tenant_id: body.tenant_id.filter(|t| !t.is_empty()),
    });
    match result {
        Ok(id) => {
            let deployment = world.deployments.iter().find(|d| d.id == id);
            let body = deployment.map(|d| wire::deployment(shared, world, d)).unwrap_or(json!({}));
            Reply::json(StatusCode::CREATED, body)
        }
        Err(WorldError::Invalid(message)) => Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"ErrorMessage": "There was a problem with your request.", "Errors": [message]}),
        ),
        Err(other) => error(StatusCode::BAD_REQUEST, &other.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeBody {
    #[serde(default)]
    name: Option<String>,
    is_in_maintenance_mode: Option<bool>,
    max_concurrent_tasks: Option<u32>,
}

fn update_node(shared: &Shared, request: &Request, world: &mut World, id: &str) -> Reply {
    let body: NodeBody = match request.json_body() {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let Some(node) = world.nodes.iter_mut().find(|n| n.id.eq_ignore_ascii_case(id)) else {
        return not_found(id);
    };
    if let Some(mode) = body.is_in_maintenance_mode {
        node.is_in_maintenance_mode = mode;
    }
    if let Some(cap) = body.max_concurrent_tasks {
        node.max_concurrent_tasks = cap;
    }
    if let Some(name) = body.name.filter(|n| !n.is_empty()) {
        node.name = name;
    }
    let node = node.clone();
    Reply::ok(wire::node(shared, world, &node))
}

/// Used by the wire module for `Status`.
pub fn status_of(health: Health) -> &'static str {
    match health {
        Health::Healthy => "Online",
        Health::Unavailable => "Offline",
    }
}

pub fn time_or_null(shared: &Shared, at: Option<f64>) -> Value {
    at.map_or(Value::Null, |at| json!(format_time(shared.time_at(at))))
}

/// Reshape an Octopus answer the way a hostile or very old server would (`OctopusShape`).
pub fn reshape(mut reply: Reply, shape: OctopusShape) -> Reply {
    let Some(body) = reply.body.as_mut() else { return reply };
    let is_collection = body.get("Items").is_some_and(Value::is_array);
    match shape {
        OctopusShape::NoTotal => {
            if let Some(fields) = body.as_object_mut() {
                fields.remove("TotalResults");
            }
        }
        OctopusShape::OldestFirst => {
            if let Some(items) = body.get_mut("Items").and_then(Value::as_array_mut) {
                items.reverse();
            }
        }
        OctopusShape::TraversalId if is_collection => {
            let last_page = body.pointer("/Links/Page.Next").is_none();
            if let Some(total) = body.get("TotalResults").and_then(Value::as_u64) {
                body["TotalResults"] = json!(total + 1);
            }
            let items = body.get_mut("Items").and_then(Value::as_array_mut);
            if let (true, Some(items)) = (last_page, items) {
                if let Some(first) = items.first().cloned() {
                    let mut ghost = first.clone();
                    ghost["Id"] = json!(format!("Machines-99/../{}", first["Id"].as_str().unwrap_or("")));
                    ghost["Name"] = json!("legacyweb01");
                    items.push(ghost);
                }
            }
        }
        OctopusShape::TraversalId => {}
        OctopusShape::NoDeployedTo => {
            let null_reach = |d: &mut Value| {
                if d.get("DeployedToMachineIds").is_some() {
                    d["DeployedToMachineIds"] = Value::Null;
                }
            };
            match body.get_mut("Items").and_then(Value::as_array_mut) {
                Some(items) => items.iter_mut().for_each(null_reach),
                None => null_reach(body),
            }
        }
    }
    reply
}
