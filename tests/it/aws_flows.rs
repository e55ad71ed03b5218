//! The AWS provider end to end (issue 19): the real binary against the simulator's Auto Scaling
//! scenarios (lifecycle hooks on scale-in and scale-out, faults), and the requests one inventory
//! of a group costs at 10, 1,000 and 5,000 instances.

use scaleguard::config::ConfigFile;
use scaleguard::inventory::Collector;
use scaleguard::octopus::OctopusClient;
use scaleguard::providers::aws::AwsProvider;
use scaleguard::secret::Secret;
use scaleguard::sim::{self, EventAction, RunningSim, SimOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

struct Setup {
    sim: RunningSim,
    _dir: tempfile::TempDir,
    config: PathBuf,
    data_dir: PathBuf,
}

async fn setup(scenario: &str) -> Setup {
    let sim = sim::start(SimOptions::new(scenario).manual_clock()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    std::fs::write(&config, sim.profile_toml()).unwrap();
    let data_dir = dir.path().join("data");
    Setup { sim, config, data_dir, _dir: dir }
}

struct Run {
    code: i32,
    json: serde_json::Value,
    stdout: String,
    stderr: String,
}

fn run(config: &Path, data_dir: &Path, env: &[(String, String)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_scaleguard"))
        .arg("--config")
        .arg(config)
        .arg("--sim-clock")
        .args(args)
        .env("SCALEGUARD_DATA_DIR", data_dir)
        .envs(env.iter().cloned())
        .output()
        .expect("run scaleguard");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    Run {
        code: output.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).to_string(),
    }
}

impl Setup {
    async fn run(&self, args: &[&str]) -> Run {
        let (config, data_dir) = (self.config.clone(), self.data_dir.clone());
        let env: Vec<(String, String)> = self.sim.env().into_iter().collect();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&config, &data_dir, &env, &args)
        })
        .await
        .unwrap()
    }

    async fn apply(&self) -> Run {
        self.run(&["apply", "--yes", "--format", "json"]).await
    }

    fn advance(&self, secs: u64) {
        self.sim.advance(std::time::Duration::from_secs(secs)).unwrap();
    }

    fn in_state(&self, state: &str) -> Vec<String> {
        self.sim.with_world(|w| {
            w.aws
                .groups
                .iter()
                .flat_map(|g| &g.instances)
                .filter(|i| i.lifecycle.as_str() == state)
                .map(|i| i.instance_id.clone())
                .collect()
        })
    }

    /// Target id → name of every registered target.
    fn targets(&self) -> Vec<(String, String)> {
        self.sim.with_world(|w| w.machines.iter().map(|m| (m.id.clone(), m.name.clone())).collect())
    }
}

