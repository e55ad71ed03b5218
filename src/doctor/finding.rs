//! One finding: which check, how bad, what was seen, what is recommended, where that advice comes
//! from, and the one-line fix.

use crate::model::Severity;
use serde::Serialize;

/// The public page a recommendation comes from: its title and address, so an operator can read
/// the advice at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    /// "Octopus Deploy docs: Machine policies".
    pub title: &'static str,
    pub url: &'static str,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <{}>", self.title, self.url)
    }
}

/// Every page a finding cites. Each constant's page states the setting the checks use.
pub mod source {
    use super::Source;

    const fn page(title: &'static str, url: &'static str) -> Source {
        Source { title, url }
    }

    /// Health-check interval, unavailable machines, Calamari updates, automatic deletion.
    pub const MACHINE_POLICIES: Source = page(
        "Octopus Deploy docs: Machine policies",
        "https://octopus.com/docs/infrastructure/deployment-targets/machine-policies",
    );
    /// "Deployment targets": allow deployments to be created when there are no targets.
    pub const PROJECT_SETTINGS: Source =
        page("Octopus Deploy docs: Projects", "https://octopus.com/docs/projects");
    /// Skip unavailable targets for a role, exclude unhealthy ones.
    pub const TRANSIENT_TARGETS: Source = page(
        "Octopus Deploy docs: Deploying to transient targets",
        "https://octopus.com/docs/deployments/patterns/elastic-and-transient-environments/deploying-to-transient-targets",
    );
    pub const GUIDED_FAILURES: Source =
        page("Octopus Deploy docs: Guided failures", "https://octopus.com/docs/releases/guided-failures");
    /// Same version on every node, drain before delete, tasks of a vanished node, task cap 0 first,
    /// polling tentacles and auto-scaled nodes.
    pub const HA_NODES: Source = page(
        "Octopus Deploy docs: Auto Scaling High Availability Nodes",
        "https://octopus.com/docs/administration/high-availability/configure/auto-scaling-high-availability-nodes",
    );
    /// "Cloning Tentacle VMs": one certificate per machine.
    pub const CLONED_TENTACLES: Source = page(
        "Octopus Deploy docs: Automating Tentacle installation",
        "https://octopus.com/docs/infrastructure/deployment-targets/tentacle/windows/automating-tentacle-installation",
    );
    /// The reconcile step template: targets matched to the scale set's VMs by computer name, the
    /// ones whose VM is gone removed.
    pub const VMSS_RECONCILE: Source = page(
        "Octopus Deploy integrations: Check VMSS Provision Status (Deployment Targets)",
        "https://octopus.com/integrations/azure/check-vmss-provision-status-deployment-targets",
    );
    pub const SERVICE_ACCOUNTS: Source = page(
        "Octopus Deploy docs: Service accounts",
        "https://octopus.com/docs/security/users-and-teams/service-accounts",
    );
    pub const PERMISSIONS: Source = page(
        "Octopus Deploy docs: Default permissions for built-in user roles",
        "https://octopus.com/docs/security/users-and-teams/default-permissions",
    );
    pub const OVERPROVISIONING: Source = page(
        "Microsoft Learn: Design Considerations For Scale Sets (Overprovisioning)",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-design-overview",
    );
    pub const SCALE_IN_POLICY: Source = page(
        "Microsoft Learn: Use custom scale-in policies with Azure Virtual Machine Scale Sets",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-scale-in-policy",
    );
    pub const INSTANCE_PROTECTION: Source = page(
        "Microsoft Learn: Instance Protection for Azure Virtual Machine Scale Set instances",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-instance-protection",
    );
    /// Minimum and maximum instance counts, and autoscale rules changing the capacity.
    /// Lifecycle hooks: Pending:Wait / Terminating:Wait, heartbeat timeout, default result.
    pub const AWS_LIFECYCLE_HOOKS: Source = page(
        "AWS docs: Amazon EC2 Auto Scaling lifecycle hooks",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks.html",
    );
    /// Warm pools with lifecycle hooks: an instance reused on scale-in waits in
    /// Warmed:Pending:Wait on the terminating hook.
    pub const AWS_WARM_POOL_HOOKS: Source = page(
        "AWS docs: Use lifecycle hooks with a warm pool in Auto Scaling group",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html",
    );
    pub const AUTOSCALE: Source = page(
        "Microsoft Learn: Overview of autoscale with Azure Virtual Machine Scale Sets",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-autoscale-overview",
    );

