//! HA nodes (Octopus's "Auto Scaling High Availability Nodes"): every node on the version `GET /api`
//! reports, no node that stopped heartbeating still registered, and no new node taking tasks before
//! it was verified with a task cap of 0.

use super::finding::{list_names, source, Finding};
use crate::config::NodesConfig;
use crate::model::{Node, Severity};
use time::OffsetDateTime;

pub const VERSION_MISMATCH: &str = "node.version-mismatch";
pub const STALE_REGISTRATION: &str = "node.stale-registration";
pub const UNVERIFIED_TASK_NODE: &str = "node.unverified-task-node";
pub const VERIFIED_LIST_EMPTY: &str = "node.verified-list-empty";

/// `server_version` is None when `GET /api` could not be read (versions are then not judged).
pub fn check(
    nodes: &[Node],
    server_version: Option<&str>,
    config: &NodesConfig,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for node in nodes {
        let subject = format!("node {}", node.name);
        if let (Some(server), Some(version)) = (server_version, node.version.as_deref()) {
            if version.trim() != server.trim() {
                findings.push(Finding {
                    id: VERSION_MISMATCH,
                    severity: Severity::Error,
                    subject: subject.clone(),
                    observed: format!("runs Octopus {version}"),
                    recommended: format!("{server}, the version GET /api reports"),
                    why: "all nodes of a High Availability cluster must run the same version of Octopus"
                        .into(),
                    fix: format!(
                        "install Octopus {server} on {} (or take the node out of the cluster)",
                        node.name
                    ),
                    source: source::HA_NODES,
                });
            }
        }
        if let Some(observed) = stale(node, config, now) {
            findings.push(Finding {
                id: STALE_REGISTRATION,
                severity: Severity::Warning,
                subject: subject.clone(),
                observed,
                recommended: "a node that is gone is removed from the cluster".into(),
                why: "tasks that were running on a vanished node look Executing for up to 60 minutes, and the \
                      node still counts as a cluster member"
                    .into(),
                fix: "drain the node, cancel its Executing/Cancelling tasks, then delete it (the console's node \
                      drain does these steps)"
                    .into(),
                source: source::HA_NODES,
            });
        }
    }
    let task_nodes: Vec<&Node> = nodes.iter().filter(|n| n.max_concurrent_tasks > 0).collect();
    if config.verified.is_empty() {
        if !task_nodes.is_empty() {
            let names: Vec<&str> = task_nodes.iter().map(|n| n.name.as_str()).collect();
            findings.push(Finding {
                id: VERIFIED_LIST_EMPTY,
                severity: Severity::Info,
                subject: "nodes.verified".into(),
                observed: format!("no verified node is listed; task nodes: {}", list_names(&names, 5)),
                recommended: "list the nodes you verified, so a new node that takes tasks is flagged".into(),
                why:
                    "a new node added by a scale-out starts with task cap 5 and picks up tasks within 60 s, \
                      before anyone checked it can reach the database, file share and tentacles"
                        .into(),
                fix: "add `verified = [\"NODE-1\", ...]` under [profiles.NAME.nodes] in the config".into(),
                source: source::HA_NODES,
            });
        }
        return findings;
    }
    for node in task_nodes {
        let verified = config.verified.iter().any(|v| v.trim().eq_ignore_ascii_case(node.name.trim()));
        if !verified {
            findings.push(Finding {
                id: UNVERIFIED_TASK_NODE,
                severity: Severity::Warning,
                subject: format!("node {}", node.name),
                observed: format!("task cap {} and not in nodes.verified", node.max_concurrent_tasks),
                recommended: "task cap 0 until the node is verified, then list it in nodes.verified".into(),
                why: "an unchecked node that cannot reach the file share, tentacles or cloud accounts fails \
                      every task it picks up"
                    .into(),
                fix: format!(
                    "set {}'s task cap to 0, verify it (portal loads, task logs show, a tentacle answers), then \
                     raise the cap and add it to nodes.verified",
                    node.name
                ),
                source: source::HA_NODES,
            });
        }
    }
    findings
}

/// "last seen 15 minutes ago" when the node stopped heartbeating longer ago than the limit.
fn stale(node: &Node, config: &NodesConfig, now: OffsetDateTime) -> Option<String> {
    let limit = config.offline_after_secs as i64;
    match node.last_seen {
        None => Some("never seen, still registered".into()),
        Some(seen) => {
            let ago = (now - seen).whole_seconds();
            (ago > limit || node.is_offline).then(|| {
                if ago >= 120 {
                    format!("last seen {} minutes ago, still registered", ago / 60)
                } else {
                    "reported offline, still registered".into()
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testkit::{node, NOW};

    fn config(verified: &[&str]) -> NodesConfig {
        NodesConfig { verified: verified.iter().map(|v| v.to_string()).collect(), ..NodesConfig::default() }
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.id).collect()
    }

    #[test]
    fn a_healthy_verified_cluster_gives_no_finding() {
        let nodes = [node("n1"), node("n2")];
        assert!(check(&nodes, Some("2024.3.12741"), &config(&["N1", "n2"]), NOW).is_empty());
    }

    #[test]
    fn a_node_on_another_version_is_an_error() {
        let mut old = node("n2");
        old.version = Some("2024.2.9313".into());
        let findings = check(&[node("n1"), old], Some("2024.3.12741"), &config(&["n1", "n2"]), NOW);
        assert_eq!(ids(&findings), vec![VERSION_MISMATCH]);
        assert_eq!(findings[0].subject, "node n2");
        assert!(findings[0].recommended.starts_with("2024.3.12741"));
        assert!(check(&[node("n1")], None, &config(&["n1"]), NOW).is_empty(), "unknown server version");
    }

    #[test]
    fn a_node_unseen_for_over_five_minutes_is_stale() {
        let mut gone = node("n2");
        gone.last_seen = Some(NOW - time::Duration::minutes(15));
        let mut borderline = node("n3");
        borderline.last_seen = Some(NOW - time::Duration::seconds(300));
        let mut never = node("n4");
        never.last_seen = None;
        let findings = check(&[gone, borderline, never], None, &config(&["n2", "n3", "n4"]), NOW);
        assert_eq!(ids(&findings), vec![STALE_REGISTRATION, STALE_REGISTRATION]);
        assert!(findings[0].observed.contains("15 minutes"), "{}", findings[0].observed);
        assert_eq!(findings[1].subject, "node n4");
    }

    #[test]
    fn an_unverified_node_that_takes_tasks_is_flagged_but_not_one_with_cap_zero() {
        let mut ui_only = node("n3");
        ui_only.max_concurrent_tasks = 0;
        let findings = check(&[node("n1"), node("n2"), ui_only], None, &config(&["n1"]), NOW);
        assert_eq!(ids(&findings), vec![UNVERIFIED_TASK_NODE]);
        assert_eq!(findings[0].subject, "node n2");
    }

    #[test]
    fn without_a_verified_list_there_is_one_informational_finding() {
        let findings = check(&[node("n1"), node("n2")], None, &config(&[]), NOW);
        assert_eq!(
            findings.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
            vec![(VERIFIED_LIST_EMPTY, Severity::Info)]
        );
    }
}
