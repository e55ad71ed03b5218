//! The HA commands of the real binary: `node list --format json` gives each node its `vm`,
//! `config check` names a wrong `nodes.scale_set`, a plain `scale` below the nodes' set's
//! capacity is run drain-first, and `node admit` journals the verification.

use crate::support::bench::{set_toml, Bench};
use scaleguard::journal::{JournalAction, Outcome, RecordKind};
use scaleguard::sim::SimOptions;

#[tokio::test(flavor = "multi_thread")]
async fn node_list_json_gives_each_node_its_vm_or_null() {
    let bench = Bench::start(SimOptions::new("ha-scale").manual_clock(), |toml| toml).await.with_sim_clock();
    let run = bench.run(&["node", "list", "--format", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let name = row["name"].as_str().unwrap();
        let vm = &row["vm"];
        assert_eq!(vm["scale_set"], "vmss-octo", "{row}");
        let computer = vm["computer_name"].as_str().unwrap();
        assert!(computer.eq_ignore_ascii_case(name), "paired by computer name, case ignored: {row}");
    }
    let table = bench.run(&["node", "list"]).await;
    assert!(table.stdout.contains("vmss-octo/3"), "{}", table.stdout);

    // Without a nodes' scale set every node's vm is null.
    let plain = Bench::start(SimOptions::new("ha-drain").manual_clock(), |toml| toml).await.with_sim_clock();
    let run = plain.run(&["node", "list", "--format", "json"]).await;
    let rows = run.json();
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["vm"].is_null() && r.get("vm_unpaired").is_none()),
        "{rows}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nodes_scale_set_that_is_not_configured_is_named_in_one_sentence() {
    let bench = Bench::start(SimOptions::new("ha-scale").manual_clock(), |toml| {
        set_toml(&toml, "scale_set", "\"vmss-nodes\"")
    })
    .await;
    let run = bench.run(&["config", "check"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("profiles.sim.nodes.scale_set"), "{said}");
    assert!(said.contains("`vmss-nodes`") && said.contains("vmss-web, vmss-octo"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_scale_below_the_nodes_sets_capacity_runs_drain_first() {
    let bench =
        Bench::start(SimOptions::new("ha-scale").speed(20.0), |toml| set_toml(&toml, "refresh_secs", "1"))
            .await;
    let run = bench.run(&["scale", "vmss-octo", "--capacity", "3", "--yes", "--reason", "quiet night"]).await;
    run.assert_no_panic("scale");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("hosts the HA nodes"), "{}", run.stderr);
    assert!(run.stdout.contains("Remove       OCTO000003 (VM 3)"), "{}", run.stdout);
    let stats = bench.sim.stats();
    assert_eq!((stats.get("arm.patch_scale_set"), stats.get("arm.delete_instances")), (0, 1));
    let names: Vec<String> = bench.sim.with_world(|w| w.nodes.iter().map(|n| n.name.clone()).collect());
    assert!(!names.contains(&"OCTO000003".to_string()) && names.len() == 3, "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn node_admit_journals_the_verification_and_sets_the_cap() {
    let bench = Bench::start(SimOptions::new("ha-scale").manual_clock(), |toml| toml).await.with_sim_clock();
    let capped = bench.run(&["node", "task-cap", "OCTO000001", "0", "--yes"]).await;
    assert_eq!(capped.code, 0, "{}", capped.stderr);
    let run =
        bench.run(&["node", "admit", "octo000001", "--task-cap", "3", "--yes", "--reason", "checked"]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("same version as GET /api") && run.stdout.contains("tentacle"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("task cap 0 -> 3"), "{}", run.stdout);
    let cap = bench
        .sim
        .with_world(|w| w.nodes.iter().find(|n| n.name == "OCTO000001").unwrap().max_concurrent_tasks);
    assert_eq!(cap, 3);
    let (records, _) = bench.journal();
    let admitted = records.iter().any(|r| {
        r.kind == RecordKind::Result
            && r.outcome == Some(Outcome::Done)
            && matches!(&r.action, JournalAction::Admit { node_name, task_cap: 3, .. } if node_name == "OCTO000001")
    });
    assert!(admitted, "{records:#?}");
    let refused = bench.run(&["node", "admit", "OCTO000001", "--task-cap", "0", "--yes"]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("task cap above 0"), "{}", refused.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_scale_in_counts_and_sets_are_refused_in_one_sentence_changing_nothing() {
    let bench = Bench::start(SimOptions::new("ha-scale").manual_clock(), |toml| toml).await.with_sim_clock();
    let cases: [(&[&str], &[&str]); 4] = [
        (&["node", "scale-in", "vmss-octo", "--count", "0", "--yes"], &["at least one"]),
        // More than the set has: said with the operator's own number, never clamped to the set's.
        (&["node", "scale-in", "vmss-octo", "--count", "9", "--yes"], &["9", "4 VM"]),
        (&["node", "scale-in", "vmss-nope", "--count", "1", "--yes"], &["`vmss-nope`", "nodes.scale_set"]),
        (&["node", "scale-in", "vmss-web", "--count", "1", "--yes"], &["`vmss-web`", "scaleguard scale"]),
    ];
    for (args, expected) in cases {
        let run = bench.run(args).await;
        run.assert_no_panic("node scale-in");
        assert_eq!(run.code, 1, "{args:?}: {}\n{}", run.stdout, run.stderr);
        let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("scaleguard:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one sentence: {}", run.stderr);
        for word in expected {
            assert!(errors[0].contains(word), "{args:?}: `{word}` in {}", run.stderr);
        }
        assert!(!run.stderr.contains("of the 4 node(s) asked for"), "{args:?}: {}", run.stderr);
    }
    let stats = bench.sim.stats();
    assert_eq!((stats.get("arm.delete_instances"), stats.get("octopus.put_node")), (0, 0));
}
