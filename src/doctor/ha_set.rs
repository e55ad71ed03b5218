//! The scale set that hosts the HA nodes (`nodes.scale_set`): a scale-in Azure starts kills
//! busy nodes, and scaleguard cannot see it coming, so it says how to scale in instead; nodes
//! and VMs that cannot be paired are shown.
//!
//! On Azure the terminate notification is an event of the Azure Instance Metadata Service's
//! Scheduled Events, reachable only from inside the VM (Microsoft Learn: "Terminate notification
//! for Azure Virtual Machine Scale Set instances"; its delay is 5 to 15 minutes): nothing outside
//! the VM, scaleguard included, can drain a node when Azure decides to remove its VM.

use super::finding::{list_names, source, Finding};
use crate::config::Profile;
use crate::model::{Node, Severity};
use crate::snapshot::ScaleSetObservation;

pub const AZURE_SCALE_IN: &str = "ha.azure-scale-in-invisible";
pub const AUTOSCALE_SCALES_IN: &str = "ha.autoscale-scales-in-nodes";
pub const UNPAIRED: &str = "ha.unpaired";
pub const AWS_NO_HOOK: &str = "ha.aws-no-terminating-hook";
pub const AWS_HOOKS: &str = "ha.aws-terminating-hook";
pub const AWS_WARM_POOL_REUSE: &str = "ha.aws-warm-pool-reuse";

/// `nodes`: None when the node list could not be read (pairing is then not judged).
pub fn check(scale_sets: &[ScaleSetObservation], nodes: Option<&[Node]>, profile: &Profile) -> Vec<Finding> {
    let Ok(Some(key)) = profile.nodes_scale_set() else { return Vec::new() };
    let mut findings = Vec::new();
    let subject = format!("scale set {key} (the HA nodes' set)");
    if key.provider == "azure" {
        findings.push(Finding {
            id: AZURE_SCALE_IN,
            severity: Severity::Info,
            subject: subject.clone(),
            observed: "Azure announces a scale-in's VM deletions only inside each VM (Scheduled Events' Terminate \
                       event, 5 to 15 minutes ahead)"
                .into(),
            recommended: "scale the nodes' set in through scaleguard, which drains the chosen nodes first".into(),
            why: "a VM deleted under a busy node fails its tasks, and nothing outside the VM can drain the node in time"
                .into(),
            fix: format!("scaleguard node scale-in {} --count K (or S on the set in the console)", key.name),
            source: source::TERMINATE_NOTIFICATION,
        });
    }
    let Some(observation) = scale_sets.iter().find(|o| o.key == key) else { return findings };
    if let Some(group) = observation.listing.as_ref().ok().and_then(|l| l.state.aws.as_deref()) {
        findings.extend(aws_hook(group, &subject, &key.name, profile));
        if group.warm_pool.as_ref().and_then(|pool| pool.reuse_on_scale_in) == Some(true) {
            findings.push(Finding {
                id: AWS_WARM_POOL_REUSE,
                severity: Severity::Error,
                subject: subject.clone(),
                observed: "the nodes' group's warm pool reuses instances on scale-in (InstanceReusePolicy \
                           ReuseOnScaleIn)"
                    .into(),
                recommended: "no ReuseOnScaleIn on the nodes' group".into(),
                why: "a scaled-in instance then goes back to the pool held by the terminating hook, which `scaleguard \
                      node hooks` does not drain: a busy node is stopped when the hook times out"
                    .into(),
                fix: format!(
                    "aws autoscaling put-warm-pool --auto-scaling-group-name {} --instance-reuse-policy \
                     ReuseOnScaleIn=false (keeping the pool's other settings)",
                    key.name
                ),
                source: source::AWS_WARM_POOL_HOOKS,
            });
        }
    }
    if let Ok(Some(setting)) = &observation.others.setting {
        let scaling_in: Vec<String> =
            setting.profiles.iter().filter(|p| p.scales_in).map(|p| p.display_name()).collect();
        if setting.enabled && !scaling_in.is_empty() {
            findings.push(Finding {
                id: AUTOSCALE_SCALES_IN,
                severity: Severity::Error,
                subject: format!("{subject}, Azure Autoscale setting {}", setting.name),
                observed: format!(
                    "profile(s) {} have scale-in (Decrease) rules",
                    list_names(&scaling_in.iter().map(String::as_str).collect::<Vec<_>>(), 3)
                ),
                recommended: "no scale-in rule on the nodes' set: scale it in drain-first through scaleguard".into(),
                why: "Autoscale removes VMs by the scale-in policy, busy nodes included: their running deployments \
                      fail"
                    .into(),
                fix: format!(
                    "remove the Decrease rules of setting {} (keep the Increase ones), then scale in with \
                     `scaleguard node scale-in {}`",
                    setting.name, key.name
                ),
                source: source::HA_NODES,
            });
        }
    }
    if let (Ok(listing), Some(nodes)) = (&observation.listing, nodes) {
        let pairing = crate::ha::pair(nodes, &listing.instances);
        let mut unpaired: Vec<String> =
            pairing.unpaired_vms.iter().map(|(vm, why)| format!("VM {vm}: {why}")).collect();
        // A node paired with no VM of the set: worth a word when its name looks like one of the
        // set's computer names, and when it runs (it may run on any VM of the set under a name of
        // its own, so no terminating instance is let go at once while it does).
        unpaired.extend(pairing.unpaired_nodes.iter().filter_map(|(id, why)| {
            let node = nodes.iter().find(|n| &n.id == id);
            let name = node.map_or(id.as_str(), |n| n.name.as_str());
            if why.contains("not guessed") {
                Some(format!("node {name}: {why}"))
            } else if node.is_some_and(|n| !n.is_offline) {
                Some(format!("node {name} runs and {why}: each VM hosting no known node may be its host"))
            } else {
                None
            }
        }));
        if !unpaired.is_empty() {
            findings.push(Finding {
                id: UNPAIRED,
                severity: Severity::Warning,
                subject,
                observed: list_names(&unpaired.iter().map(String::as_str).collect::<Vec<_>>(), 4),
                recommended: "each VM of the set runs one node registered under the VM's computer name".into(),
                why: "a scale-in removes only VMs whose node is known for sure; the others are never chosen, and \
                      while a node that answers to no VM runs, no terminating instance is let go at once"
                    .into(),
                fix: "register each node under its VM's computer name (Octopus.Server.exe node --instance ... uses the \
                      machine name), or remove the stray VM"
                    .into(),
                source: source::HA_NODES,
            });
        }
    }
    findings
}

