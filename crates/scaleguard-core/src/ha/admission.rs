//! Careful scale-out of the HA cluster (Octopus Deploy docs, "Auto Scaling High Availability
//! Nodes"): a new node joins with task cap 5 and picks up tasks within 60 seconds, before anyone
//! checked it can reach the database, the file store and the tentacles. The advice: add it with
//! task cap 0, verify it, then raise the cap. Here: which nodes are new and unverified (to hold at
//! cap 0), and what can be checked of a node from here and what must be checked on it.

use crate::config::NodesConfig;
use crate::drain::is_online;
use crate::model::Node;
use serde::Serialize;
use time::OffsetDateTime;

/// The task cap a node gets back on admission when nothing else is known (Octopus's default).
pub const DEFAULT_TASK_CAP: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Passed,
    Failed,
    Unknown,
}

impl CheckState {
    pub fn word(self) -> &'static str {
        match self {
            CheckState::Passed => "ok",
            CheckState::Failed => "NOT YET",
            CheckState::Unknown => "unknown",
        }
    }
}

/// One check an operator can see from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub state: CheckState,
    pub detail: String,
}

/// What to verify on the node itself before it takes tasks (the pitfalls the Octopus page lists).
pub const ON_THE_NODE: [&str; 4] = [
    "database: the Octopus Web Portal loads on this node, with no database error",
    "file store: task logs show when viewed through this node",
    "tentacles: from the node, a listening tentacle answers on port 10933",
    "cloud accounts and feeds: SAVE AND TEST passes on this node",
];

/// A node's admission state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admission {
    pub node_id: String,
    pub node_name: String,
    pub task_cap: u32,
    pub verified: bool,
    pub visible: Vec<Check>,
    pub on_the_node: Vec<&'static str>,
}

impl Admission {
    /// Every check visible from here passed.
    pub fn visible_ok(&self) -> bool {
        self.visible.iter().filter(|c| c.name != VERIFIED).all(|c| c.state == CheckState::Passed)
    }

    /// One line per check: "ok       same version as GET /api: 2024.3.12741".
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> =
            self.visible.iter().map(|c| format!("{:<8} {}: {}", c.state.word(), c.name, c.detail)).collect();
        lines.push("to check on the node itself:".into());
        lines.extend(self.on_the_node.iter().map(|what| format!("  - {what}")));
        lines
    }
}

const VERIFIED: &str = "verified by an operator";

/// Listed in `nodes.verified`, or admitted (`node admit`, journaled): `admitted` holds node ids
/// and names.
pub fn is_verified(node: &Node, config: &NodesConfig, admitted: &[String]) -> bool {
    let named = |list: &[String]| {
        list.iter()
            .any(|v| v.trim().eq_ignore_ascii_case(node.name.trim()) || v.eq_ignore_ascii_case(&node.id))
    };
    named(&config.verified) || named(admitted)
}

/// The checks for `node`; `server_version` is what `GET /api` reported (None: unread).
pub fn checks(
    node: &Node,
    server_version: Option<&str>,
    verified: bool,
    now: OffsetDateTime,
    config: &NodesConfig,
) -> Admission {
    let version = match (server_version, node.version.as_deref()) {
        (Some(server), Some(own)) if server.trim() == own.trim() => Check {
            name: "same version as GET /api",
            state: CheckState::Passed,
            detail: own.trim().to_string(),
        },
        (Some(server), Some(own)) => Check {
            name: "same version as GET /api",
            state: CheckState::Failed,
            detail: format!("runs {own}, the server reports {server}"),
        },
        (None, _) => Check {
            name: "same version as GET /api",
            state: CheckState::Unknown,
            detail: "GET /api could not be read".into(),
        },
        (_, None) => Check {
            name: "same version as GET /api",
            state: CheckState::Unknown,
            detail: "the node reports no version".into(),
        },
    };
    let heartbeat = if is_online(node, now, config) {
        Check {
            name: "heartbeating",
            state: CheckState::Passed,
            detail: "seen within the offline limit".into(),
        }
    } else {
        let detail = match node.last_seen {
            Some(at) => format!("last seen {}s ago", (now - at).whole_seconds().max(0)),
            None => "never seen".into(),
        };
        Check { name: "heartbeating", state: CheckState::Failed, detail }
    };
    let verification = if verified {
        Check {
            name: VERIFIED,
            state: CheckState::Passed,
            detail: "listed in nodes.verified or admitted".into(),
        }
    } else {
        Check {
            name: VERIFIED,
            state: CheckState::Failed,
            detail: format!("not yet: check it on the node, then `scaleguard node admit {}`", node.name),
        }
    };
    Admission {
        node_id: node.id.clone(),
        node_name: node.name.clone(),
        task_cap: node.max_concurrent_tasks,
        verified,
        visible: vec![version, heartbeat, verification],
        on_the_node: ON_THE_NODE.to_vec(),
    }
}

/// Nodes that appeared since `previous` (an earlier successful listing of this session: without
/// one nothing counts as new, so starting a console never holds a whole cluster) and take tasks
/// unverified: to hold at task cap 0 (`nodes.admit_with_task_cap_zero`), or to offer it.
pub fn new_unverified<'a>(
    previous: Option<&[Node]>,
    current: &'a [Node],
    config: &NodesConfig,
    admitted: &[String],
) -> Vec<&'a Node> {
    let Some(previous) = previous else { return Vec::new() };
    current
        .iter()
        .filter(|node| !previous.iter().any(|p| p.id == node.id))
        .filter(|node| node.max_concurrent_tasks > 0 && !is_verified(node, config, admitted))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::tests_props::{config, node, NOW};

    #[test]
    fn only_a_node_that_appeared_while_watching_and_is_unverified_is_new() {
        let before = [node("N1", "octo1")];
        let mut ui = node("N4", "octo4");
        ui.max_concurrent_tasks = 0;
        let now = [node("N1", "octo1"), node("N2", "octo2"), node("N3", "octo3"), ui];
        let mut config = config();
        config.verified = vec!["OCTO3".into()];
        let new: Vec<&str> =
            new_unverified(Some(&before), &now, &config, &[]).iter().map(|n| n.name.as_str()).collect();
        assert_eq!(new, vec!["octo2"], "octo3 is verified, octo4 takes no tasks");
        assert!(new_unverified(None, &now, &config, &[]).is_empty(), "no earlier listing: nothing is new");
        assert!(
            new_unverified(Some(&before), &now, &config, &["N2".into()]).is_empty(),
            "admitted in the journal"
        );
    }

    #[test]
    fn the_checks_say_what_is_seen_and_what_is_left_to_do_on_the_node() {
        let mut n = node("N2", "octo2");
        let admission = checks(&n, Some("2024.3.12741"), false, NOW, &config());
        assert!(admission.visible_ok(), "{admission:?}");
        assert!(!admission.verified);
        let text = admission.lines().join("\n");
        assert!(
            text.contains("NOT YET  verified by an operator") && text.contains("node admit octo2"),
            "{text}"
        );
        assert!(text.contains("tentacle answers on port 10933"), "{text}");
        n.version = Some("2024.2.1".into());
        n.last_seen = Some(NOW - time::Duration::minutes(10));
        let admission = checks(&n, Some("2024.3.12741"), true, NOW, &config());
        assert!(!admission.visible_ok());
        let states: Vec<CheckState> = admission.visible.iter().map(|c| c.state).collect();
        assert_eq!(states, vec![CheckState::Failed, CheckState::Failed, CheckState::Passed]);
    }
}
