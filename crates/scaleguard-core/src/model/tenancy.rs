//! Octopus tenants, as far as deploying to new targets goes: a project's tenanted-deployment
//! mode, a target's participation, and which tenants a target is connected to (by id or by a
//! tenant tag the tenant carries).

use serde::{Deserialize, Serialize};

/// `TenantedDeploymentMode` of a project and `TenantedDeploymentParticipation` of a target (the
/// same wire enum). Servers and targets that predate tenants say nothing: Untenanted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TenantedMode {
    #[default]
    Untenanted,
    TenantedOrUntenanted,
    Tenanted,
}

impl TenantedMode {
    /// The wire value; an unknown one is None (never guessed).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "Untenanted" => Some(Self::Untenanted),
            "TenantedOrUntenanted" => Some(Self::TenantedOrUntenanted),
            "Tenanted" => Some(Self::Tenanted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Untenanted => "Untenanted",
            Self::TenantedOrUntenanted => "TenantedOrUntenanted",
            Self::Tenanted => "Tenanted",
        }
    }

    /// Can an untenanted deployment run here (project) or include this target?
    pub fn allows_untenanted(self) -> bool {
        self != Self::Tenanted
    }

    /// Can a tenanted deployment run here (project) or include this target?
    pub fn allows_tenanted(self) -> bool {
        self != Self::Untenanted
    }
}

/// The tenant a deployment is for, as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantRef {
    pub id: String,
    pub name: String,
}

impl std::fmt::Display for TenantRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

/// "3 tenants, 5 targets" over the deploys among `actions` when any is tenanted (None otherwise):
/// what an approval reaches, counted once per tenant and once per target.
pub fn tenant_reach(actions: &[super::PlannedAction]) -> Option<String> {
    let mut tenants = std::collections::BTreeSet::new();
    let mut targets = std::collections::BTreeSet::new();
    for planned in actions {
        if let super::Action::Deploy { tenant, target_ids, .. } = &planned.action {
            tenants.extend(tenant.as_ref().map(|t| t.id.as_str()));
            targets.extend(target_ids.iter().map(String::as_str));
        }
    }
    let plural = |n: usize, word: &str| if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") };
    (!tenants.is_empty())
        .then(|| format!("{}, {}", plural(tenants.len(), "tenant"), plural(targets.len(), "target")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, PlannedAction};

    fn deploy(tenant: Option<&str>, targets: &[&str]) -> PlannedAction {
        PlannedAction {
            id: format!("deploy:{tenant:?}"),
            action: Action::Deploy {
                project_id: "Projects-1".into(),
                project_name: "Portal".into(),
                release_id: "Releases-1".into(),
                release_version: "2.1.0".into(),
                environment_id: "Environments-1".into(),
                target_ids: targets.iter().map(|t| t.to_string()).collect(),
                target_names: targets.iter().map(|t| t.to_string()).collect(),
                tenant: tenant.map(|id| TenantRef { id: id.into(), name: format!("name of {id}") }),
            },
            reason: String::new(),
            observations: vec![],
        }
    }

    #[test]
    fn reach_counts_each_tenant_and_each_target_once() {
        let plan = vec![
            deploy(Some("Tenants-1"), &["Machines-1", "Machines-2"]),
            deploy(Some("Tenants-2"), &["Machines-1", "Machines-2", "Machines-3"]),
            deploy(Some("Tenants-3"), &["Machines-4"]),
            deploy(None, &["Machines-5"]),
        ];
        assert_eq!(tenant_reach(&plan).as_deref(), Some("3 tenants, 5 targets"));
        assert_eq!(tenant_reach(&plan[..1]).as_deref(), Some("1 tenant, 2 targets"));
        assert_eq!(tenant_reach(&plan[3..]), None, "untenanted deploys say nothing new");
        assert!(plan[0].action.summary().contains("Portal 2.1.0 for tenant name of Tenants-1"));
    }

    #[test]
    fn participation_parses_the_wire_values_only() {
        for mode in [TenantedMode::Untenanted, TenantedMode::TenantedOrUntenanted, TenantedMode::Tenanted] {
            assert_eq!(TenantedMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(TenantedMode::parse("tenanted"), None);
    }
}
