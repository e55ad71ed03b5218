//! A small programmable fake of ARM + Octopus on 127.0.0.1 for the client tests: one-shot faults
//! with any status and any body (a page cut mid-JSON, an error on page N), delays, and a request
//! log. It complements the team simulator (tests/it/clients_sim.rs), whose faults are coarser; same
//! wire shapes (absolute nextLink with $skiptoken, pages shorter than `take`, any-of `roles`).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const API_KEY: &str = "API-GOODKEY0000000000";
pub const READ_ONLY_KEY: &str = "API-READONLY000000000";
pub const ARM_TOKEN: &str = "arm-test-token";
pub const SUB: &str = "00000000-0000-0000-0000-000000000001";

#[derive(Debug, Clone)]
pub struct Fault {
    /// Applies to requests whose path contains this (case-insensitive) and, if set, this method.
    pub path_contains: String,
    pub method: Option<Method>,
    /// Which matching request it hits first (0 = the next one).
    pub skip: u32,
    pub times: u32,
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    /// Answer only after this long (to trip the client's timeout).
    pub delay: Option<std::time::Duration>,
    /// Headers on the answer (besides `content-type: application/json`).
    pub headers: Vec<(String, String)>,
}

impl Fault {
    pub fn new(path_contains: &str, status: u16, body: &str) -> Self {
        Self {
            path_contains: path_contains.to_ascii_lowercase(),
            method: None,
            skip: 0,
            times: 1,
            status,
            body: body.into(),
            retry_after: None,
            delay: None,
            headers: Vec::new(),
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }
}

#[derive(Debug)]
pub struct World {
    pub capacity: u32,
    pub etag: u64,
    pub instances: Vec<u32>,
    pub protected: Vec<u32>,
    pub vm_page: usize,
    /// The Octopus server never returns more than this per page, whatever `take` asks.
    pub octopus_page_cap: usize,
    pub targets: Vec<Value>,
    pub nodes: Vec<Value>,
    pub faults: Vec<Fault>,
    pub requests: Vec<(String, String)>,
    /// Polls an operation answers InProgress before Succeeded.
    pub lro_polls: u32,
    pub operations: HashMap<String, u32>,
}

pub struct Fake {
    pub addr: SocketAddr,
    pub world: Arc<Mutex<World>>,
}

pub fn computer_name(id: u32) -> String {
    let mut digits = String::new();
    let mut n = id;
    loop {
        digits.insert(0, std::char::from_digit(n % 36, 36).unwrap());
        n /= 36;
        if n == 0 {
            break;
        }
    }
    format!("vmssweb{digits:0>6}")
}

fn target(id: usize, name: &str, roles: &[&str], env: &str) -> Value {
    json!({"Id": format!("Machines-{id}"), "Name": name, "Roles": roles, "EnvironmentIds": [env],
           "IsDisabled": false, "HealthStatus": "Healthy", "MachinePolicyId": "MachinePolicies-1",
           "Endpoint": {"CommunicationStyle": "TentaclePassive", "Uri": format!("https://{name}:10933/"), "Thumbprint": format!("T{id}")}})
}

impl Fake {
    /// `instances` VMs (ids 0..n) each with a registered target (upper-case, as Windows does),
    /// plus a target with only one role and one in another environment (both out of scope),
    /// plus one orphan target whose VM is gone.
    pub async fn start(instances: u32) -> Fake {
        let mut targets: Vec<Value> = (0..instances)
            .map(|i| {
                target(
                    i as usize + 1,
                    &computer_name(i).to_uppercase(),
                    &["vmss-web", "web-server"],
                    "Environments-1",
                )
            })
            .collect();
        let n = instances as usize;
        targets.push(target(n + 1, "partial-roles", &["vmss-web"], "Environments-1"));
        targets.push(target(n + 2, "other-env", &["vmss-web", "web-server"], "Environments-2"));
        targets.push(target(n + 3, "vmssweb0000zz", &["vmss-web", "web-server"], "Environments-1"));
        let world = World {
            capacity: instances,
            etag: 1,
            instances: (0..instances).collect(),
            protected: vec![],
            vm_page: 7,
            octopus_page_cap: 3,
            targets,
            nodes: vec![
                json!({"Id": "OctopusServerNodes-a", "Name": "octo-a", "LastSeen": "2026-11-23T09:00:00+00:00",
                       "IsOffline": false, "IsInMaintenanceMode": false, "MaxConcurrentTasks": 5, "RunningTaskCount": 2, "Rank": "Leader"}),
                json!({"Id": "OctopusServerNodes-b", "Name": "octo-b", "LastSeen": null, "IsOffline": true,
                       "IsInMaintenanceMode": true, "MaxConcurrentTasks": 0, "RunningTaskCount": 0}),
            ],
            faults: vec![],
            requests: vec![],
            lro_polls: 2,
            operations: HashMap::new(),
        };
        let world = Arc::new(Mutex::new(world));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = (world.clone(), addr);
        let app = axum::Router::new().fallback(handle).with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { addr, world }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fault(&self, fault: Fault) {
        self.world.lock().unwrap().faults.push(fault);
    }

    pub fn request_count(&self) -> usize {
        self.world.lock().unwrap().requests.len()
    }

    pub fn requests(&self) -> Vec<(String, String)> {
        self.world.lock().unwrap().requests.clone()
    }

    pub fn reset_requests(&self) {
        self.world.lock().unwrap().requests.clear();
    }

    /// A profile covering this fake (`octopus` under a virtual directory `/octopus`).
    pub fn profile_toml(&self) -> String {
        format!(
            r#"default_profile = "fake"
[profiles.fake.octopus]
url = "{url}/octopus"
api_key_env = "SG_TEST_OCTOPUS_KEY"
space = "Default"
environment = "Production"
roles = ["vmss-web", "web-server"]
projects = ["Todo Web"]
timeout_secs = 5
[profiles.fake.azure]
arm_url = "{url}"
credential = "token_env"
token_env = "SG_TEST_ARM_TOKEN"
timeout_secs = 5
lro_deadline_secs = 10
[[profiles.fake.scale_sets]]
subscription_id = "{SUB}"
resource_group = "rg-web"
name = "vmss-web"
"#,
            url = self.url()
        )
    }

    pub fn profile(&self) -> scaleguard::config::Profile {
        let file =
            scaleguard::config::ConfigFile::parse(&self.profile_toml(), std::path::Path::new("fake.toml"))
                .unwrap();
        assert_eq!(file.validate(), vec![]);
        file.profiles["fake"].clone()
    }
}

type Shared = (Arc<Mutex<World>>, SocketAddr);

/// A deployment's task as the server has it: `ServerTasks-3` runs, three others succeeded.
fn task_of(id: &str) -> Value {
    let state = match id {
        "ServerTasks-3" => "Executing",
        "ServerTasks-2" | "ServerTasks-0" | "ServerTasks-5" => "Success",
        _ => "Failed",
    };
    json!({"Id": id, "State": state, "Arguments": {"DeploymentId": id.replace("ServerTasks", "Deployments")}})
}

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], body.to_string())
        .into_response()
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

