//! The simulator over real HTTP on 127.0.0.1: paging, auth, If-Match, LROs, scale-out/in.

use crate::support::sim_harness::{ids, start, start_with, API};
use scaleguard::sim::SimOptions;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[tokio::test]
async fn arm_vm_list_pages_with_absolute_next_link_and_serves_every_vm_once() {
    let h = start_with(SimOptions::new("scale-out").manual_clock().arm_page_size(3)).await;
    h.advance(11); // 2 existing + 4 wanted + 2 over-provisioned
    let first =
        h.arm_json(&format!("{}/virtualMachines?{API}&$expand=instanceView", h.set_url("vmss-web"))).await;
    let next = first["nextLink"].as_str().expect("first page has nextLink");
    assert!(next.starts_with(&h.sim.arm_url()) && next.contains("$skiptoken="), "{next}");
    let (vms, pages) = h.list_vms(true).await;
    assert_eq!(pages, 3);
    let got = ids(&vms);
    assert_eq!(got.len(), 8);
    assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 8, "each VM exactly once: {got:?}");
}

#[tokio::test]
async fn arm_vm_json_has_the_real_shape() {
    let h = start("steady").await;
    let (vms, _) = h.list_vms(true).await;
    let vm = &vms[2];
    assert_eq!(vm["name"], "vmss-web_2");
    assert_eq!(vm["instanceId"], "2");
    assert_eq!(vm["properties"]["osProfile"]["computerName"], "vmssweb000002");
    assert!(uuid::Uuid::parse_str(vm["properties"]["vmId"].as_str().unwrap()).is_ok());
    assert_eq!(vm["properties"]["protectionPolicy"]["protectFromScaleIn"], false);
    let codes: Vec<&str> = vm["properties"]["instanceView"]["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ProvisioningState/succeeded", "PowerState/running"]);
    let (plain, _) = h.list_vms(false).await;
    assert!(plain[0]["properties"].get("instanceView").is_none(), "no instanceView key without $expand");
}

#[tokio::test]
async fn octopus_pages_are_capped_and_every_item_is_served_once() {
    let h = start_with(SimOptions::new("scale-in").manual_clock().octopus_page_size(4)).await;
    let first = h.octo_get("/Spaces-1/machines?skip=0&take=100").await;
    assert_eq!(first["Items"].as_array().unwrap().len(), 4, "the server returns fewer than asked");
    assert_eq!(first["TotalResults"], 6);
    assert_eq!(first["ItemsPerPage"], 4);
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let page = h.octo_get(&format!("/Spaces-1/machines?skip={skip}&take=100")).await;
        let items = page["Items"].as_array().unwrap();
        seen.extend(items.iter().map(|m| m["Id"].as_str().unwrap().to_string()));
        skip += items.len();
        if page["Links"].get("Page.Next").is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 6);
}

#[tokio::test]
async fn arm_rejects_missing_or_wrong_token_and_missing_api_version() {
    let h = start("steady").await;
    let url = format!("{}?{API}", h.set_url("vmss-web"));
    let none = h.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let wrong = h.http.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = h.arm_get(&h.set_url("vmss-web")).await;
    assert_eq!(missing.status(), 400);
    let unknown = h.arm_get(&format!("{}?{API}", h.set_url("vmss-nope"))).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    let nested = h.arm_get(&format!("{}/virtualMachines?{API}", h.set_url("vmss-nope"))).await;
    assert_eq!(nested.status(), 404);
    assert_eq!(nested.json::<Value>().await.unwrap()["error"]["code"], "ParentResourceNotFound");
    // ARM paths are case-insensitive.
    let shouting = h.set_url("VMSS-WEB").replace("resourceGroups", "RESOURCEGROUPS");
    assert_eq!(h.arm_get(&format!("{shouting}?{API}")).await.status(), 200);
}