/// On AWS a terminating lifecycle hook is what lets a node drain before its instance goes:
/// without one Auto Scaling terminates a busy node at once; with it `scaleguard node hooks` must
/// run, and the hook's timeouts say how long a drain can hold the instance.
fn aws_hook(group: &crate::model::AwsGroup, subject: &str, set: &str, profile: &Profile) -> Option<Finding> {
    let deadline_secs = profile.nodes.hook_deadline_secs;
    let poll_secs = profile.console.refresh_secs.max(1);
    use crate::model::HookTransition;
    let hooks: Vec<&crate::model::LifecycleHook> = group.hooks_on(HookTransition::Terminating).collect();
    let watch =
        format!("run `scaleguard node hooks --watch` as a service for this profile (nodes' group {set})");
    let finding = |id, severity, observed: String, recommended: String, fix: String| {
        Finding {
        id,
        severity,
        subject: subject.to_string(),
        observed,
        recommended,
        why: "Auto Scaling terminates an instance whatever its node runs; only a terminating hook holds it while the \
              node drains"
            .into(),
        fix,
        source: source::AWS_LIFECYCLE_HOOKS,
    }
    };
    match hooks.as_slice() {
        [] => Some(finding(
            AWS_NO_HOOK,
            Severity::Error,
            "the nodes' Auto Scaling group has no terminating lifecycle hook: a scale-in terminates a busy node at \
             once"
                .into(),
            "one terminating lifecycle hook (autoscaling:EC2_INSTANCE_TERMINATING) on the nodes' group".into(),
            format!("aws autoscaling put-lifecycle-hook --auto-scaling-group-name {set} --lifecycle-hook-name \
                     drain-octopus-node --lifecycle-transition autoscaling:EC2_INSTANCE_TERMINATING --heartbeat-timeout \
                     300 --default-result CONTINUE; then {watch}"),
        )),
        [hook] => {
            let wait = crate::ha::hook::HookWait::first_seen("", hook, time::OffsetDateTime::UNIX_EPOCH);
            let mut capped = if deadline_secs > wait.global_timeout_secs {
                format!(
                    "; nodes.hook_deadline_secs ({deadline_secs} s) is past the hook's global timeout ({} s), which \
                     ends the wait first",
                    wait.global_timeout_secs
                )
            } else {
                String::new()
            };
            // `node hooks --watch` passes every console.refresh_secs and extends the hook two
            // passes ahead: a pass as long as half the timeout cannot keep it alive.
            if poll_secs * 2 >= wait.heartbeat_timeout_secs {
                capped.push_str(&format!(
                    "; console.refresh_secs ({poll_secs} s, how often `node hooks --watch` passes) is half the \
                     heartbeat timeout or more: the hook can time out between two passes"
                ));
            }
            Some(finding(
                AWS_HOOKS,
                if capped.is_empty() { Severity::Info } else { Severity::Warning },
                format!(
                    "terminating hook {} (heartbeat timeout {} s, global timeout {} s, default result {}){capped}",
                    hook.name,
                    wait.heartbeat_timeout_secs,
                    wait.global_timeout_secs,
                    wait.default_result.as_str()
                ),
                "a runner that drains the node while the hook holds its instance, extends the hook and completes it \
                 once drained or at nodes.hook_deadline_secs"
                    .into(),
                watch,
            ))
        }
        many => Some(finding(
            AWS_HOOKS,
            Severity::Warning,
            format!(
                "{} terminating hooks ({}): which one to extend or complete cannot be told, so scaleguard sends none",
                many.len(),
                many.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "one terminating lifecycle hook on the nodes' group".into(),
            format!("delete the extra hooks (aws autoscaling delete-lifecycle-hook), then {watch}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigFile, EXAMPLE};
    use crate::doctor::testkit::{instance, node, state};

    fn profile(scale_set: Option<&str>) -> Profile {
        let config = ConfigFile::parse(EXAMPLE, std::path::Path::new("example.toml")).unwrap();
        let mut profile = config.profile(None).unwrap().1.clone();
        profile.nodes.scale_set = scale_set.map(str::to_string);
        profile
    }

    /// The profile's set, as listed.
    fn listing(instances: Vec<crate::model::Instance>) -> ScaleSetObservation {
        let mut observation = super::super::testkit::listing(state(instances.len() as u32), instances);
        observation.key = profile(None).scale_sets[0].key();
        observation
    }

    #[test]
    fn without_a_nodes_scale_set_there_is_nothing_to_say() {
        assert!(check(&[], None, &profile(None)).is_empty());
    }

    #[test]
    fn on_azure_the_invisible_terminate_notification_is_said_and_unpaired_vms_are_flagged() {
        let observation = listing(vec![instance(0, "N1"), instance(1, "stray")]);
        let findings = check(&[observation], Some(&[node("n1")]), &profile(Some("vmss-web")));
        let ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![AZURE_SCALE_IN, UNPAIRED]);
        assert!(findings[0].fix.contains("node scale-in vmss-web"), "{:?}", findings[0]);
        assert!(findings[1].observed.contains("VM 1: no HA node is named stray"), "{:?}", findings[1]);
        // A running node no VM answers to (registered under a name of its own) is named too.
        let observation = listing(vec![instance(0, "N1")]);
        let findings =
            check(&[observation], Some(&[node("n1"), node("EC2AMAZ-7QK2M1B")]), &profile(Some("vmss-web")));
        let unpaired = findings.iter().find(|f| f.id == UNPAIRED).expect("flagged");
        assert!(unpaired.observed.contains("node EC2AMAZ-7QK2M1B runs"), "{unpaired:?}");
    }

    #[test]
    fn autoscale_scale_in_rules_on_the_nodes_set_are_an_error() {
        let mut observation = listing(vec![instance(0, "n1"), instance(1, "n2")]);
        let profile_of = |scales_in| crate::autoscale::Profile {
            name: "default".into(),
            capacity: crate::autoscale::CapacityRange { minimum: 2, maximum: 4, default: 2 },
            schedule: crate::autoscale::Schedule::Default,
            scales_in,
        };
        let setting = |scales_in| crate::autoscale::Setting {
            id: "/x/autoscalesettings/octo".into(),
            name: "octo-autoscale".into(),
            enabled: true,
            target_resource_uri: "/x".into(),
            profiles: vec![profile_of(scales_in)],
            resource: serde_json::json!({}),
        };
        observation.others.setting = Ok(Some(setting(true)));
        let nodes = [node("n1"), node("n2")];
        let findings = check(std::slice::from_ref(&observation), Some(&nodes), &profile(Some("vmss-web")));
        let flagged: Vec<&Finding> = findings.iter().filter(|f| f.id == AUTOSCALE_SCALES_IN).collect();
        assert_eq!(flagged.len(), 1, "{findings:?}");
        assert_eq!(flagged[0].severity, Severity::Error);
        observation.others.setting = Ok(Some(setting(false)));
        let findings = check(&[observation], Some(&nodes), &profile(Some("vmss-web")));
        assert!(findings.iter().all(|f| f.id != AUTOSCALE_SCALES_IN), "only Increase rules: fine");
    }

    #[test]
    fn an_aws_nodes_group_needs_one_terminating_hook_and_the_runner() {
        use crate::model::{HookTransition, LifecycleHook};
        let hook = |name: &str| LifecycleHook {
            name: name.into(),
            transition: HookTransition::Terminating,
            heartbeat_timeout_secs: Some(300),
            default_result: Some("ABANDON".into()),
            global_timeout_secs: Some(6_000),
        };
        let with_hooks = |hooks: Vec<LifecycleHook>| {
            let mut observation = listing(vec![instance(0, "n1")]);
            let listed = observation.listing.as_mut().unwrap();
            listed.state.aws = Some(Box::new(crate::reconcile::testkit::aws_group(4, hooks)));
            observation
        };
        let mut profile = profile(Some("vmss-web"));
        let found = |observation: ScaleSetObservation, profile: &Profile| -> Vec<Finding> {
            check(&[observation], Some(&[node("n1")]), profile)
                .into_iter()
                .filter(|f| f.id == AWS_NO_HOOK || f.id == AWS_HOOKS)
                .collect()
        };
        let none = found(with_hooks(vec![]), &profile);
        assert_eq!((none[0].id, none[0].severity), (AWS_NO_HOOK, Severity::Error), "{none:?}");
        let one = found(with_hooks(vec![hook("drain")]), &profile);
        assert_eq!(one[0].severity, Severity::Info, "{one:?}");
        assert!(one[0].fix.contains("node hooks --watch"), "{:?}", one[0]);
        profile.nodes.hook_deadline_secs = 7_200;
        let capped = found(with_hooks(vec![hook("drain")]), &profile);
        assert_eq!(capped[0].severity, Severity::Warning);
        assert!(capped[0].observed.contains("global timeout (6000 s)"), "{:?}", capped[0]);
        profile.nodes.hook_deadline_secs = 3_600;
        profile.console.refresh_secs = 150;
        let slow = found(with_hooks(vec![hook("drain")]), &profile);
        assert_eq!(slow[0].severity, Severity::Warning);
        assert!(slow[0].observed.contains("console.refresh_secs (150 s"), "{:?}", slow[0]);
        let two = found(with_hooks(vec![hook("a"), hook("b")]), &profile);
        assert!(two[0].observed.contains("2 terminating hooks (a, b)"), "{:?}", two[0]);

        // A warm pool that reuses instances on scale-in sends a node's instance back undrained.
        let with_pool = |reuse_on_scale_in| {
            let mut observation = with_hooks(vec![hook("drain")]);
            let group = observation.listing.as_mut().unwrap().state.aws.as_mut().unwrap();
            group.warm_pool = Some(crate::model::WarmPool {
                min_size: Some(1),
                max_group_prepared_capacity: None,
                pool_state: Some("Stopped".into()),
                status: None,
                reuse_on_scale_in,
            });
            check(&[observation], Some(&[node("n1")]), &profile)
                .into_iter()
                .filter(|f| f.id == AWS_WARM_POOL_REUSE)
                .collect::<Vec<_>>()
        };
        let reused = with_pool(Some(true));
        assert_eq!(reused.len(), 1, "{reused:?}");
        assert_eq!(reused[0].severity, Severity::Error);
        assert!(reused[0].fix.contains("ReuseOnScaleIn=false"), "{:?}", reused[0]);
        assert!(with_pool(Some(false)).is_empty() && with_pool(None).is_empty());
    }
}