/// (summary, outcome kind) of each report of an `apply --format json`.
fn reports(run: &Run) -> Vec<(String, String)> {
    run.json["reports"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|r| {
                    let outcome = r["outcome"]["status"].as_str().unwrap_or_default().to_lowercase();
                    (r["summary"].as_str().unwrap_or_default().to_string(), outcome)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn aws_scale_in_deletes_the_terminating_targets_then_continues_each_once_and_nothing_else() {
    let setup = setup("aws-scale-in").await;
    setup.advance(20);
    let terminating = setup.in_state("Terminating:Wait");
    assert_eq!(terminating.len(), 2, "the scenario scales 5 -> 3 at 10 s");
    let before = setup.targets();
    let first = setup.apply().await;
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let mut done = reports(&first);
    done.sort();
    let mut expected: Vec<(String, String)> = Vec::new();
    for id in &terminating {
        let (target_id, name) = before.iter().find(|(_, name)| name == id).expect("a target per instance");
        expected.push((format!("delete-target {name} ({target_id})"), "done".into()));
        expected.push((format!("complete-lifecycle {id} CONTINUE (octopus-drain)"), "done".into()));
    }
    expected.sort();
    assert_eq!(done, expected, "{}", first.stdout);
    let after = setup.targets();
    assert_eq!(after.len(), 3, "only the terminating instances' targets went");
    assert!(after.iter().all(|(_, name)| !terminating.contains(name)));
    assert_eq!(setup.sim.stats().get("autoscaling.CompleteLifecycleAction"), 2);
    // The hooks completed, the instances go; the next run has nothing left to do.
    setup.advance(5);
    assert!(setup.in_state("Terminating:Wait").is_empty());
    let again = setup.apply().await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(reports(&again), vec![], "each once: {}", again.stdout);
    assert_eq!(setup.sim.stats().get("autoscaling.CompleteLifecycleAction"), 2);
    assert_eq!(setup.targets().len(), 3);
}

/// Deployment ids and their specific targets, as the simulator holds them.
fn deployments(sim: &RunningSim) -> Vec<(String, Vec<String>)> {
    sim.with_world(|w| w.deployments.iter().map(|d| (d.id.clone(), d.specific_machine_ids.clone())).collect())
}

#[tokio::test]
async fn aws_scale_out_deploys_once_to_exactly_the_new_targets_then_completes_their_launch_hooks() {
    let setup = setup("aws-scale-out").await;
    let old_targets: Vec<String> = setup.targets().into_iter().map(|(id, _)| id).collect();
    let deployments_before = deployments(&setup.sim).len();
    setup.advance(70);
    let waiting = setup.in_state("Pending:Wait");
    assert_eq!(waiting.len(), 2);
    let deploy = setup.apply().await;
    assert_eq!(deploy.code, 0, "{}\n{}", deploy.stdout, deploy.stderr);
    let summaries = reports(&deploy);
    assert_eq!(summaries.len(), 1, "one deployment, no completion before it succeeded: {summaries:?}");
    assert!(summaries[0].0.starts_with("deploy Todo Web"), "{summaries:?}");
    let created = deployments(&setup.sim);
    assert_eq!(created.len(), deployments_before + 1);
    let new_targets: Vec<String> =
        setup.targets().into_iter().map(|(id, _)| id).filter(|id| !old_targets.contains(id)).collect();
    let mut specific = created.last().unwrap().1.clone();
    specific.sort();
    let mut expected = new_targets.clone();
    expected.sort();
    assert_eq!(specific, expected, "exactly the new instances' targets");

    // The deployment runs; the hooks wait for it, then go CONTINUE, each once.
    setup.advance(120);
    let complete = setup.apply().await;
    assert_eq!(complete.code, 0, "{}\n{}", complete.stdout, complete.stderr);
    let mut done = reports(&complete);
    done.sort();
    let mut expected: Vec<(String, String)> = waiting
        .iter()
        .map(|id| (format!("complete-lifecycle {id} CONTINUE (octopus-deploy)"), "done".to_string()))
        .collect();
    expected.sort();
    assert_eq!(done, expected, "{}", complete.stdout);
    setup.advance(5);
    assert_eq!(setup.in_state("InService").len(), 4);
    let quiet = setup.apply().await;
    assert_eq!(reports(&quiet), vec![], "{}", quiet.stdout);
    assert_eq!(deployments(&setup.sim).len(), deployments_before + 1, "one deployment in all");
}

#[tokio::test]
async fn a_hook_that_times_out_while_the_completion_runs_is_reported_skipped_and_the_next_run_goes_on() {
    let setup = setup("aws-scale-out").await;
    setup.advance(70);
    assert_eq!(setup.apply().await.code, 0);
    setup.advance(120);
    setup.sim.inject_fault(fault("autoscaling.CompleteLifecycleAction", "hook_timeout", 1)).unwrap();
    let late = setup.apply().await;
    assert_eq!(late.code, 2, "skipped: the world moved on\n{}\n{}", late.stdout, late.stderr);
    let outcomes = reports(&late);
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes.iter().all(|(_, outcome)| outcome == "skipped"), "{outcomes:?}");
    assert!(late.stdout.contains("no lifecycle action holds"), "{}", late.stdout);
    // ABANDON, the hook's default, applied to both: replacements launch and get their own deploy.
    assert_eq!(setup.in_state("Pending:Wait").len(), 0);
    setup.advance(70);
    let next = setup.apply().await;
    assert_eq!(next.code, 0, "{}\n{}", next.stdout, next.stderr);
    assert!(reports(&next)
        .iter()
        .any(|(summary, outcome)| summary.starts_with("deploy") && outcome == "done"));
}

fn fault(target: &str, kind: &str, count: u32) -> sim::FaultSpec {
    sim::FaultSpec { target: target.into(), kind: kind.into(), count, retry_after_secs: None, delay_ms: None }
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_and_expired_credentials_fail_in_one_sentence() {
    let setup = setup("aws-scale-in").await;
    setup.sim.inject_fault(fault("autoscaling.DescribeAutoScalingGroups", "throttling", 2)).unwrap();
    let inventory = setup.run(&["inventory", "--format", "json"]).await;
    assert_eq!(inventory.code, 0, "{}", inventory.stderr);
    assert_eq!(inventory.json["instances"].as_array().unwrap().len(), 5);
    assert_eq!(
        setup.sim.stats().get("autoscaling.DescribeAutoScalingGroups"),
        3,
        "two throttled, then served"
    );

    setup.sim.inject_fault(fault("autoscaling", "expired_token", 50)).unwrap();
    let expired = setup.run(&["inventory"]).await;
    assert_eq!(expired.code, 1);
    assert!(expired.stderr.contains("AWS credentials have expired"), "{}", expired.stderr);
    assert!(expired.stderr.contains("web-asg"), "{}", expired.stderr);
    let secret = setup.sim.aws_secret_access_key();
    assert!(!expired.stderr.contains(&secret) && !expired.stdout.contains(&secret));
    let apply = setup.apply().await;
    assert_eq!(apply.code, 1, "nothing acts on a failed read: {}", apply.stderr);
    assert_eq!(setup.sim.stats().get("autoscaling.CompleteLifecycleAction"), 0);
    assert_eq!(setup.targets().len(), 5);
}

#[tokio::test]
async fn inventory_json_on_aws_has_azures_top_level_keys_and_lifecycle_states() {
    let setup = setup("aws-scale-in").await;
    setup.advance(20);
    let inventory = setup.run(&["inventory", "--format", "json"]).await;
    assert_eq!(inventory.code, 0, "{}", inventory.stderr);
    let mut keys: Vec<&str> = inventory.json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["instances", "nodes", "scale_sets", "server", "targets"]);
    let states: Vec<&str> = inventory.json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["lifecycle_state"].as_str())
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "Terminating:Wait").count(), 2, "{states:?}");
    assert_eq!(states.len(), 5);
    let protected: Vec<bool> = inventory.json["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["protected"].as_bool())
        .collect();
    assert_eq!(protected.iter().filter(|p| **p).count(), 1, "instance 0 is protected");
    let set = &inventory.json["scale_sets"][0];
    assert_eq!(set["orchestration_mode"], "AutoScalingGroup");
    assert_eq!(set["aws"]["hooks"][0]["name"], "octopus-drain");
}

