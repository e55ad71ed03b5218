//! The console on `ha-scale` (four HA nodes on vmss-octo's VMs; two busy for an hour, one for
//! 90 s, one idle), the real binary in a pseudo-terminal: the nodes pane pairs each node with its
//! VM, and a scale-in by 2 started with `S` there drains the idle and the short-busy node, waits
//! for the busy one's task, removes exactly their two VMs with one delete, then deletes exactly
//! their node records; nothing is cancelled.

use crate::support::pty::Console;
use scaleguard::sim::{self, RunningSim, SimOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(40);

fn world(sim: &RunningSim) -> (Vec<u64>, Vec<String>) {
    sim.with_world(|w| {
        let set = &w.scale_sets[w.set_index("vmss-octo").unwrap()];
        let mut nodes: Vec<String> = w.nodes.iter().map(|n| n.name.clone()).collect();
        nodes.sort();
        (set.vms.iter().map(|vm| vm.instance_id).collect(), nodes)
    })
}

/// `ha-scale` at 20×, its profile written, and the console's environment (its data dir inside
/// the returned temporary directory, `data`).
async fn ha_scale() -> (Arc<RunningSim>, tempfile::TempDir, String, Vec<(String, String)>) {
    let sim = Arc::new(sim::start(SimOptions::new("ha-scale").speed(20.0)).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, sim.profile_toml()).unwrap();
    let mut envs: Vec<(String, String)> = sim.env().into_iter().collect();
    envs.push(("SCALEGUARD_DATA_DIR".into(), dir.path().join("data").display().to_string()));
    (sim, dir, config.display().to_string(), envs)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_console_scale_in_by_two_drains_first_then_removes_exactly_those_vms_and_nodes() {
    let _shared = crate::ALONE.read().await;
    let (sim, _dir, config, envs) = ha_scale().await;
    let watched = sim.clone();
    let screens = tokio::task::spawn_blocking(move || {
        let sim = watched;
        let console = Console::start(&["--config", &config, "tui"], &envs);
        console.send("3");
        let paired = console.wait_for("the nodes paired with their VMs", WITHIN, |s| {
            s.contains("OCTO000003") && s.contains("vmss-octo/3") && s.contains("vmss-octo/0")
        });
        console.send("S");
        console.wait_for("the scale dialog on the nodes' set", WITHIN, |s| s.contains("Scale vmss-octo"));
        console.send("2");
        let planned = console.wait_for("the drain-first plan", WITHIN, |s| s.contains("drain-first"));
        console.send("\tnightly\t");
        console.send("vmss-octo");
        console.send("\r");
        console.send("\r");
        let deadline = Instant::now() + Duration::from_secs(60);
        while world(&sim) != (vec![0, 1], vec!["OCTO000000".into(), "OCTO000001".into()]) {
            assert!(
                Instant::now() < deadline,
                "the scale-in did not finish: {:?}\n{}",
                world(&sim),
                console.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let ended = console.wait_for("the end of the scale-in", WITHIN, |s| s.contains("removed"));
        let status = console.quit();
        assert!(status.success(), "{status:?}");
        (paired, planned, ended)
    })
    .await
    .unwrap();
    let (paired, planned, ended) = screens;
    // Idle (or, in its first seconds, not yet seen heartbeating: nothing runs there either).
    assert!(planned.contains("Remove       OCTO000003 (VM 3): "), "{planned}");
    assert!(planned.contains("OCTO000002 (VM 2)"), "{planned}");
    assert!(!planned.contains("OCTO000000 (VM 0)") && !planned.contains("OCTO000001 (VM 1)"), "{planned}");
    assert!(paired.contains("VM"), "the nodes pane has a VM column: {paired}");
    assert!(ended.contains("removed"), "{ended}");
    let stats = sim.stats();
    assert_eq!(stats.get("arm.delete_instances"), 1, "the two VMs, by id, in one delete");
    assert_eq!(stats.get("arm.patch_scale_set"), 0, "never a capacity decrement that lets Azure pick");
    assert_eq!(stats.get("octopus.octopusservernodes.delete"), 2, "exactly the two node records");
    assert_eq!(stats.get("octopus.tasks.cancel"), 0, "no task cancelled: the busy victim's task finished");
    let untouched = sim.with_world(|w| w.nodes.iter().all(|n| !n.is_in_maintenance_mode));
    assert!(untouched, "the nodes left were never drained");
}

/// A console killed while its scale-in drains: the next console says so, and `S` on the nodes
/// pane resumes that job (the set's name typed) to the same end, repeating nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_scale_in_left_by_a_killed_console_is_resumed_from_the_next_one() {
    let _shared = crate::ALONE.read().await;
    let (sim, _dir, config, envs) = ha_scale().await;
    let watched = sim.clone();
    let offered = tokio::task::spawn_blocking(move || {
        let sim = watched;
        let first = Console::start(&["--config", &config, "tui"], &envs);
        first.send("3");
        first.wait_for("the nodes paired", WITHIN, |s| s.contains("vmss-octo/3"));
        first.send("S");
        first.wait_for("the scale dialog", WITHIN, |s| s.contains("Scale vmss-octo"));
        first.send("2");
        first.wait_for("the drain-first plan", WITHIN, |s| s.contains("drain-first"));
        first.send("\tnightly\t");
        first.send("vmss-octo");
        first.send("\r");
        first.send("\r");
        // Killed once a victim shows drain on, long before the 90 s (4.5 s here) task ends.
        let deadline = Instant::now() + WITHIN;
        while !sim.with_world(|w| w.nodes.iter().any(|n| n.is_in_maintenance_mode)) {
            assert!(Instant::now() < deadline, "no drain started:\n{}", first.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(first);

        let second = Console::start(&["--config", &config, "tui"], &envs);
        let offered = second.wait_for("the unfinished scale-in announced", WITHIN, |s| {
            s.contains("unfinished drain-first scale-in of vmss-octo")
        });
        second.send("3");
        second.send("S");
        second.wait_for("the resume dialog", WITHIN, |s| s.contains("Resume the scale-in of vmss-octo"));
        second.send("vmss-octo");
        second.send("\t");
        second.send("\r");
        let deadline = Instant::now() + Duration::from_secs(60);
        while world(&sim) != (vec![0, 1], vec!["OCTO000000".into(), "OCTO000001".into()]) {
            assert!(
                Instant::now() < deadline,
                "not resumed to its end: {:?}\n{}",
                world(&sim),
                second.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        second.wait_for("the end of the scale-in", WITHIN, |s| s.contains("removed"));
        let status = second.quit();
        assert!(status.success(), "{status:?}");
        offered
    })
    .await
    .unwrap();
    assert!(offered.contains("press S on the nodes pane"), "{offered}");
    let stats = sim.stats();
    assert_eq!(stats.get("arm.delete_instances"), 1, "the two VMs in one delete, across both consoles");
    assert_eq!(stats.get("octopus.octopusservernodes.delete"), 2, "exactly the two node records");
    assert_eq!(stats.get("octopus.tasks.cancel"), 0, "nothing cancelled");
}

/// `v` on a node admits it as `node admit` does: its checks shown, the cap typed, journaled.
#[tokio::test(flavor = "multi_thread")]
async fn v_admits_the_selected_node_with_the_cap_typed() {
    let _shared = crate::ALONE.read().await;
    let (sim, dir, config, envs) = ha_scale().await;
    let data = dir.path().join("data");
    let watched = sim.clone();
    let dialog = tokio::task::spawn_blocking(move || {
        let console = Console::start(&["--config", &config, "tui"], &envs);
        console.send("3");
        console.wait_for("the nodes", WITHIN, |s| s.contains("OCTO000003"));
        console.send("G");
        console.wait_for("the last node selected", WITHIN, |s| s.contains("OCTO000003"));
        console.send("v");
        let dialog = console.wait_for("the admit dialog", WITHIN, |s| s.contains("Admit OCTO000003"));
        console.send("2\t\r");
        let deadline = Instant::now() + WITHIN;
        let cap = || {
            watched.with_world(|w| {
                w.nodes.iter().find(|n| n.name == "OCTO000003").map(|n| n.max_concurrent_tasks)
            })
        };
        while cap() != Some(2) {
            assert!(Instant::now() < deadline, "not admitted:\n{}", console.screen());
            std::thread::sleep(Duration::from_millis(50));
        }
        console.wait_for("the admission said", WITHIN, |s| s.contains("admitted"));
        assert!(console.quit().success());
        dialog
    })
    .await
    .unwrap();
    assert!(dialog.contains("to check on the node itself"), "{dialog}");
    let (records, _) = scaleguard::journal::read_all(&data.join("journal.jsonl")).unwrap();
    let admitted = records.iter().any(|r| {
        matches!(&r.action, scaleguard::journal::JournalAction::Admit { node_name, task_cap: 2, .. } if node_name == "OCTO000003")
    });
    assert!(admitted, "journaled as an admission");
}
