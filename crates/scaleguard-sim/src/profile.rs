//! The config file `scaleguard sim --write-config` writes: a `sim` profile pointing here.

use super::scenario::Scenario;
use std::fmt::Write;

/// Timings scale with the simulator's speed so a fast demo still waits the right *simulated* time.
pub fn profile_toml(scenario: &Scenario, base_url: &str, speed: f64) -> String {
    let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
    let scaled = |secs: f64| ((secs / speed).round() as u64).max(1);
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list =
        |items: &[String]| format!("[{}]", items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "));
    let projects: Vec<String> = scenario.projects.iter().map(|p| p.name.clone()).collect();
    let aws_groups = scenario.aws.iter().flat_map(|aws| &aws.groups);
    let capacities =
        scenario.scale_sets.iter().map(|s| s.capacity).chain(aws_groups.clone().map(|g| g.desired));
    let max_capacity = capacities.max().unwrap_or(1).max(10) * 2;
    let mut out = String::new();
    let _ = writeln!(out, "# Written by `scaleguard sim`: a profile for the built-in simulator.");
    let _ = writeln!(out, "default_profile = \"sim\"\n");
    let _ = writeln!(out, "[profiles.sim]\nread_only = false\n");
    let _ = writeln!(out, "[profiles.sim.octopus]");
    let _ = writeln!(out, "url = {}", quote(base_url));
    let _ = writeln!(out, "api_key_env = \"OCTOPUS_API_KEY\"");
    let _ = writeln!(out, "space = {}", quote(&scenario.octopus.space));
    let _ = writeln!(out, "environment = {}", quote(&scenario.octopus.environment));
    let _ = writeln!(out, "roles = {}", list(&scenario.octopus.roles));
    let _ = writeln!(out, "projects = {}", list(&projects));
    let _ = writeln!(out, "timeout_secs = 10\n");
    // An AWS-only scenario has no Azure table.
    if !scenario.scale_sets.is_empty() {
        let _ = writeln!(out, "[profiles.sim.azure]");
        let _ = writeln!(out, "arm_url = {}", quote(base_url));
        let _ = writeln!(out, "credential = \"token_env\"\ntoken_env = \"ARM_TOKEN\"");
        let _ = writeln!(out, "timeout_secs = 10\nlro_deadline_secs = {}\n", scaled(600.0).max(30));
    }
    for set in &scenario.scale_sets {
        let _ = writeln!(out, "[[profiles.sim.scale_sets]]\nprovider = \"azure\"");
        let _ = writeln!(out, "subscription_id = {}", quote(&set.subscription_id));
        let _ = writeln!(out, "resource_group = {}", quote(&set.resource_group));
        let _ = writeln!(out, "name = {}", quote(&set.name));
        let _ = writeln!(out, "match = \"computer_name\"\n");
    }
    if let Some(aws) = scenario.aws.as_ref().filter(|aws| !aws.groups.is_empty()) {
        // Credentials come from the environment (`RunningSim::env`), as from any default chain.
        let _ = writeln!(out, "[profiles.sim.aws]");
        let _ = writeln!(out, "region = {}", quote(&aws.region));
        let _ = writeln!(out, "endpoint_url = {}\n", quote(base_url));
    }
    for group in aws_groups {
        let _ = writeln!(out, "[[profiles.sim.scale_sets]]\nprovider = \"aws\"");
        let _ = writeln!(out, "name = {}", quote(&group.name));
        let _ = writeln!(out, "match = {}\n", quote(&group.naming));
    }
    let _ = writeln!(out, "[profiles.sim.guard]");
    let _ = writeln!(out, "min_capacity = 1\nmax_capacity = {max_capacity}\nmax_step = 5");
    let _ = writeln!(out, "cooldown_secs = {}\nrequire_reason = true\n", scaled(600.0));
    let _ = writeln!(out, "[profiles.sim.reconcile]\nabsent_observations = 3");
    let _ = writeln!(out, "absent_grace_secs = {}", scaled(300.0));
    let _ = writeln!(out, "provisioning_timeout_secs = {}", scaled(900.0));
    let _ = writeln!(out, "confirm_over = 3\nunregistered_after_secs = {}\n", scaled(600.0));
    let _ = writeln!(out, "[profiles.sim.nodes]");
    let verified: Vec<String> =
        scenario.nodes.iter().filter(|n| n.verified).map(|n| n.name.clone()).collect();
    let _ = writeln!(out, "offline_after_secs = {}\ndrain_deadline_secs = {}", scaled(300.0), scaled(1800.0));
    let _ = writeln!(out, "verified = {}", list(&verified));
    // The set or group whose machines run the HA nodes: paired by computer name, scaled in drain-first, and new
    // nodes held at task cap 0 until verified (seed 004's advice).
    let azure_host = scenario.scale_sets.iter().find(|s| s.hosts_nodes).map(|s| &s.name);
    let aws_host = scenario.aws.iter().flat_map(|aws| &aws.groups).find(|g| g.hosts_nodes).map(|g| &g.name);
    if let Some(name) = azure_host.or(aws_host) {
        let _ = writeln!(out, "scale_set = {}", quote(name));
        let _ = writeln!(out, "admit_with_task_cap_zero = true");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "[profiles.sim.console]\nrefresh_secs = {}", scaled(5.0));
    out
}

#[cfg(test)]
mod tests {
    use super::super::scenario;
    use super::profile_toml;

    fn profile(name: &str) -> toml::Value {
        let text = profile_toml(&scenario::load(name).unwrap(), "http://127.0.0.1:4321", 1.0);
        toml::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}\n{text}"))
    }

    #[test]
    fn aws_groups_get_the_aws_table_and_provider_aws_entries() {
        let sim = &profile("aws-scale-out")["profiles"]["sim"];
        assert_eq!(sim["aws"]["region"].as_str(), Some("eu-west-1"));
        assert_eq!(sim["aws"]["endpoint_url"].as_str(), Some("http://127.0.0.1:4321"));
        assert!(sim.get("azure").is_none(), "an AWS-only scenario has no Azure table");
        let sets = sim["scale_sets"].as_array().unwrap();
        assert_eq!(sets.len(), 1);
        let set = sets[0].as_table().unwrap();
        let keys: Vec<&str> = set.keys().map(String::as_str).collect();
        assert_eq!(keys, ["match", "name", "provider"]);
        assert_eq!(
            (set["provider"].as_str(), set["name"].as_str(), set["match"].as_str()),
            (Some("aws"), Some("web-asg"), Some("private_dns_name"))
        );
    }

    #[test]
    fn the_group_hosting_the_nodes_is_the_nodes_scale_set_and_new_nodes_start_at_cap_zero() {
        let sim = &profile("ha-scale-aws")["profiles"]["sim"];
        let nodes = &sim["nodes"];
        assert_eq!(nodes["scale_set"].as_str(), Some("octo-asg"));
        assert_eq!(nodes["admit_with_task_cap_zero"].as_bool(), Some(true));
        let verified: Vec<&str> =
            nodes["verified"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(verified, ["IP-10-0-0-4", "IP-10-0-32-5", "IP-10-0-64-6", "IP-10-0-0-7"]);
        let sets: Vec<(&str, &str)> = sim["scale_sets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["provider"].as_str().unwrap(), s["name"].as_str().unwrap()))
            .collect();
        assert_eq!(sets, [("aws", "octo-asg"), ("aws", "web-asg")]);
        assert!(sim.get("azure").is_none());
        let azure = &profile("ha-scale")["profiles"]["sim"]["nodes"];
        assert_eq!(azure["scale_set"].as_str(), Some("vmss-octo"));
        assert!(profile("aws-scale-in")["profiles"]["sim"]["nodes"].get("scale_set").is_none());
    }

    #[test]
    fn a_mixed_profile_has_both_clouds_and_azure_only_ones_no_aws() {
        let sim = &profile("azure-aws")["profiles"]["sim"];
        assert!(sim.get("azure").is_some() && sim.get("aws").is_some());
        let providers: Vec<&str> =
            sim["scale_sets"].as_array().unwrap().iter().filter_map(|s| s["provider"].as_str()).collect();
        assert_eq!(providers, ["azure", "aws"]);
        for name in scenario::names().into_iter().filter(|n| scenario::load(n).unwrap().aws.is_none()) {
            let text = profile_toml(&scenario::load(name).unwrap(), "http://127.0.0.1:4321", 1.0);
            assert!(!text.contains("aws"), "{name}");
        }
    }
}