/// AWS requests of one inventory of a group of `size` instances read by instance id, or by
/// private DNS name.
async fn requests_per_inventory(size: u32, by_name: bool) -> (u64, usize) {
    let sim = sim::start(SimOptions::new("aws-scale-in").manual_clock()).await.unwrap();
    // Past the scenario's own scale-in at 10 s, then to `size`.
    sim.advance(std::time::Duration::from_secs(15)).unwrap();
    sim.with_world_mut(|w| w.aws.groups[0].max_size = size.max(10));
    sim.apply(EventAction::SetDesired { group: "web-asg".into(), desired: size, policy: None }).unwrap();
    sim.advance(std::time::Duration::from_secs(600)).unwrap();
    let mut toml = sim.profile_toml();
    if by_name {
        toml = toml.replace("match = \"instance_id\"", "match = \"private_dns_name\"");
    }
    let config = ConfigFile::parse(&toml, Path::new("sim.toml")).unwrap();
    let profile = config.profile(None).unwrap().1.clone();
    let credentials = aws_credential_types::Credentials::new(
        sim.aws_access_key_id(),
        sim.aws_secret_access_key(),
        None,
        None,
        "test",
    );
    let provider = AwsProvider::from_config(&profile).unwrap().with_credentials(credentials);
    let octopus = OctopusClient::new(&profile.octopus, Secret::new(sim.api_key())).unwrap();
    let collector = Collector::with_octopus(&profile, Ok(octopus)).with_provider(Arc::new(provider));
    sim.reset_stats();
    let snapshot = collector.collect().await;
    let listing = snapshot.scale_sets[0].listing.as_ref().expect("the group is read");
    assert_eq!(listing.instances.iter().filter(|i| i.in_capacity()).count(), size as usize);
    let verdict = scaleguard::completeness::judge(listing);
    assert!(verdict.is_proven(), "EC2 puts every listed instance in the group: {verdict}");
    if by_name {
        assert!(listing.instances.iter().all(|i| i.computer_name.is_some()), "every name read");
    }
    (sim.stats().aws, listing.instances.len())
}

