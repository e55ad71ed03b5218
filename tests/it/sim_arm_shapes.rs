//! The simulator's hostile-but-well-formed ARM answers (issue 13), over real HTTP: what each
//! fault kind does to the scale-set GET and the VM list.

use crate::support::sim_harness::{self, ids, start_with, API};
use scaleguard::sim::{FaultSpec, SimOptions};
use serde_json::Value;

fn fault(kind: &str, count: u32) -> FaultSpec {
    FaultSpec { target: "arm".into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
}

async fn one_per_page() -> sim_harness::Harness {
    start_with(SimOptions::new("steady").manual_clock().arm_page_size(1)).await
}

fn first_page(h: &sim_harness::Harness) -> String {
    format!("{}/virtualMachines?{API}&$expand=instanceView", h.set_url("vmss-web"))
}

#[tokio::test]
async fn truncated_while_updating_reports_updating_and_drops_the_next_link() {
    let h = one_per_page().await;
    h.sim.inject_fault(fault("truncated_while_updating", 2)).unwrap();
    let set = h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(set["properties"]["provisioningState"], "Updating");
    let page = h.arm_json(&first_page(&h)).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert!(page.get("nextLink").is_none());
    let set = h.arm_json(&format!("{}?{API}", h.set_url("vmss-web"))).await;
    assert_eq!(set["properties"]["provisioningState"], "Succeeded", "count = 2 used up");
}

#[tokio::test]
async fn duplicate_vm_repeats_the_previous_pages_vm_and_loses_one() {
    let h = one_per_page().await;
    let (clean, _) = h.list_vms(false).await;
    h.sim.inject_fault(fault("duplicate_vm", 100)).unwrap();
    let (vms, pages) = h.list_vms(false).await;
    assert_eq!((vms.len(), pages), (clean.len(), clean.len()), "the count stays right");
    let mut listed = ids(&vms);
    assert_eq!(listed[1], listed[0], "page 2 repeats page 1's VM");
    listed.dedup();
    assert_eq!(listed.len(), clean.len() - 1, "one VM is missing");
}

#[tokio::test]
async fn unnamed_kinds_take_the_computer_name_away_as_real_answers_do() {
    let h = start_with(SimOptions::new("steady").manual_clock()).await;
    let names = |page: &Value| -> Vec<(Value, Value)> {
        page["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|vm| {
                let props = &vm["properties"];
                (props["osProfile"]["computerName"].clone(), props["instanceView"]["computerName"].clone())
            })
            .collect()
    };
    h.sim.inject_fault(fault("no_os_profile", 1)).unwrap();
    let page = h.arm_json(&first_page(&h)).await;
    assert!(page["value"][0]["properties"].get("osProfile").is_none());
    assert!(names(&page).iter().all(|(_, view)| view.is_string()), "the instance view still names it");
    for (kind, os, view) in [
        ("unnamed_vm", Value::Null, Value::Null),
        ("null_computer_name", Value::Null, Value::Null),
        ("empty_computer_name", Value::from(""), Value::from("")),
    ] {
        h.sim.inject_fault(fault(kind, 1)).unwrap();
        let page = h.arm_json(&first_page(&h)).await;
        assert!(names(&page).iter().all(|n| *n == (os.clone(), view.clone())), "{kind}: {:?}", names(&page));
    }
    let null = {
        h.sim.inject_fault(fault("null_computer_name", 1)).unwrap();
        h.arm_json(&first_page(&h)).await
    };
    assert!(null["value"][0]["properties"]["osProfile"].get("computerName").is_some_and(Value::is_null));
}

#[tokio::test]
async fn foreign_next_link_points_at_the_given_loopback_port() {
    let h = one_per_page().await;
    h.sim.inject_fault(fault("foreign_next_link:4123", 1)).unwrap();
    let page = h.arm_json(&first_page(&h)).await;
    let next = page["nextLink"].as_str().unwrap();
    assert!(next.starts_with("http://127.0.0.1:4123/subscriptions/"), "{next}");
    assert!(next.contains("$skiptoken="), "{next}");
}

#[tokio::test]
async fn paging_loop_points_back_to_the_first_page() {
    let h = one_per_page().await;
    h.sim.inject_fault(fault("paging_loop", 2)).unwrap();
    let first = h.arm_json(&first_page(&h)).await;
    let next = first["nextLink"].as_str().unwrap().to_string();
    assert!(!next.contains("skiptoken"), "{next}");
    let again = h.arm_json(&next).await;
    assert_eq!(again["value"], first["value"], "the same page again");
}
