//! What a drain-first scale-in of the nodes' scale set will do, shown before the operator
//! approves: the guard's verdict on the capacity change, the nodes chosen (each with its VM and
//! why), the candidates passed over, and every reason it cannot go ahead. Pure over what was read,
//! so the console computes it live from its latest refresh.

use crate::config::NodesConfig;
use crate::ha::{self, Pairing, VictimChoice};
use crate::model::Node;
use crate::scaling::Proposal;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleInPlan {
    /// The guard's proposal for the capacity change (current → current − count).
    pub proposal: Proposal,
    pub nodes: Vec<Node>,
    pub pairing: Pairing,
    pub choice: VictimChoice,
}

/// The plan as plain data (`--format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScaleInPlanSummary {
    pub scale_set: String,
    pub current: u32,
    pub target: u32,
    pub victims: Vec<ha::Victim>,
    pub passed_over: Vec<String>,
    pub unpaired_nodes: Vec<String>,
    pub allowed: bool,
    pub refusals: Vec<String>,
    pub warnings: Vec<String>,
}

impl ScaleInPlan {
    /// Pair the nodes with the proposal's listing and choose `current − target` victims.
    pub fn new(proposal: Proposal, nodes: Vec<Node>, now: OffsetDateTime, config: &NodesConfig) -> Self {
        let pairing = ha::pair(&nodes, &proposal.instances);
        let count = proposal.current().saturating_sub(proposal.target());
        let choice = ha::choose(count, &nodes, &pairing, &proposal.state, &proposal.instances, now, config);
        Self { proposal, nodes, pairing, choice }
    }

    pub fn count(&self) -> u32 {
        self.choice.count
    }

    pub fn is_allowed(&self) -> bool {
        self.proposal.is_allowed() && self.choice.is_allowed()
    }

    /// Every reason not to go ahead: the guard's, then the choice's.
    pub fn refusals(&self) -> Vec<String> {
        let mut reasons: Vec<String> =
            self.proposal.verdict.refusals().iter().map(ToString::to_string).collect();
        reasons.extend(self.choice.refusals.iter().cloned());
        reasons
    }

    fn unpaired_nodes(&self) -> Vec<String> {
        self.pairing
            .unpaired_nodes
            .iter()
            .map(|(id, why)| {
                let name = self.nodes.iter().find(|n| &n.id == id).map_or(id.as_str(), |n| n.name.as_str());
                format!("{name}: {why}")
            })
            .collect()
    }

    pub fn summary(&self) -> ScaleInPlanSummary {
        ScaleInPlanSummary {
            scale_set: self.proposal.key().to_string(),
            current: self.proposal.current(),
            target: self.proposal.target(),
            victims: self.choice.victims.clone(),
            passed_over: self.choice.passed_over.clone(),
            unpaired_nodes: self.unpaired_nodes(),
            allowed: self.is_allowed(),
            refusals: self.refusals(),
            warnings: self.proposal.verdict.warnings().to_vec(),
        }
    }

    /// The guard's lines up to the verdict, then the drain-first part and the verdict with every
    /// reason.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .proposal
            .lines()
            .into_iter()
            .take_while(|line| !line.starts_with("Verdict"))
            .filter(|line| !line.starts_with("Scale-in"))
            .collect();
        lines.push(format!(
            "Scale-in     drain-first: the set hosts the HA nodes; {} node(s) drained, then exactly their VMs \
             deleted, then their node records",
            self.count()
        ));
        for (index, victim) in self.choice.victims.iter().enumerate() {
            let label = if index == 0 { "Remove" } else { "" };
            lines.push(format!("{label:<12} {}: {}", victim.label(), victim.why));
        }
        for note in &self.choice.passed_over {
            lines.push(format!("Not chosen   {note}"));
        }
        for note in self.unpaired_nodes() {
            lines.push(format!("Unpaired     {note}"));
        }
        lines.push(
            "Tasks        a busy node's tasks are waited for; they are cancelled only once it is offline, or \
             when you choose to at the drain deadline"
                .into(),
        );
        let refusals = self.refusals();
        if refusals.is_empty() {
            lines.push("Verdict      ALLOWED".into());
            lines.extend(self.proposal.verdict.warnings().iter().map(|w| format!("  ! {w}")));
        } else {
            lines.push(format!("Verdict      REFUSED ({} reason(s))", refusals.len()));
            lines.extend(refusals.iter().map(|r| format!("  - {r}")));
        }
        lines
    }
}