#[tokio::test]
async fn an_inventory_costs_a_handful_of_aws_requests_at_any_size() {
    let mut measured = Vec::new();
    for size in [10, 1_000, 5_000] {
        let (by_id, _) = requests_per_inventory(size, false).await;
        let (by_name, listed) = requests_per_inventory(size, true).await;
        measured.push((size, by_id, by_name, listed));
    }
    eprintln!(
        "AWS requests per inventory (size, match instance_id, match private_dns_name, listed): {measured:?}"
    );
    for (size, by_id, by_name, listed) in &measured {
        // DescribeAutoScalingGroups, DescribeLifecycleHooks, DescribeInstanceRefreshes,
        // DescribeScalingActivities; EC2 DescribeInstances one per 200 listed ids (the two the
        // scenario's scale-in holds in Terminating:Wait included) whatever the match: its group
        // tag is what shows each listed instance is the group's.
        let ec2 = listed.div_ceil(200) as u64;
        assert_eq!(*by_id, 4 + ec2, "{size}");
        assert_eq!(*by_name, 4 + ec2, "{size}");
    }
}

/// The AWS provider on `scenario`'s simulator, with the simulator's keys (no credentials chain).
async fn provider_on(sim: &RunningSim) -> (AwsProvider, scaleguard::model::ScaleSetKey) {
    let config = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).unwrap();
    let profile = config.profile(None).unwrap().1.clone();
    let credentials = aws_credential_types::Credentials::new(
        sim.aws_access_key_id(),
        sim.aws_secret_access_key(),
        None,
        None,
        "test",
    );
    let key = profile.scale_sets[0].key();
    (AwsProvider::from_config(&profile).unwrap().with_credentials(credentials), key)
}

fn desired(sim: &RunningSim) -> u32 {
    sim.with_world(|w| w.aws.groups[0].desired)
}

#[tokio::test]
async fn set_capacity_reads_the_desired_capacity_again_and_refuses_when_it_moved() {
    use scaleguard::providers::{ProviderError, ScaleSetProvider};
    let sim = sim::start(SimOptions::new("aws-scale-out").manual_clock()).await.unwrap();
    let (provider, key) = provider_on(&sim).await;
    let state = provider.get_scale_set(&key).await.unwrap();
    assert_eq!(state.etag.as_deref(), Some("desired=2"));
    // Someone scales to 3 between the read and the write: nothing is sent, the caller asks again.
    sim.apply(EventAction::SetDesired { group: "web-asg".into(), desired: 3, policy: None }).unwrap();
    let moved = provider.set_capacity(&key, 4, state.etag.as_deref().unwrap()).await.unwrap_err();
    assert!(matches!(moved, ProviderError::PreconditionFailed { .. }), "{moved}");
    assert!(moved.to_string().contains("is 3 now, not the 2"), "{moved}");
    assert_eq!(sim.stats().get("autoscaling.SetDesiredCapacity"), 0);
    assert_eq!(desired(&sim), 3);
    let fresh = provider.get_scale_set(&key).await.unwrap();
    provider.set_capacity(&key, 4, fresh.etag.as_deref().unwrap()).await.unwrap();
    assert_eq!(desired(&sim), 4);
}