    /// Fixed-date, then recurring, then default profiles; a recurring profile runs until the next.
    pub const AUTOSCALE_PROFILES: Source = page(
        "Microsoft Learn: Autoscale with multiple profiles",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/autoscale/autoscale-multiprofile",
    );
    /// "Manual scaling is temporary unless you also reset the autoscale rules."
    pub const AUTOSCALE_BEST_PRACTICES: Source = page(
        "Microsoft Learn: Best practices for autoscale",
        "https://learn.microsoft.com/en-us/azure/azure-monitor/autoscale/autoscale-best-practices",
    );
    /// Zone-spanning, zonal and regional scale sets (Flexible sets' zones).
    pub const AVAILABILITY_ZONES: Source = page(
        "Microsoft Learn: Create a Virtual Machine Scale Set that uses Availability Zones",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-use-availability-zones",
    );
    /// Max and fixed fault-domain spreading, the values each orchestration mode supports.
    pub const FAULT_DOMAINS: Source = page(
        "Microsoft Learn: Choosing the right number of fault domains for Virtual Machine Scale Set",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-manage-fault-domains",
    );

    /// Scheduled Events' Terminate event, seen only from inside the VM.
    pub const TERMINATE_NOTIFICATION: Source = page(
        "Microsoft Learn: Terminate notification for Azure Virtual Machine Scale Set instances",
        "https://learn.microsoft.com/en-us/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-terminate-notification",
    );

    /// Every source, for the tests that keep them public.
    pub const ALL: [Source; 19] = [
        MACHINE_POLICIES,
        PROJECT_SETTINGS,
        TRANSIENT_TARGETS,
        GUIDED_FAILURES,
        HA_NODES,
        CLONED_TENTACLES,
        VMSS_RECONCILE,
        SERVICE_ACCOUNTS,
        PERMISSIONS,
        OVERPROVISIONING,
        SCALE_IN_POLICY,
        INSTANCE_PROTECTION,
        AUTOSCALE,
        AUTOSCALE_PROFILES,
        AUTOSCALE_BEST_PRACTICES,
        AVAILABILITY_ZONES,
        FAULT_DOMAINS,
        TERMINATE_NOTIFICATION,
        AWS_LIFECYCLE_HOOKS,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable check id (`project.no-targets-refused`): scripts and the console key on it.
    pub id: &'static str,
    pub severity: Severity,
    /// What the finding is about: "project `Todo Web`", "node OCTO-NODE-2".
    pub subject: String,
    pub observed: String,
    pub recommended: String,
    /// Why it matters, in a sentence.
    pub why: String,
    /// What to do, in a line.
    pub fix: String,
    /// The public page the recommendation comes from (see [`source`]).
    pub source: Source,
}

impl Finding {
    /// `ERROR`, `WARNING`, `INFO`: the severity as text, so it reads without colour.
    pub fn severity_label(&self) -> &'static str {
        match self.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }
}

/// How many findings of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub info: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Self {
        let mut counts = Self::default();
        for finding in findings {
            match finding.severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error(s), {} warning(s), {} info", self.errors, self.warnings, self.info)
    }
}

/// "a, b, c and 4 more": long lists stay one line.
pub fn list_names<S: AsRef<str>>(names: &[S], most: usize) -> String {
    let shown: Vec<&str> = names.iter().take(most).map(AsRef::as_ref).collect();
    match names.len().saturating_sub(most) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// "45s", "20m", "1h", "1h30m": how Octopus' TimeSpans read to a person.
pub fn human_duration(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(1200)), "20m");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn every_source_is_a_public_page_with_a_title() {
        for cited in source::ALL {
            assert!(
                cited.url.starts_with("https://octopus.com/")
                    || cited.url.starts_with("https://learn.microsoft.com/")
                    || cited.url.starts_with("https://docs.aws.amazon.com/"),
                "{cited}"
            );
            assert!(!cited.url.contains(' ') && !cited.title.is_empty(), "{cited}");
            assert!(!cited.title.to_lowercase().contains("seed"), "{cited}");
        }
    }

    #[test]
    fn long_name_lists_are_cut() {
        assert_eq!(list_names(&["a", "b"], 3), "a, b");
        assert_eq!(list_names(&["a", "b", "c", "d"], 2), "a, b and 2 more");
    }
}