async fn handle(
    axum::extract::State((world, addr)): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let lower = path.to_ascii_lowercase();
    let delay = {
        let mut w = world.lock().unwrap();
        w.faults
            .iter_mut()
            .find(|f| f.delay.is_some() && f.times > 0 && lower.contains(&f.path_contains))
            .and_then(|f| {
                f.times -= 1;
                f.delay
            })
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut w = world.lock().unwrap();
    w.requests.push((method.to_string(), uri.to_string()));

    // One-shot faults first.
    let hit = w.faults.iter().position(|f| {
        f.delay.is_none()
            && lower.contains(&f.path_contains)
            && f.method.as_ref().is_none_or(|m| *m == method)
            && f.times > 0
    });
    if let Some(i) = hit {
        if w.faults[i].skip > 0 {
            w.faults[i].skip -= 1;
        } else {
            let fault = w.faults[i].clone();
            w.faults[i].times -= 1;
            let mut response = (
                StatusCode::from_u16(fault.status).unwrap(),
                [("content-type", "application/json")],
                fault.body,
            )
                .into_response();
            if let Some(after) = fault.retry_after {
                response.headers_mut().insert("retry-after", after.to_string().parse().unwrap());
            }
            for (name, value) in &fault.headers {
                let name = axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
    }

    if lower.starts_with("/subscriptions/") {
        return arm(&mut w, addr, &method, &uri, &headers, &body);
    }
    let Some(api) = path.strip_prefix("/octopus") else {
        return reply(404, json!({"ErrorMessage": "no such path"}));
    };
    octopus(&mut w, &method, api, &uri, &headers, &body)
}

fn octopus(
    w: &mut World,
    method: &Method,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if path == "/api" {
        return reply(
            200,
            json!({"Application": "Octopus Deploy", "Version": "2024.3.12345", "ApiVersion": "3.0.0"}),
        );
    }
    let key = headers.get("x-octopus-apikey").and_then(|v| v.to_str().ok()).unwrap_or("");
    if key != API_KEY && key != READ_ONLY_KEY {
        return reply(401, json!({"ErrorMessage": "You must be logged in to perform this action."}));
    }
    if key == READ_ONLY_KEY && *method != Method::GET {
        return reply(403, json!({"ErrorMessage": "You do not have permission to perform this action."}));
    }
    let q = query_map(uri);
    let page = |items: Vec<Value>, cap: usize| {
        let skip: usize = q.get("skip").and_then(|s| s.parse().ok()).unwrap_or(0);
        let take: usize = q.get("take").and_then(|s| s.parse().ok()).unwrap_or(30);
        let n = take.min(cap);
        let total = items.len();
        let slice: Vec<Value> = items.into_iter().skip(skip).take(n).collect();
        let mut links = json!({"Self": path});
        if skip + slice.len() < total {
            links["Page.Next"] = json!(format!("{path}?skip={}&take={take}", skip + slice.len()));
        }
        reply(
            200,
            json!({"ItemType": "X", "Items": slice, "ItemsPerPage": n, "TotalResults": total, "Links": links}),
        )
    };
    let cap = w.octopus_page_cap;
    match (method.as_str(), path) {
        ("GET", "/api/spaces") => page(vec![json!({"Id": "Spaces-1", "Name": "Default"})], cap),
        ("GET", "/api/Spaces-1/environments") => page(
            vec![
                json!({"Id": "Environments-1", "Name": "Production"}),
                json!({"Id": "Environments-2", "Name": "Test"}),
            ],
            cap,
        ),
        ("GET", "/api/Spaces-1/projects") => {
            page(vec![json!({"Id": "Projects-1", "Name": "Todo Web", "Slug": "todo-web"})], cap)
        }
        // A server that predates tenants: no TenantedDeploymentMode (read as Untenanted).
        ("GET", "/api/Spaces-1/projects/Projects-1") => {
            reply(200, json!({"Id": "Projects-1", "Name": "Todo Web", "Slug": "todo-web"}))
        }
        ("GET", "/api/Spaces-1/machines") => {
            // Like the real server: `roles` is any-of, environment filter applied.
            let roles: Vec<String> =
                q.get("roles").map(|r| r.split(',').map(str::to_string).collect()).unwrap_or_default();
            let env = q.get("environmentIds").cloned();
            let items = w
                .targets
                .iter()
                .filter(|t| env.as_ref().is_none_or(|e| t["EnvironmentIds"][0] == json!(e)))
                .filter(|t| {
                    roles.is_empty()
                        || roles.iter().any(|r| t["Roles"].as_array().unwrap().contains(&json!(r)))
                })
                .cloned()
                .collect();
            page(items, cap)
        }
        ("GET", "/api/Spaces-1/deployments") => page(
            vec![
                json!({"Id": "Deployments-3", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-1",
                       "SpecificMachineIds": ["Machines-1"], "TaskId": "ServerTasks-3", "DeployedToMachineIds": [],
                       "Created": "2026-01-05T10:00:00.000+00:00"}),
                json!({"Id": "Deployments-2", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-1",
                       "SpecificMachineIds": [], "TaskId": "ServerTasks-2", "DeployedToMachineIds": ["Machines-1", "Machines-2"],
                       "Created": "2026-01-05T09:00:00.000+00:00"}),
                json!({"Id": "Deployments-1", "ProjectId": "Projects-1", "ReleaseId": "Releases-1", "EnvironmentId": "Environments-1",
                       "TaskId": "ServerTasks-1", "Created": "2026-01-04T09:00:00.000+00:00"}),
            ],
            cap,
        ),
        // Every deployment of the release, in any environment, including an older success that the
        // project's deployment list (walked newest first, stopping at a success) never reaches.
        ("GET", "/api/Spaces-1/releases/Releases-2/deployments") => page(
            vec![
                json!({"Id": "Deployments-3", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-1",
                       "SpecificMachineIds": ["Machines-1"], "TaskId": "ServerTasks-3", "DeployedToMachineIds": []}),
                json!({"Id": "Deployments-2", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-1",
                       "SpecificMachineIds": [], "TaskId": "ServerTasks-2", "DeployedToMachineIds": ["Machines-1", "Machines-2"]}),
                json!({"Id": "Deployments-5", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-2",
                       "SpecificMachineIds": [], "TaskId": "ServerTasks-5", "DeployedToMachineIds": ["Machines-7"]}),
                json!({"Id": "Deployments-0", "ProjectId": "Projects-1", "ReleaseId": "Releases-2", "EnvironmentId": "Environments-1",
                       "SpecificMachineIds": ["Machines-3"], "TaskId": "ServerTasks-0", "DeployedToMachineIds": ["Machines-3"]}),
            ],
            cap,
        ),
        ("GET", "/api/Spaces-1/releases/Releases-2") => {
            reply(200, json!({"Id": "Releases-2", "ProjectId": "Projects-1", "Version": "1.4.2"}))
        }
        ("POST", "/api/Spaces-1/deployments") => {
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let mut created = request.clone();
            created["Id"] = json!("Deployments-9");
            created["TaskId"] = json!("ServerTasks-9");
            reply(201, created)
        }
        ("GET", "/api/octopusservernodes/summary") => reply(200, json!({"Nodes": w.nodes})),
        // `ids=` reads those tasks (a batch of deployments' tasks); otherwise the running ones.
        ("GET", "/api/tasks") => match q.get("ids") {
            Some(ids) => page(ids.split(',').map(task_of).collect(), cap),
            None => {
                let tasks = vec![
                    json!({"Id": "ServerTasks-3", "State": "Executing", "ServerNode": "OctopusServerNodes-a", "Arguments": {"DeploymentId": "Deployments-3"}}),
                    json!({"Id": "ServerTasks-4", "State": "Queued", "ServerNode": null}),
                ];
                page(tasks, cap)
            }
        },
        (_, p) if p.starts_with("/api/tasks/") => {
            let id = p.trim_start_matches("/api/tasks/");
            if let Some(id) = id.strip_suffix("/cancel") {
                return reply(200, json!({"Id": id, "State": "Cancelling"}));
            }
            reply(200, task_of(id))
        }
        ("GET", p) if p.starts_with("/api/octopusservernodes/") => {
            let id = p.trim_start_matches("/api/octopusservernodes/");
            match w.nodes.iter().find(|n| n["Id"] == json!(id)) {
                Some(node) => {
                    let mut resource = node.clone();
                    resource["Links"] = json!({"Self": p});
                    reply(200, resource)
                }
                None => reply(404, json!({"ErrorMessage": format!("The resource '{id}' was not found.")})),
            }
        }
        ("PUT", p) if p.starts_with("/api/octopusservernodes/") => {
            let id = p.trim_start_matches("/api/octopusservernodes/").to_string();
            let Ok(update) = serde_json::from_slice::<Value>(body) else {
                return reply(400, json!({"ErrorMessage": "bad body"}));
            };
            match w.nodes.iter_mut().find(|n| n["Id"] == json!(id)) {
                Some(node) => {
                    node["IsInMaintenanceMode"] = update["IsInMaintenanceMode"].clone();
                    node["MaxConcurrentTasks"] = update["MaxConcurrentTasks"].clone();
                    node["PutHadLinks"] = json!(update.get("Links").is_some());
                    reply(200, node.clone())
                }
                None => reply(404, json!({"ErrorMessage": "not found"})),
            }
        }
        ("DELETE", p) if p.starts_with("/api/Spaces-1/machines/") => {
            let id = p.trim_start_matches("/api/Spaces-1/machines/");
            let before = w.targets.len();
            w.targets.retain(|t| t["Id"] != json!(id));
            if w.targets.len() == before {
                reply(404, json!({"ErrorMessage": format!("The resource '{id}' was not found.")}))
            } else {
                reply(200, json!({}))
            }
        }
        _ => reply(404, json!({"ErrorMessage": format!("no route {method} {path}")})),
    }
}

fn vm(set_path: &str, id: u32, protected: bool) -> Value {
    json!({"name": format!("vmss-web_{id}"), "id": format!("{set_path}/virtualMachines/{id}"),
           "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines", "location": "westus", "instanceId": id.to_string(),
           "properties": {"latestModelApplied": true, "provisioningState": "Succeeded", "vmId": format!("00000000-0000-0000-0000-{id:012}"),
               "osProfile": {"computerName": computer_name(id)},
               "protectionPolicy": {"protectFromScaleIn": protected},
               "instanceView": {"statuses": [{"code": "ProvisioningState/succeeded", "level": "Info"}, {"code": "PowerState/running", "level": "Info"}]}}})
}

fn arm(
    w: &mut World,
    addr: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != format!("Bearer {ARM_TOKEN}") {
        return reply(
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}),
        );
    }
    let path = uri.path().to_string();
    let lower = path.to_ascii_lowercase();
    let set_path = format!("/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web");
    let q = query_map(uri);
    if lower.contains("/operations/") {
        let id = path.rsplit('/').next().unwrap().to_string();
        let polls = w.operations.entry(id).or_insert(0);
        *polls += 1;
        let status = if *polls > w.lro_polls { "Succeeded" } else { "InProgress" };
        return reply(200, json!({"status": status, "name": "op"}));
    }
    if !lower.starts_with(&set_path.to_ascii_lowercase()) {
        return reply(
            404,
            json!({"error": {"code": "ResourceNotFound", "message": "The Resource was not found."}}),
        );
    }
    let rest = lower[set_path.len()..].to_string();
    let etag = format!("\"{}\"", w.etag);
    let accepted = |w: &mut World| {
        let op = format!("op{}", w.operations.len() + 1);
        w.operations.insert(op.clone(), 0);
        let mut response = (StatusCode::ACCEPTED, "").into_response();
        let url = format!("http://{addr}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus/operations/{op}?api-version=2024-07-01");
        response.headers_mut().insert("azure-asyncoperation", url.parse().unwrap());
        response
    };
    match (method.as_str(), rest.as_str()) {
        ("GET", "") => {
            let body = json!({"name": "vmss-web", "location": "westus", "etag": etag,
                "sku": {"name": "Standard_D2s_v3", "tier": "Standard", "capacity": w.capacity},
                "properties": {"provisioningState": "Succeeded", "overprovision": true, "orchestrationMode": "Uniform",
                               "scaleInPolicy": {"rules": ["Default"]}}});
            let mut response = reply(200, body);
            response.headers_mut().insert("etag", etag.parse().unwrap());
            response
                .headers_mut()
                .insert("x-ms-ratelimit-remaining-subscription-global-reads", "3749".parse().unwrap());
            response
        }
        ("PATCH", "") => {
            let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !if_match.is_empty() && if_match != etag {
                return reply(
                    412,
                    json!({"error": {"code": "PreconditionFailed", "message": "The etag does not match."}}),
                );
            }
            let update: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let Some(capacity) = update["sku"]["capacity"].as_u64() else {
                return reply(400, json!({"error": {"code": "InvalidParameter", "message": "sku.capacity"}}));
            };
            w.capacity = capacity as u32;
            w.etag += 1;
            // VirtualMachineScaleSets_Update allows only 200, still long-running (Azure-AsyncOperation).
            let mut response = accepted(w);
            *response.status_mut() = StatusCode::OK;
            response
        }
        ("POST", "/delete") => {
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let ids: Vec<u32> = request["instanceIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str()?.parse().ok())
                .collect();
            w.instances.retain(|i| !ids.contains(i));
            w.capacity = w.instances.len() as u32;
            accepted(w)
        }
        ("GET", "/virtualmachines") => {
            let start: usize = q.get("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = w
                .instances
                .iter()
                .skip(start)
                .take(w.vm_page)
                .map(|id| vm(&set_path, *id, w.protected.contains(id)))
                .collect();
            let mut body = json!({"value": page});
            if start + w.vm_page < w.instances.len() {
                body["nextLink"] = json!(format!(
                    "http://{addr}{set_path}/virtualMachines?api-version=2024-07-01&$expand=instanceView&$skiptoken={}",
                    start + w.vm_page
                ));
            }
            reply(200, body)
        }
        ("PUT", r) if r.starts_with("/virtualmachines/") => {
            let id: u32 = r.trim_start_matches("/virtualmachines/").parse().unwrap_or(u32::MAX);
            let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            if request["location"].as_str().is_none() {
                return reply(
                    400,
                    json!({"error": {"code": "LocationRequired", "message": "location is required"}}),
                );
            }
            let protect =
                request["properties"]["protectionPolicy"]["protectFromScaleIn"].as_bool().unwrap_or(false);
            w.protected.retain(|p| *p != id);
            if protect {
                w.protected.push(id);
            }
            accepted(w)
        }
        _ => reply(404, json!({"error": {"code": "NotFound", "message": "no route"}})),
    }
}

/// A port nothing listens on: bind, note the port, drop the listener.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