#[tokio::test]
async fn terminate_decrements_the_group_and_refuses_an_instance_it_does_not_list() {
    use scaleguard::providers::ScaleSetProvider;
    let sim = sim::start(SimOptions::new("aws-scale-out").manual_clock()).await.unwrap();
    let (provider, key) = provider_on(&sim).await;
    let listing = provider.listing(&key).await.unwrap();
    let victim = listing.instances[0].instance_id.clone();
    let foreign = vec!["i-0123456789abcdef0".to_string()];
    let refused = provider.delete_instances(&key, &foreign).await.unwrap_err();
    assert!(refused.to_string().contains("is not an instance of web-asg"), "{refused}");
    assert_eq!(sim.stats().get("autoscaling.TerminateInstanceInAutoScalingGroup"), 0);
    provider.delete_instances(&key, std::slice::from_ref(&victim)).await.unwrap();
    assert_eq!(desired(&sim), 1, "ShouldDecrementDesiredCapacity=true: no replacement");
    provider.set_scale_in_protection(&key, &listing.instances[1].instance_id, true).await.unwrap();
    let again = provider.listing(&key).await.unwrap();
    let protected: Vec<&str> =
        again.instances.iter().filter(|i| i.is_protected()).map(|i| i.instance_id.as_str()).collect();
    assert_eq!(protected, vec![listing.instances[1].instance_id.as_str()]);
}

#[tokio::test]
async fn a_warm_pool_page_that_loses_its_next_token_fails_the_listing_and_never_shortens_it() {
    use scaleguard::providers::ScaleSetProvider;
    let sim = sim::start(SimOptions::new("azure-aws").manual_clock()).await.unwrap();
    // A warm pool of MaxSize - desired instances: two DescribeWarmPool pages of 50.
    let g = sim.with_world(|w| w.aws.groups.iter().position(|g| g.warm_pool.is_some()).expect("a warm pool"));
    let (name, desired) = sim.with_world_mut(|w| {
        let group = &mut w.aws.groups[g];
        group.max_size = 80;
        if let Some(pool) = group.warm_pool.as_mut() {
            pool.max_group_prepared_capacity = None;
        }
        (group.name.clone(), group.desired)
    });
    sim.apply(EventAction::SetDesired { group: name.clone(), desired: desired + 1, policy: None }).unwrap();
    sim.advance(std::time::Duration::from_secs(600)).unwrap();
    let config = ConfigFile::parse(&sim.profile_toml(), Path::new("sim.toml")).unwrap();
    let profile = config.profile(None).unwrap().1.clone();
    let key = profile.scale_sets.iter().find(|s| s.is_aws()).unwrap().key();
    let credentials = aws_credential_types::Credentials::new(
        sim.aws_access_key_id(),
        sim.aws_secret_access_key(),
        None,
        None,
        "test",
    );
    let provider = AwsProvider::from_config(&profile).unwrap().with_credentials(credentials);
    let whole = provider.listing(&key).await.expect("the listing");
    let warm = whole.instances.iter().filter(|i| i.is_warm_pool()).count();
    assert!(warm > 50, "two pages of warm instances: {warm}");
    sim.inject_fault(fault("autoscaling.DescribeWarmPool", "lost_next_token", 1)).unwrap();
    let err = provider.listing(&key).await.unwrap_err().to_string();
    assert!(err.contains("WarmPoolSize") && err.contains("listing is incomplete"), "{err}");
}
