//! The CLI on Flexible sets and on a mixed profile (one Uniform, one Flexible set): inventory,
//! plan, apply (scale-out deploys to the new VMs' targets only; scale-in deletes exactly the
//! targets of the VMs Azure removed, after the absence rule), scale (the policy's likely victims,
//! Azure deciding), doctor, a set found in another mode, and requests per inventory.

use super::kit::{is_flexible_vm_name, key, profile, provider, start, Cli};
use scaleguard::inventory::{self, Collector};
use scaleguard::octopus::OctopusClient;
use scaleguard::providers::ScaleSetProvider;
use scaleguard::secret::Secret;
use scaleguard::sim::{EventAction, RunningSim};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Machine id → the VM behind it (set, internal id), as the simulator knows it.
fn machines(running: &RunningSim) -> BTreeMap<String, Option<(String, u64)>> {
    running.with_world(|w| w.machines.iter().map(|m| (m.id.clone(), m.vm.clone())).collect())
}

fn vm_exists(running: &RunningSim, vm: &(String, u64)) -> bool {
    running.with_world(|w| w.scale_sets.iter().any(|s| s.name == vm.0 && s.vm(vm.1).is_some()))
}

/// Deployments scaleguard created: the machines each went to.
fn our_deployments(running: &RunningSim) -> Vec<BTreeSet<String>> {
    running.with_world(|w| {
        w.deployments
            .iter()
            .filter(|d| d.comments.starts_with("scaleguard"))
            .map(|d| d.specific_machine_ids.iter().cloned().collect())
            .collect()
    })
}

/// Every target the deployments went to, checked to be reached by one deployment only (tentacles
/// register seconds apart, so the new targets may come in more than one deployment).
fn deployed_once(deployments: &[BTreeSet<String>]) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for targets in deployments {
        for target in targets {
            assert!(all.insert(target.clone()), "{target} got the release twice: {deployments:?}");
        }
    }
    all
}

