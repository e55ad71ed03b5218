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
