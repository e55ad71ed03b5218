//! The issue-13 review's breaks that need more than one fault to reproduce, with the real binary
//! against the simulator: a host renamed in the guest, a `match` setting switched, a target id
//! shaped like a path, an Octopus listing without `TotalResults`, deployments that do not say
//! what they reached, vmIds that change case. Each run checks the promise it was about: no target
//! of a running VM deleted, no release deployed twice.
//!
//! Rows print `TABLE| fault | what the user sees | guaranteed |` like tests/it/fault_suite.rs.

use crate::support::bench::{set_toml, Bench, Run, MACHINES, SCALE_SET};
use scaleguard::sim::{FaultSpec, SimOptions};
use std::time::Duration;

const ALWAYS: u32 = 10_000;

fn fault(target: &str, kind: &str) -> FaultSpec {
    FaultSpec {
        target: target.into(),
        kind: kind.into(),
        count: ALWAYS,
        retry_after_secs: None,
        delay_ms: None,
    }
}

fn table_row(fault: &str, seen: &str, guaranteed: &str) {
    let seen = seen.trim().replace('|', "\\|").replace('\n', " ");
    eprintln!("TABLE| {fault} | `{seen}` | {guaranteed} |");
}

async fn scale_in_ready() -> Bench {
    let options = SimOptions::new("scale-in").manual_clock();
    Bench::scale_in_ready(options, |toml| set_toml(&toml, "timeout_secs", "2")).await
}

/// Three `apply --yes` runs, 1.1 s apart on the simulator's clock (K = 3 over 1 s would delete on
/// the third), each checked: no target whose VM exists is deleted. Returns the runs.
async fn three_applies(bench: &Bench, what: &str) -> Vec<Run> {
    let before = bench.machines();
    let mut runs = Vec::new();
    for round in 1..=3 {
        let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
        let context = format!(
            "{what} (run {round}): exit {}\nstderr: {}\nstdout: {}",
            run.code, run.stderr, run.stdout
        );
        run.assert_no_panic(&context);
        bench.assert_journal_paired(&context);
        let after = bench.machines();
        for (id, vm) in before.iter().filter(|(id, _)| !after.contains_key(*id)) {
            let vm = vm.as_ref().expect("scale-set targets only");
            assert!(!bench.vm_exists(vm), "{context}\ndeleted {id} while its VM exists");
        }
        runs.push(run);
        bench.sim.advance(Duration::from_millis(1_100)).unwrap();
    }
    runs
}

/// The machine id of a target whose VM still exists, with that VM's instance id.
fn a_live_target(bench: &Bench) -> (String, u64) {
    bench
        .machines()
        .into_iter()
        .find_map(|(id, vm)| vm.filter(|vm| bench.vm_exists(vm)).map(|(_, instance)| (id, instance)))
        .expect("a target of a running VM")
}

/// Break 5: the guest renamed its host (instance view `GUEST-<id>`, osProfile unchanged) and the
/// tentacle registered under the new name; its target was deleted while the VM ran.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_registered_under_the_guests_new_name_is_kept() {
    let bench = scale_in_ready().await;
    let (renamed, instance) = a_live_target(&bench);
    bench.sim.with_world_mut(|w| {
        let machine = w.machines.iter_mut().find(|m| m.id == renamed).unwrap();
        machine.name = format!("GUEST-{instance}");
    });
    bench.sim.inject_fault(fault(SCALE_SET, "renamed_guest")).unwrap();
    let runs = three_applies(&bench, "renamed guest").await;
    assert!(bench.machines().contains_key(&renamed), "{renamed} (GUEST-{instance}) kept: {runs:#?}");
    assert_eq!(bench.machines().len(), 3, "the three scaled-in VMs' targets, and only those, go: {runs:#?}");
    table_row(
        "host renamed in the guest, target registered under the new name",
        &format!("exit 0: GUEST-{instance} matched by instanceView.computerName; `done delete-target …` ×3"),
        "the renamed host's target kept; only the scaled-in VMs' targets deleted",
    );
}

/// Break 6: `match` switched to `instance_name` (an operator slip): no target's name matched any
/// VM, and every target of a running VM was deleted.
#[tokio::test(flavor = "multi_thread")]
async fn switching_match_settings_deletes_no_target_of_a_running_vm() {
    let bench = scale_in_ready().await;
    let toml = std::fs::read_to_string(&bench.config).unwrap();
    std::fs::write(&bench.config, toml.replace("match = \"computer_name\"", "match = \"instance_name\""))
        .unwrap();
    let runs = three_applies(&bench, "match switched").await;
    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 0, 0], "{runs:#?}");
    let last = runs.last().unwrap().json();
    let held = last["plan"]["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["id"] == "note:never-matched-held")
        .cloned();
    // The running VMs' targets stand for VMs still listed; the scaled-in VMs' targets were never
    // matched (their VMs were gone before the first run) and every VM now lacks a target: held.
    assert_eq!(bench.machines().len(), 6, "nothing is deleted on a name mismatch: {runs:#?}");
    let held = held.unwrap_or_else(|| panic!("the plan says why deletes are held: {runs:#?}"));
    let reason = held["reason"].as_str().unwrap_or_default().to_string();
    table_row(
        "`match` switched to instance_name (no target name matches a VM)",
        &reason,
        "exit 0 over 3 runs, nothing deleted: a matched target goes only with its own VM (by vmId), a never-matched one only while every VM has a target",
    );
}