fn deleted_count(run: &serde_json::Value) -> usize {
    run["reports"]
        .as_array()
        .map(|reports| {
            reports
                .iter()
                .filter(|r| r["summary"].as_str().unwrap_or("").starts_with("delete-target"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_of_a_mixed_profile_shows_both_modes_and_what_azure_does_not_report() {
    let running = start("mixed").await;
    let cli = Cli::new(&running);
    let (code, report, stderr) = cli.json(&["inventory", "--format", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let modes: Vec<(&str, &str)> = report["scale_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["orchestration_mode"].as_str().unwrap()))
        .collect();
    assert_eq!(modes, vec![("vmss-web", "Uniform"), ("vmss-flex", "Flexible")]);
    let instances = report["instances"].as_array().unwrap();
    let flex: Vec<&serde_json::Value> =
        instances.iter().filter(|i| i["scale_set"] == "rg-web/vmss-flex").collect();
    assert_eq!(flex.len(), 3);
    for vm in &flex {
        assert!(is_flexible_vm_name("vmss-flex", vm["instance_id"].as_str().unwrap()), "{vm}");
        assert!(vm["latest_model"].is_null() && vm["protected"].is_null(), "unknown, not false: {vm}");
    }
    let uniform = instances.iter().find(|i| i["scale_set"] == "rg-web/vmss-web").unwrap();
    assert_eq!((uniform["latest_model"].clone(), uniform["protected"].clone()), (true.into(), false.into()));
    // Every target sits on a VM of one of the two sets; Windows targets match case-insensitively.
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 6);
    for target in targets {
        let matched = target["matched_instance_id"].as_str().expect("a VM behind every target");
        assert!(instances.iter().any(|i| i["instance_id"] == matched), "{target}");
    }
    let (code, table, _) = cli.run(&["inventory"]).await;
    assert_eq!(code, 0);
    assert!(table.contains("Flexible") && table.contains("unknown"), "{table}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flexible_scale_out_deploys_once_to_exactly_the_new_vms_targets() {
    let running = start("flex-scale-out").await;
    let cli = Cli::new(&running);
    let before: BTreeSet<String> = machines(&running).into_keys().collect();
    for _ in 0..25 {
        running.advance(Duration::from_secs(10)).unwrap();
        let (code, run, stderr) = cli.json(&["apply", "--yes", "--format", "json"]).await;
        assert!(code == 0 || code == 2, "apply failed ({code}): {stderr}\n{run}");
        assert_eq!(deleted_count(&run), 0, "a scale-out deletes nothing: {run}");
    }
    let new: BTreeSet<String> = machines(&running)
        .into_iter()
        .filter(|(id, vm)| !before.contains(id) && vm.as_ref().is_some_and(|vm| vm_exists(&running, vm)))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(new.len(), 4, "no over-provisioned extras on a Flexible set");
    let deployments = our_deployments(&running);
    assert_eq!(deployed_once(&deployments), new, "exactly the new VMs' targets, each once: {deployments:?}");
    let (code, _, stderr) = cli.json(&["apply", "--yes", "--format", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(our_deployments(&running), deployments, "nothing more to do");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flexible_scale_in_deletes_exactly_the_targets_of_the_vms_azure_removed_after_the_absence_rule() {
    let running = start("flex-scale-in").await;
    running.advance(Duration::from_secs(300)).unwrap();
    let cli = Cli::new(&running);
    let before = machines(&running);
    let gone: BTreeSet<&String> = before
        .iter()
        .filter(|(_, vm)| vm.as_ref().is_some_and(|vm| !vm_exists(&running, vm)))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(gone.len(), 3, "Azure removed three VMs by its policy");
    for attempt in 1..=2 {
        let (code, run, stderr) = cli.json(&["apply", "--yes", "--format", "json"]).await;
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(deleted_count(&run), 0, "run {attempt}: too little evidence yet");
        assert_eq!(machines(&running), before, "run {attempt} deleted something");
        running.advance(Duration::from_millis(1_100)).unwrap();
    }
    let (code, run, stderr) = cli.json(&["apply", "--yes", "--format", "json"]).await;
    assert_eq!(code, 0, "{stderr}\n{run}");
    let after = machines(&running);
    let deleted: BTreeSet<&String> = before.keys().filter(|id| !after.contains_key(*id)).collect();
    assert_eq!(deleted, gone, "exactly the removed VMs' targets");
    for (id, vm) in &after {
        assert!(vm.as_ref().is_some_and(|vm| vm_exists(&running, vm)), "{id} kept although its VM is gone");
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_profile_deploys_to_the_new_flexible_vms_and_leaves_the_uniform_set_alone() {
    let running = start("mixed").await;
    let cli = Cli::new(&running);
    let before: BTreeSet<String> = machines(&running).into_keys().collect();
    for _ in 0..25 {
        running.advance(Duration::from_secs(10)).unwrap();
        let (code, run, stderr) = cli.json(&["apply", "--yes", "--format", "json"]).await;
        assert!(code == 0 || code == 2, "apply failed ({code}): {stderr}\n{run}");
    }
    let deployments = our_deployments(&running);
    let machines = machines(&running);
    let flex_new: BTreeSet<String> = machines
        .iter()
        .filter(|(id, vm)| !before.contains(*id) && vm.as_ref().is_some_and(|(set, _)| set == "vmss-flex"))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(flex_new.len(), 2);
    assert_eq!(deployed_once(&deployments), flex_new, "{deployments:?}");
    assert_eq!(machines.len(), 8, "nothing deleted, nothing else registered");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_a_flexible_set_in_names_the_policys_likely_vms_and_lets_azure_decide() {
    let running = start("flex-scale-in").await;
    // Past the scenario's own scale-in (6 -> 3 at 10 s), settled.
    running.advance(Duration::from_secs(300)).unwrap();
    let cli = Cli::new(&running);
    let listed: Vec<String> =
        running.with_world(|w| w.scale_sets[0].vms.iter().map(|vm| w.scale_sets[0].vm_name(vm)).collect());
    // Without --yes and a terminal it only shows the proposal, in words.
    let (code, table, _) = cli.run(&["scale", "vmss-flex", "--capacity", "1", "--reason", "night"]).await;
    assert_ne!(code, 0);
    let line = table.lines().find(|l| l.starts_with("Scale-in")).unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains("likely, by the scale-in policy Default")
            && line.contains("Azure decides which VMs go"),
        "{line}"
    );
    let (code, stdout, stderr) = cli
        .run_advancing(
            &running,
            &["scale", "vmss-flex", "--capacity", "1", "--reason", "night", "--yes", "--format", "json"],
            5,
        )
        .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let proposal = &body["proposal"];
    assert_eq!(proposal["orchestration_mode"], "Flexible");
    let basis = proposal["scale_in_basis"].as_str().unwrap();
    assert!(basis.contains("scale-in policy Default") && basis.contains("Azure decides"), "{basis}");
    assert!(!basis.contains("highest"), "{basis}");
    let likely: Vec<&str> =
        proposal["expected_victims"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(likely.len(), 2);
    assert!(likely.iter().all(|name| listed.contains(&name.to_string())), "{likely:?} of {listed:?}");
    assert!(likely.iter().all(|name| is_flexible_vm_name("vmss-flex", name)), "{likely:?}");
    assert_eq!(body["outcome"]["status"], "done", "{body}");
    assert_eq!(running.with_world(|w| w.scale_sets[0].capacity), 1);
    assert_eq!(running.stats().get("arm.patch_scale_set.unconditional"), 0, "the PATCH carried If-Match");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn protect_on_a_flexible_vm_is_refused_with_the_reason_and_changes_nothing() {
    let running = start("flex-scale-in").await;
    let cli = Cli::new(&running);
    let name = provider(&running).listing(&key(&running, "vmss-flex")).await.unwrap().instances[0]
        .instance_id
        .clone();
    let (code, stdout, stderr) =
        cli.run(&["protect", "vmss-flex", &name, "--reason", "cache", "--yes"]).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("protection not reported"), "{stdout}");
    assert!(stderr.contains("cannot be set on a Flexible scale set's VMs"), "{stderr}");
    assert!(stderr.contains("CanNotDelete management lock"), "{stderr}");
    assert_eq!(running.stats().get("arm.put_vm"), 0);
    let journal = std::fs::read_to_string(cli.data_dir().join("journal.jsonl")).unwrap_or_default();
    assert_eq!(journal.trim(), "", "nothing journaled");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_on_a_flexible_set_checks_spreading_and_says_nothing_of_overprovisioning() {
    let running = start("mixed").await;
    let cli = Cli::new(&running);
    let (code, report, stderr) = cli.json(&["doctor", "--format", "json"]).await;
    assert_eq!(code, 0, "{stderr}\n{report}");
    let findings = report["findings"].as_array().unwrap();
    let on = |set: &str| -> Vec<&str> {
        let mut ids: Vec<&str> = findings
            .iter()
            .filter(|f| f["subject"] == format!("scale set rg-web/{set}"))
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(on("vmss-flex"), vec!["scale-set.flexible-fault-domains", "scale-set.flexible-zones"]);
    assert!(on("vmss-web").is_empty(), "the Uniform set overprovisions off: {:?}", on("vmss-web"));
    let domains = findings.iter().find(|f| f["id"] == "scale-set.flexible-fault-domains").unwrap();
    assert_eq!(domains["observed"], "fixed spreading across 3 fault domains");
    assert!(domains["source"]["url"].as_str().unwrap().starts_with("https://learn.microsoft.com/"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_found_in_another_mode_is_named_and_its_targets_are_not_deleted() {
    let running = start("mixed").await;
    let cli = Cli::new(&running);
    let (code, _, stderr) = cli.json(&["plan", "--format", "json"]).await;
    assert!(code == 0 || code == 2, "{stderr}");
    running.advance(Duration::from_millis(1_100)).unwrap();
    // The Uniform set is deleted and created again as a Flexible set under the same name.
    running.apply(EventAction::RecreateSet { set: "vmss-web".into(), flexible: true }).unwrap();
    let before = machines(&running);
    for attempt in 1..=3 {
        let (code, plan, stderr) = cli.json(&["plan", "--format", "json"]).await;
        assert!(code == 0 || code == 2, "{stderr}");
        let actions = plan["actions"].as_array().unwrap();
        assert!(!actions.iter().any(|a| a["action"]["kind"] == "delete-target"), "run {attempt}: {plan}");
        if attempt == 1 {
            let note = actions
                .iter()
                .find(|a| {
                    a["id"].as_str().is_some_and(|id| {
                        id.starts_with("note:mode-changed:") && id.ends_with("/rg-web/vmss-web")
                    })
                })
                .unwrap_or_else(|| panic!("the note: {plan}"));
            let reason = note["reason"].as_str().unwrap();
            assert!(reason.contains("was Uniform when last listed and is Flexible now"), "{reason}");
            assert!(reason.contains("GET /subscriptions/7f3e2a10-5b1c-4d2e-9a8f-0c1d2e3f4a5b/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-web"), "{reason}");
        }
    }
    assert_eq!(machines(&running), before, "plan deletes nothing");
    running.shutdown().await;
}

/// Requests for one inventory of a Flexible set of `vms` VMs (and as many targets), by endpoint.
async fn inventory_requests(vms: u32) -> BTreeMap<String, u64> {
    let running = start("flex-scale-out").await;
    running.with_world_mut(|world| {
        for _ in world.scale_sets[0].vms.len() as u32..vms {
            world.add_existing_vm(0, false);
        }
        world.scale_sets[0].capacity = vms;
    });
    let profile = profile(&running);
    let octopus = OctopusClient::new(&profile.octopus, Secret::new(running.api_key())).unwrap();
    let collector =
        Collector::with_octopus(&profile, Ok(octopus)).with_provider(Arc::new(provider(&running)));
    running.reset_stats();
    let snapshot = collector.collect().await;
    let report = inventory::report(&snapshot).unwrap_or_else(|failures| panic!("{failures:?}"));
    assert_eq!(report.instances.len(), vms as usize);
    let stats = running.stats();
    running.shutdown().await;
    stats
        .by_endpoint
        .into_iter()
        .chain([("total".to_string(), stats.total), ("arm".to_string(), stats.arm)])
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_per_inventory_grow_with_pages_not_vms() {
    for vms in [10u32, 100, 1_000] {
        let requests = inventory_requests(vms).await;
        let pages = u64::from(vms.div_ceil(50));
        let get = |endpoint: &str| requests.get(endpoint).copied().unwrap_or(0);
        // Who else scales the set: its autoscale settings and its Activity Log, one read each.
        let autoscale = get("arm.list_autoscale_settings") + get("arm.activity_log");
        eprintln!(
            "flexible inventory of {vms} VMs: {} ARM requests ({} VM-list pages + 2 scale-set GETs + {autoscale} \
             Autoscale/Activity Log reads), {} in total with Octopus",
            get("arm"),
            get("arm.list_rg_vms"),
            get("total")
        );
        assert_eq!(get("arm.list_rg_vms"), pages, "{vms} VMs: one request per page of 50: {requests:?}");
        // Before the pages and after them: a set that changed in between proves nothing.
        assert_eq!(get("arm.get_scale_set"), 2, "{requests:?}");
        assert_eq!(autoscale, 2, "a fixed overhead: {requests:?}");
        assert_eq!(get("arm"), pages + 2 + autoscale, "nothing else: {requests:?}");
        assert_eq!(get("arm.get_vm_resource"), 0, "never one request per VM");
    }
}
