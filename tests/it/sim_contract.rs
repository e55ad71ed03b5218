//! Endpoints the platforms' own clients call that scaleguard itself does not (found by the
//! conformance suite in `conformance/`): the simulator serves them with the real shapes.

use crate::support::sim_harness::{start, start_with, API, SUB};
use scaleguard::sim::SimOptions;
use serde_json::Value;

#[tokio::test]
async fn arm_lists_the_scale_sets_of_a_resource_group() {
    let h = start("steady").await;
    let base = format!(
        "{}/subscriptions/{SUB}/resourceGroups/RG-WEB/providers/Microsoft.Compute/virtualMachineScaleSets",
        h.sim.arm_url()
    );
    let list = h.arm_json(&format!("{base}?{API}")).await;
    let names: Vec<&str> =
        list["value"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["vmss-web"]);
    assert!(list.get("nextLink").is_none(), "a single page has no nextLink key: {list}");
    let single = h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(list["value"][0], single, "each item is the scale set as GET returns it");

    let unknown = h.arm_get(&format!("{}?{API}", base.replace("RG-WEB", "rg-nope"))).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ResourceGroupNotFound");
}

#[tokio::test]
async fn octopus_serves_an_environments_machines_paged() {
    let h = start_with(SimOptions::new("steady").manual_clock().octopus_page_size(2)).await;
    let environments = h.octo_get("/Spaces-1/environments/all").await;
    let production = environments.as_array().unwrap().iter().find(|e| e["Name"] == "Production").unwrap();
    let link = production["Links"]["Machines"].as_str().unwrap();
    let path = link.trim_start_matches("/api").split('{').next().unwrap().to_string();
    let mut names = Vec::new();
    let mut skip = 0;
    loop {
        let page = h.octo_get(&format!("{path}?skip={skip}&take=30")).await;
        let items = page["Items"].as_array().unwrap();
        assert!(items.iter().all(|m| m["EnvironmentIds"].as_array().unwrap().contains(&production["Id"])));
        names.extend(items.iter().map(|m| m["Name"].as_str().unwrap().to_string()));
        skip += items.len();
        if page["Links"].get("Page.Next").is_none() {
            break;
        }
    }
    let everywhere = h.octo_get("/Spaces-1/machines/all").await;
    let expected = everywhere
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["EnvironmentIds"].as_array().unwrap().contains(&production["Id"]))
        .count();
    assert!(expected > 2, "the test needs more than one page");
    assert_eq!(names.len(), expected, "{names:?}");
    let missing =
        h.octo_send(reqwest::Method::GET, "/Spaces-1/environments/Environments-999/machines", None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn octopus_lists_a_spaces_releases_newest_first() {
    let h = start("steady").await;
    let releases = h.octo_get("/Spaces-1/releases?skip=0&take=30").await;
    assert_eq!(releases["ItemType"], "Release");
    let items = releases["Items"].as_array().unwrap();
    assert!(!items.is_empty());
    let assembled: Vec<&str> = items.iter().map(|r| r["Assembled"].as_str().unwrap()).collect();
    let mut newest_first = assembled.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(assembled, newest_first);
    let project = items[0]["ProjectId"].as_str().unwrap();
    let per_project = h.octo_get(&format!("/Spaces-1/projects/{project}/releases")).await;
    assert_eq!(per_project["Items"][0]["Id"], items[0]["Id"], "the newest release is the project's newest");
}

#[tokio::test]
async fn octopus_serves_the_task_details_it_links_to() {
    let h = start("steady").await;
    let tasks = h.octo_get("/tasks?skip=0&take=1").await;
    let task = &tasks["Items"][0];
    let link = task["Links"]["Details"].as_str().unwrap();
    let path = link.trim_start_matches("/api").split('{').next().unwrap().to_string();
    let details = h.octo_get(&path).await;
    assert_eq!(details["Task"]["Id"], task["Id"]);
    let done = task["IsCompleted"].as_bool().unwrap();
    assert_eq!(details["Progress"]["ProgressPercentage"], if done { 100 } else { 0 });
    assert!(details["ActivityLogs"].is_array());
}
