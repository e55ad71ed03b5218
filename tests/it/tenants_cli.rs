//! Tenants end to end (issue 18): the real binary against the simulator's `tenants` scenario, a
//! scale-out of two sets whose new targets belong to two tenants on different releases of a
//! Tenanted, version-controlled project, beside an untenanted project.

use crate::support::bench::Bench;
use scaleguard::sim::SimOptions;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

fn deploys(plan: &Value) -> Vec<Value> {
    crate::support::bench::actions_of_kind(plan, "deploy")
}

fn ids(values: &Value) -> BTreeSet<String> {
    values.as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// (project name, tenant name or "") → (release version, target ids) of each proposed deploy.
fn by_lane(plan: &Value) -> BTreeMap<(String, String), (String, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for deploy in deploys(plan) {
        let action = &deploy["action"];
        let key = (
            action["project_name"].as_str().unwrap().to_string(),
            action["tenant"]["name"].as_str().unwrap_or_default().to_string(),
        );
        let value = (action["release_version"].as_str().unwrap().to_string(), ids(&action["target_ids"]));
        assert!(out.insert(key.clone(), value).is_none(), "two deploys for {key:?}: {plan}");
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn each_tenant_gets_its_own_release_on_exactly_its_new_targets_once() {
    let bench =
        Bench::start(SimOptions::new("tenants").manual_clock(), Bench::apply_profile).await.with_sim_clock();
    let before: BTreeSet<String> = bench.machines().into_keys().collect();
    // Settle the scale-out: every new VM registered and the sets steady (no wait proposed).
    let mut plan = Value::Null;
    for _ in 0..40 {
        bench.sim.advance(Duration::from_secs(10)).unwrap();
        let run = bench.run(&["plan", "--format", "json"]).await;
        plan = run.json();
        let waiting = plan["actions"].as_array().into_iter().flatten().any(|a| a["action"]["kind"] == "wait");
        if bench.machines().len() == before.len() + 4 && !waiting && !deploys(&plan).is_empty() {
            break;
        }
    }
    let tenancy = bench.sim.with_world(|w| {
        w.machines
            .iter()
            .map(|m| (m.id.clone(), (m.vm.clone().map(|vm| vm.0).unwrap_or_default(), m.tenancy.clone())))
            .collect::<BTreeMap<_, _>>()
    });
    let new_in = |set: &str| -> BTreeSet<String> {
        tenancy
            .iter()
            .filter(|(id, (s, _))| !before.contains(*id) && s == set)
            .map(|(id, _)| id.clone())
            .collect()
    };
    let (web, api) = (new_in("vmss-web"), new_in("vmss-api"));
    assert_eq!((web.len(), api.len()), (2, 2), "{tenancy:?}");
    let all_new: BTreeSet<String> = web.union(&api).cloned().collect();

    let lanes = by_lane(&plan);
    let expected: BTreeMap<(String, String), (String, BTreeSet<String>)> = [
        (("Portal".to_string(), "Acme".to_string()), ("2.1.0".to_string(), web.clone())),
        (("Portal".to_string(), "Globex".to_string()), ("2.2.0".to_string(), all_new.clone())),
        (("Todo Web".to_string(), String::new()), ("1.1.0".to_string(), all_new.clone())),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        lanes, expected,
        "one deploy per (tenant, its release) covering exactly its new targets: {plan}"
    );
    let acme = deploys(&plan).into_iter().find(|d| d["action"]["tenant"]["name"] == "Acme").unwrap();
    assert!(acme["reason"].as_str().unwrap().contains("for tenant Acme"), "{acme}");

    let apply = bench.run(&["apply", "--yes", "--format", "json"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stderr, apply.stdout);
    let ours = bench.sim.with_world(|w| {
        w.deployments
            .iter()
            .filter(|d| d.comments.starts_with("scaleguard"))
            .map(|d| (d.tenant_id.clone(), d.specific_machine_ids.iter().cloned().collect::<BTreeSet<_>>()))
            .collect::<Vec<_>>()
    });
    let tenant_id =
        |name: &str| bench.sim.with_world(|w| w.tenants.iter().find(|t| t.name == name).unwrap().id.clone());
    let mut got = ours.clone();
    got.sort();
    let mut want =
        vec![(None, all_new.clone()), (Some(tenant_id("Acme")), web), (Some(tenant_id("Globex")), all_new)];
    want.sort();
    assert_eq!(got, want, "POSTed with TenantId and SpecificMachineIds");
    let journal = std::fs::read_to_string(bench.journal_path()).unwrap();
    assert!(journal.contains("Acme") && journal.contains("Globex"), "the journal names the tenants");

    // A rerun while they are queued, and again once they ran: nothing more.
    for _ in 0..2 {
        let again = bench.run(&["plan", "--format", "json"]).await;
        assert!(deploys(&again.json()).is_empty(), "{}", again.stdout);
        bench.sim.advance(Duration::from_secs(120)).unwrap();
    }
    assert_eq!(
        bench.sim.with_world(|w| w
            .deployments
            .iter()
            .filter(|d| d.comments.starts_with("scaleguard"))
            .count()),
        3
    );

    // What a refresh costs with tenants: one tenant listing per tenanted project, then per
    // tenant a walk like the untenanted one (deployments page, tasks, release, its deployments).
    bench.sim.reset_stats();
    let quiet = bench.run(&["plan", "--format", "json"]).await;
    assert!(deploys(&quiet.json()).is_empty());
    let stats = bench.sim.stats();
    eprintln!("requests per refresh on `tenants`: octopus {} {:?}", stats.octopus, stats.by_endpoint);
    assert_eq!(stats.by_endpoint.get("octopus.tenants"), Some(&1), "one tenant listing (one page)");
    bench.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reads_a_version_controlled_projects_settings_from_its_branch() {
    let bench =
        Bench::start(SimOptions::new("tenants").manual_clock(), Bench::apply_profile).await.with_sim_clock();
    let run = bench.run(&["doctor", "--format", "json"]).await;
    let json: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "project.unhealthy-included")
        .unwrap_or_else(|| panic!("the git-backed setting is read: {}", run.stdout))
        .clone();
    assert!(
        finding["subject"].as_str().unwrap().contains("`Portal` (settings in git, branch main)"),
        "{finding}"
    );
    assert_eq!(
        finding["fix"],
        "commit this change to main of https://git.example.com/acme/portal.git: Unhealthy Deployment Targets: Exclude"
    );
    assert!(bench.stat("octopus.projects") >= 1);

    // Someone deletes the branch: the read fails naming the project, branch and repository.
    bench.sim.with_world_mut(|w| {
        let portal = w.projects.iter_mut().find(|p| p.name == "Portal").unwrap();
        portal.version_control.as_mut().unwrap().branch_exists = false;
    });
    let run = bench.run(&["doctor", "--format", "json"]).await;
    let text = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        text.contains("Portal") && text.contains("default branch `main`") && text.contains("was not found"),
        "{text}"
    );
    bench.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_reads_each_tenants_release_and_a_deleted_tenant_is_refused_by_name() {
    use scaleguard::config::ConfigFile;
    use scaleguard::model::TenantedMode;
    use scaleguard::octopus::{DeploymentRequest, OctopusClient, OctopusError};
    let bench = Bench::start(SimOptions::new("tenants").manual_clock(), |toml| toml).await.with_sim_clock();
    let file = ConfigFile::parse(&bench.sim.profile_toml(), std::path::Path::new("sim.toml")).unwrap();
    let profile = file.profile(None).unwrap().1.clone();
    let client =
        OctopusClient::new(&profile.octopus, scaleguard::secret::Secret::new(bench.sim.api_key())).unwrap();
    let project = client.resolve_project("Spaces-1", "Portal").await.unwrap();
    let environment = client.resolve_environment("Spaces-1", "Production").await.unwrap();
    let state = client.project_state("Spaces-1", &project, &environment.id).await.unwrap();
    assert_eq!(state.tenanted_mode, TenantedMode::Tenanted);
    assert!(state.latest_release.is_none(), "a Tenanted project has no untenanted release");
    let vc = state.version_control.as_ref().expect("version controlled");
    assert_eq!(
        (vc.default_branch.as_str(), vc.repository.as_str()),
        ("main", "https://git.example.com/acme/portal.git")
    );
    let releases: Vec<(String, Option<String>, Vec<Option<String>>)> = state
        .tenants
        .iter()
        .map(|t| {
            (
                t.tenant_name.clone(),
                t.latest_release.as_ref().map(|r| r.version.clone()),
                t.deployments.iter().map(|d| d.tenant_id.clone()).collect(),
            )
        })
        .collect();
    let id = |name: &str| state.tenants.iter().find(|t| t.tenant_name == name).unwrap().tenant_id.clone();
    assert_eq!(
        releases,
        vec![
            ("Acme".to_string(), Some("2.1.0".to_string()), vec![Some(id("Acme"))]),
            ("Globex".to_string(), Some("2.2.0".to_string()), vec![Some(id("Globex"))]),
            ("Initech".to_string(), None, vec![]),
        ]
    );

    // Globex is deleted after the plan: the POST for it is refused, naming it; nothing is created.
    let globex = id("Globex");
    let release = state.tenants[1].latest_release.as_ref().unwrap().id.clone();
    bench.sim.with_world_mut(|w| w.tenants.retain(|t| t.name != "Globex"));
    let (before, machine) = bench.sim.with_world(|w| (w.deployments.len(), w.machines[0].id.clone()));
    let request = DeploymentRequest {
        release_id: release,
        environment_id: environment.id.clone(),
        specific_machine_ids: vec![machine],
        comments: "scaleguard test".into(),
        use_guided_failure: false,
        tenant_id: Some(globex.clone()),
    };
    let err = client.create_deployment("Spaces-1", &request).await.unwrap_err();
    assert!(matches!(err, OctopusError::Rejected { status: 400, .. }), "{err}");
    assert!(err.to_string().contains(&globex), "{err}");
    assert_eq!(bench.sim.with_world(|w| w.deployments.len()), before);
    let state = client.project_state("Spaces-1", &project, &environment.id).await.unwrap();
    assert_eq!(state.tenants.len(), 2, "Globex is gone from the fresh read");
    bench.sim.shutdown().await;
}