/// Break 7: a target whose Id was `Machines-99/../Machines-1` had its DELETE land on
/// `Machines-1`, whose VM runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_id_shaped_like_a_path_refuses_the_listing() {
    let bench = scale_in_ready().await;
    bench.sim.inject_fault(fault(MACHINES, "traversal_id")).unwrap();
    let runs = three_applies(&bench, "traversal id").await;
    assert_eq!(runs.iter().map(|r| r.code).collect::<Vec<_>>(), [1, 1, 1], "{runs:#?}");
    assert_eq!(bench.stat("octopus.machines.delete"), 0);
    let errors = runs[2].error_lines();
    assert_eq!(errors.len(), 1, "{runs:#?}");
    assert!(
        errors[0].contains("Machines-99/../Machines-1") && errors[0].contains("GET /api/Spaces-1/machines")
    );
    table_row(
        "a target Id `Machines-99/../Machines-1` in the listing",
        errors[0],
        "exit 1 over 3 runs: the listing is refused, no DELETE is sent",
    );
}

/// Break 11: an Octopus listing without `TotalResults` was paged by links alone (endless, or
/// taken as complete).
#[tokio::test(flavor = "multi_thread")]
async fn an_octopus_listing_without_total_results_refuses() {
    let bench = scale_in_ready().await;
    bench.sim.inject_fault(fault(MACHINES, "no_total")).unwrap();
    let runs = three_applies(&bench, "no TotalResults").await;
    assert_eq!(runs.iter().map(|r| r.code).collect::<Vec<_>>(), [1, 1, 1], "{runs:#?}");
    assert_eq!(bench.stat("octopus.machines.delete"), 0);
    let errors = runs[2].error_lines();
    assert!(
        errors[0].contains("TotalResults") && errors[0].contains("GET /api/Spaces-1/machines"),
        "{errors:?}"
    );
    table_row("Octopus listing without TotalResults", errors[0], "exit 1 over 3 runs, nothing deleted");
}

// ---- never deploy twice ----

async fn deploy_ready() -> (Bench, serde_json::Value) {
    Bench::deploy_ready(SimOptions::new("scale-out").manual_clock(), |t| t).await
}

/// Break 8: successful deployments without `DeployedToMachineIds` (Octopus 3.x; or null) read as
/// "reached nobody", and the release went to every target.
#[tokio::test(flavor = "multi_thread")]
async fn deployments_that_do_not_say_what_they_reached_deploy_nothing() {
    let (bench, _) = deploy_ready().await;
    bench.sim.inject_fault(fault("/api/Spaces-1", "no_deployed_to")).unwrap();
    let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
    run.assert_no_panic("no DeployedToMachineIds");
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(bench.stat("octopus.deployments.post"), 0, "never redeployed on an unknown: {run:#?}");
    let json = run.json();
    let note = json["plan"]["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["id"].as_str().is_some_and(|id| id.starts_with("note:unknown-reach:")))
        .cloned()
        .unwrap_or_else(|| panic!("the plan says why: {run:#?}"));
    let reason = note["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("DeployedToMachineIds"), "{reason}");
    table_row(
        "successful deployments without DeployedToMachineIds",
        &reason,
        "exit 0, no deployment: the targets they covered are held with a note",
    );
}

/// Break 9: vmIds in upper case after an honest run read as new VMs under reused instance ids,
/// and the release was redeployed to every target.
#[tokio::test(flavor = "multi_thread")]
async fn vm_ids_in_another_case_cause_no_second_deployment() {
    let (bench, _) = deploy_ready().await;
    let first = bench.run(&["apply", "--yes", "--format", "json"]).await;
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(bench.stat("octopus.deployments.post"), 1);
    // The deployment runs and succeeds.
    for _ in 0..30 {
        bench.sim.advance(Duration::from_secs(30)).unwrap();
        if bench.deployments().iter().all(|(.., state, _)| state == "Success") {
            break;
        }
    }
    bench.sim.inject_fault(fault(SCALE_SET, "vm_id_case")).unwrap();
    for round in 1..=2 {
        bench.sim.advance(Duration::from_millis(1_100)).unwrap();
        let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
        run.assert_no_panic("vmId case");
        assert_eq!(run.code, 0, "round {round}: {run:#?}");
    }
    assert_eq!(
        bench.stat("octopus.deployments.post"),
        1,
        "one deployment in all: {:#?}",
        bench.deployments()
    );
    table_row(
        "vmIds in upper case after an honest run",
        "exit 0: nothing to do",
        "vmIds compare case-insensitively: no VM reads as new, no second deployment",
    );
}