#[tokio::test]
async fn octopus_auth_distinguishes_401_and_read_only_403() {
    let h = start("steady").await;
    assert_eq!(h.http.get(h.octo("")).send().await.unwrap().status(), 200, "GET /api needs no key");
    assert_eq!(h.http.get(h.octo("/Spaces-1/machines")).send().await.unwrap().status(), 401);
    let wrong = h
        .http
        .get(h.octo("/Spaces-1/machines"))
        .header("X-Octopus-ApiKey", "API-WRONG")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert!(body["ErrorMessage"].is_string());
    let ro = h.sim.read_only_api_key();
    let read = h.http.get(h.octo("/Spaces-1/machines")).header("X-Octopus-ApiKey", &ro).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let write = h
        .http
        .delete(h.octo("/Spaces-1/machines/Machines-1"))
        .header("X-Octopus-ApiKey", &ro)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let deleted = h.octo_send(reqwest::Method::DELETE, "/Spaces-1/machines/Machines-1", None).await;
    assert_eq!(deleted.status(), 200);
    let again = h.octo_send(reqwest::Method::DELETE, "/Spaces-1/machines/Machines-1", None).await;
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn patch_honours_if_match_and_its_operation_goes_in_progress_then_succeeded() {
    let h = start("steady").await;
    let url = format!("{}?{API}", h.set_url("vmss-web"));
    let before = h.arm_get(&url).await;
    let etag = before.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = before.json().await.unwrap();
    assert_eq!(body["etag"], etag.as_str());
    let head = h.arm_get(&url).await;
    assert!(head.headers()["x-ms-ratelimit-remaining-resource"]
        .to_str()
        .unwrap()
        .contains("Microsoft.Compute/"));
    assert!(head.headers().contains_key("x-ms-ratelimit-remaining-subscription-global-reads"));
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let stale = h
        .http
        .patch(&url)
        .bearer_auth(h.sim.arm_token())
        .header("If-Match", "\"999\"")
        .json(&json!({"sku": {"capacity": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["error"]["code"], "PreconditionFailed");

    let ok = h
        .http
        .patch(&url)
        .bearer_auth(h.sim.arm_token())
        .header("If-Match", &etag)
        .json(&json!({"sku": {"capacity": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "VirtualMachineScaleSets_Update allows only 200");
    assert!(ok.headers().get("retry-after").is_none());
    assert!(ok.headers().contains_key("location"));
    let op = ok.headers()["azure-asyncoperation"].to_str().unwrap().to_string();
    assert!(op.starts_with(&h.sim.arm_url()) && op.contains("/operations/"), "{op}");

    let after = h.arm_json(&url).await;
    assert_ne!(after["etag"], etag.as_str());
    assert_eq!(after["sku"]["capacity"], 5);
    assert_eq!(after["properties"]["provisioningState"], "Updating");
    let status = h.arm_json(&op).await;
    assert_eq!(status["status"], "InProgress");
    assert!(status.get("endTime").is_none());
    h.advance(200);
    let status = h.arm_json(&op).await;
    assert_eq!(status["status"], "Succeeded");
    assert!(status["endTime"].is_string());
    assert_eq!(h.arm_json(&url).await["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn overprovisioned_extras_show_in_listings_then_vanish() {
    let h = start("scale-out").await;
    h.advance(11);
    let (vms, _) = h.list_vms(true).await;
    assert_eq!(vms.len(), 8);
    assert_eq!(h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await["sku"]["capacity"], 6);
    h.advance(300);
    let (vms, _) = h.list_vms(true).await;
    assert_eq!(vms.len(), 6);
    let got = ids(&vms);
    assert_eq!(got[..2], [0, 1]);
    assert!(got.iter().all(|id| *id < 8));
}

#[tokio::test]
async fn scale_in_deletes_highest_unprotected_and_delete_instances_is_an_lro() {
    let h = start("scale-in").await;
    h.advance(100);
    let (vms, _) = h.list_vms(false).await;
    assert_eq!(ids(&vms), [0, 1, 5]);
    let response = h
        .http
        .post(format!("{}/delete?{API}", h.set_url("vmss-web")))
        .bearer_auth(h.sim.arm_token())
        .json(&json!({"instanceIds": ["1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let op = response.headers()["azure-asyncoperation"].to_str().unwrap().to_string();
    let (vms, _) = h.list_vms(false).await;
    assert_eq!(vms[1]["properties"]["provisioningState"], "Deleting");
    h.advance(60);
    let (vms, _) = h.list_vms(false).await;
    assert_eq!(ids(&vms), [0, 5]);
    assert_eq!(h.arm_json(&op).await["status"], "Succeeded");
    assert_eq!(h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await["sku"]["capacity"], 2);
}

#[tokio::test]
async fn protection_put_needs_location_and_answers_the_vm() {
    let h = start("steady").await;
    let url = format!("{}/virtualMachines/1?{API}", h.set_url("vmss-web"));
    let policy =
        json!({"protectionPolicy": {"protectFromScaleIn": true, "protectFromScaleSetActions": false}});
    let without = h
        .http
        .put(&url)
        .bearer_auth(h.sim.arm_token())
        .json(&json!({"properties": policy}))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 400);
    let with = h
        .http
        .put(&url)
        .bearer_auth(h.sim.arm_token())
        .json(&json!({"location": "westeurope", "properties": policy}))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    let vm: Value = with.json().await.unwrap();
    assert_eq!(vm["properties"]["protectionPolicy"]["protectFromScaleIn"], true);
    let bad = h.http.put(&url).bearer_auth(h.sim.arm_token()).body("{not json").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
}

#[tokio::test]
async fn deployment_runs_to_success_and_tasks_filter_and_cancel() {
    let h = start("steady").await;
    let releases = h.octo_get("/Spaces-1/projects/Projects-4/releases").await;
    let latest = releases["Items"][0].clone();
    assert_eq!(latest["Version"], "1.2.0", "newest first");
    let created = h
        .octo_send(
            reqwest::Method::POST,
            "/Spaces-1/deployments",
            Some(json!({"ReleaseId": latest["Id"], "EnvironmentId": "Environments-2", "SpecificMachineIds": ["Machines-1"], "ExcludedMachineIds": [], "Comments": "scale-out", "UseGuidedFailure": true})),
        )
        .await;
    assert_eq!(created.status(), 201);
    let deployment: Value = created.json().await.unwrap();
    let task_id = deployment["TaskId"].as_str().unwrap().to_string();
    assert_eq!(h.octo_get(&format!("/tasks/{task_id}")).await["State"], "Queued");
    h.advance(2);
    let running = h.octo_get("/tasks?states=Executing,Cancelling").await;
    assert_eq!(running["Items"][0]["Id"], task_id.as_str());
    h.advance(60);
    assert_eq!(h.octo_get(&format!("/Spaces-1/tasks/{task_id}")).await["State"], "Success");
    let done = h.octo_get(&format!("/Spaces-1/deployments/{}", deployment["Id"].as_str().unwrap())).await;
    assert_eq!(done["DeployedToMachineIds"], json!(["Machines-1"]));
    let listed = h.octo_get("/Spaces-1/deployments?projects=Projects-4&taskState=Success").await;
    assert_eq!(listed["Items"][0]["Id"], deployment["Id"], "newest first");

    let second = h
        .octo_send(
            reqwest::Method::POST,
            "/Spaces-1/deployments",
            Some(json!({"ReleaseId": latest["Id"], "EnvironmentId": "Environments-2"})),
        )
        .await;
    let task = second.json::<Value>().await.unwrap()["TaskId"].as_str().unwrap().to_string();
    h.advance(2);
    let cancel = h.octo_send(reqwest::Method::POST, &format!("/Spaces-1/tasks/{task}/cancel"), None).await;
    assert_eq!(cancel.status(), 200);
    assert_eq!(h.octo_get(&format!("/tasks/{task}")).await["State"], "Cancelling");
    h.advance(5);
    assert_eq!(h.octo_get(&format!("/tasks/{task}")).await["State"], "Canceled");

    let bad = h.octo_send(reqwest::Method::POST, "/Spaces-1/deployments", Some(json!({"Nope": 1}))).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn nodes_drain_and_delete() {
    let h = start("ha-drain").await;
    h.advance(120);
    let summary = h.octo_get("/octopusservernodes/summary").await;
    let nodes = summary["Nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().map(|n| n["RunningTaskCount"].as_u64().unwrap()).sum::<u64>() > 0, "busy cluster");
    let id = nodes[0]["Id"].as_str().unwrap().to_string();
    let put = h
        .octo_send(
            reqwest::Method::PUT,
            &format!("/octopusservernodes/{id}"),
            Some(json!({"Id": id, "Name": nodes[0]["Name"], "IsInMaintenanceMode": true, "MaxConcurrentTasks": 5})),
        )
        .await;
    assert_eq!(put.status(), 200);
    h.advance(120);
    let details = h.octo_get(&format!("/octopusservernodes/{id}/details")).await;
    assert_eq!(
        details["RunningTasks"],
        json!([]),
        "a draining node finishes its tasks and takes no new ones"
    );
    let delete = h.octo_send(reqwest::Method::DELETE, &format!("/octopusservernodes/{id}"), None).await;
    assert_eq!(delete.status(), 200);
    assert_eq!(h.octo_get("/octopusservernodes").await["TotalResults"], 2);
}

#[tokio::test]
async fn killed_node_goes_offline_and_its_tasks_stay_executing() {
    let h = start("ha-drain").await;
    h.advance(60);
    let summary = h.octo_get("/octopusservernodes/summary").await;
    let busy = summary["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["RunningTaskCount"].as_u64() > Some(0))
        .unwrap()
        .clone();
    let id = busy["Id"].as_str().unwrap().to_string();
    let response = h
        .http
        .post(format!("{}/_sim/event", h.sim.arm_url()))
        .json(&json!({"action": "kill_node", "node": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    h.advance(400);
    let node = h.octo_get(&format!("/octopusservernodes/{id}")).await;
    assert_eq!(node["IsOffline"], true);
    let stuck = h.octo_get(&format!("/tasks?node={id}&states=Executing,Cancelling")).await;
    assert!(stuck["TotalResults"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn machines_filter_roles_any_of_and_names() {
    let h = start("steady").await;
    let any = h.octo_get("/Spaces-1/machines?roles=vmss-web,other-role").await;
    assert_eq!(any["TotalResults"], 3, "roles are any-of, on purpose");
    assert_eq!(h.octo_get("/Spaces-1/machines?roles=other-role").await["TotalResults"], 0);
    assert_eq!(h.octo_get("/Spaces-1/machines?name=vmssweb000001").await["TotalResults"], 1);
    assert_eq!(h.octo_get("/Spaces-1/machines?partialName=web00000").await["TotalResults"], 3);
    assert_eq!(h.octo_get("/Spaces-1/machines?healthStatuses=Unavailable").await["TotalResults"], 0);
    h.sim.apply(scaleguard::sim::EventAction::StopTentacle { machine: "vmssweb000001".into() }).unwrap();
    assert_eq!(h.octo_get("/Spaces-1/machines?healthStatuses=Unavailable").await["TotalResults"], 1);
    let (vms, _) = h.list_vms(false).await;
    assert_eq!(vms.len(), 3, "the VM stays when its tentacle stops");
    let project = h.octo_get("/Spaces-1/projects/Projects-4").await;
    assert_eq!(project["ProjectConnectivityPolicy"]["AllowDeploymentsToNoTargets"], true);
    let policy = h.octo_get("/Spaces-1/machinepolicies/MachinePolicies-1").await;
    assert_eq!(policy["MachineCleanupPolicy"]["DeleteMachinesBehavior"], "DoNotDelete");
    assert_eq!(h.octo_get("/spaces").await["Items"][0]["Id"], "Spaces-1");
    assert_eq!(h.octo_get("/Spaces-1/environments/all").await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn stats_count_requests_by_endpoint() {
    let h = start("steady").await;
    h.sim.reset_stats();
    h.list_vms(true).await;
    h.octo_get("/Spaces-1/machines").await;
    h.octo_get("/octopusservernodes/summary").await;
    let stats = h.sim.stats();
    assert_eq!(stats.total, 3);
    assert_eq!(stats.get("arm.list_vms"), 1);
    assert_eq!(stats.get("octopus.machines"), 1);
    assert_eq!(stats.get("octopus.octopusservernodes.summary"), 1);
    let over_http: Value =
        h.http.get(format!("{}/_sim/stats", h.sim.arm_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(over_http["total"], 3);
}

#[tokio::test]
async fn misconfigured_scenario_shows_what_doctor_should_flag() {
    let h = start("misconfigured").await;
    let machines = h.octo_get("/Spaces-1/machines").await;
    let items = machines["Items"].as_array().unwrap();
    assert!(items.iter().all(|m| m["Endpoint"]["CommunicationStyle"] == "TentacleActive"));
    assert_eq!(items[0]["Thumbprint"], items[1]["Thumbprint"], "duplicate thumbprints");
    assert!(
        items.iter().all(|m| m["Name"].as_str().unwrap().starts_with("VMSSWEB")),
        "Windows: upper-case names"
    );
    let policy = h.octo_get("/Spaces-1/machinepolicies/MachinePolicies-1").await;
    assert_eq!(policy["IsDefault"], true);
    assert_eq!(policy["MachineCleanupPolicy"]["DeleteMachinesBehavior"], "DeleteUnavailableMachines");
    assert_eq!(policy["MachineCleanupPolicy"]["DeleteMachinesElapsedTimeSpan"], "00:20:00");
    let project = h.octo_get("/Spaces-1/projects/all").await[0].clone();
    assert_eq!(project["ProjectConnectivityPolicy"]["AllowDeploymentsToNoTargets"], false);
    assert_eq!(project["DefaultGuidedFailureMode"], "Off");
    let summary = h.octo_get("/octopusservernodes/summary").await;
    let versions: BTreeSet<&str> =
        summary["Nodes"].as_array().unwrap().iter().map(|n| n["Version"].as_str().unwrap()).collect();
    assert_eq!(versions.len(), 2, "nodes on different versions");
    let root: Value = h.http.get(h.octo("")).send().await.unwrap().json().await.unwrap();
    assert!(versions.contains(root["Version"].as_str().unwrap()));
}

#[tokio::test]
async fn real_clock_runs_at_speed() {
    let h = start_with(SimOptions::new("scale-out").speed(1000.0)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (vms, _) = h.list_vms(true).await;
    assert_eq!(vms.len(), 6, "500 simulated seconds: the scale-out has settled");
    assert!(h.sim.sim_time() >= 500.0);
    h.sim.shutdown().await;
}

/// `GET /_sim/clock`: what `--sim-clock` reads. A manual clock answers its simulated time and a
/// null speed; a real-time one its speed, its time moving on at that speed.
#[tokio::test]
async fn the_clock_endpoint_says_the_simulated_time_and_its_speed() {
    let read = |h: &crate::support::sim_harness::Harness| {
        let url = format!("{}/_sim/clock", h.sim.octopus_url());
        let http = h.http.clone();
        async move { http.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let parse = |clock: &Value| {
        time::OffsetDateTime::parse(
            clock["now"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let h = start("steady").await;
    h.advance(90);
    let clock = read(&h).await;
    assert_eq!(clock["speed"], Value::Null, "{clock}");
    assert_eq!(parse(&clock), h.sim.now(), "{clock}");
    h.sim.shutdown().await;

    let h = start_with(SimOptions::new("steady").speed(1000.0)).await;
    let first = read(&h).await;
    assert_eq!(first["speed"], json!(1000.0), "{first}");
    let second = read(&h).await;
    assert!(parse(&second) > parse(&first), "{first} then {second}");
    h.sim.shutdown().await;
}
