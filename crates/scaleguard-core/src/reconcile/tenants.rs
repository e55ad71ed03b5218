//! Tenants (pure): which current release a target follows. A project's releases run in lanes:
//! the untenanted one (Untenanted and TenantedOrUntenanted projects) and one per tenant connected
//! to the project for the environment. A target connected to a tenant of the project follows
//! that tenant's lane (one deployment per tenant); a target connected to none follows the
//! untenanted lane when its participation allows. A target connected to a tenant never also gets
//! the untenanted release: two releases racing on one machine is never what a scale-out wants.

use super::matched::MatchedSnapshot;
use super::notes::note;
use crate::model::{
    same_octopus_id, same_optional_octopus_id, Deployment, PlannedAction, Release, Severity, Target,
    TenantRef, TenantedMode,
};
use crate::snapshot::{InFlightDeployment, ProjectState, TenantState};

/// One (project, tenant or none) pair and its current release in the environment.
#[derive(Debug, Clone, Copy)]
pub struct Lane<'p> {
    pub project: &'p ProjectState,
    pub tenant: Option<&'p TenantState>,
}

impl<'p> Lane<'p> {
    /// Every lane of the project: untenanted first (when the mode has one), then tenants by id.
    pub fn all(project: &'p ProjectState) -> Vec<Lane<'p>> {
        let mut tenants: Vec<&TenantState> = if project.tenanted_mode.allows_tenanted() {
            project.tenants.iter().collect()
        } else {
            Vec::new()
        };
        tenants.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        let untenanted = project.tenanted_mode.allows_untenanted().then_some(Lane { project, tenant: None });
        untenanted.into_iter().chain(tenants.into_iter().map(|t| Lane { project, tenant: Some(t) })).collect()
    }

    /// The lane of `tenant_id` (None: the untenanted one), if the project still has it.
    pub fn find(project: &'p ProjectState, tenant_id: Option<&str>) -> Option<Lane<'p>> {
        Self::all(project).into_iter().find(|lane| same_optional_octopus_id(lane.tenant_id(), tenant_id))
    }

    pub fn tenant_id(&self) -> Option<&'p str> {
        self.tenant.map(|t| t.tenant_id.as_str())
    }

    pub fn tenant_ref(&self) -> Option<TenantRef> {
        self.tenant.map(|t| TenantRef { id: t.tenant_id.clone(), name: t.tenant_name.clone() })
    }

    pub fn latest_release(&self) -> Option<&'p Release> {
        match self.tenant {
            Some(tenant) => tenant.latest_release.as_ref(),
            None => self.project.latest_release.as_ref(),
        }
    }

    /// Deployments of this lane's current release, and only this lane's (a deployment for
    /// another tenant never counts: the rule is per release, tenant and target).
    pub fn deployments(&self) -> impl Iterator<Item = &'p Deployment> + 'p {
        let all = match self.tenant {
            Some(tenant) => &tenant.deployments,
            None => &self.project.deployments,
        };
        let tenant_id = self.tenant_id();
        all.iter().filter(move |d| same_optional_octopus_id(d.tenant_id.as_deref(), tenant_id))
    }

    pub fn other_releases_in_flight(&self) -> &'p [InFlightDeployment] {
        match self.tenant {
            Some(tenant) => &tenant.other_releases_in_flight,
            None => &self.project.other_releases_in_flight,
        }
    }

    /// Does this lane's release belong on `target`?
    pub fn serves(&self, target: &Target) -> bool {
        match self.tenant {
            Some(tenant) => target.connected_to(&tenant.tenant_id, &tenant.tenant_tags),
            None => target.tenanted.allows_untenanted() && !connected_to_a_tenant_of(self.project, target),
        }
    }

    /// " for tenant Acme" or "", for sentences.
    pub fn for_tenant(&self) -> String {
        self.tenant.map_or(String::new(), |t| format!(" for tenant {}", t.tenant_name))
    }
}

fn connected_to_a_tenant_of(project: &ProjectState, target: &Target) -> bool {
    project.tenanted_mode.allows_tenanted()
        && project.tenants.iter().any(|t| target.connected_to(&t.tenant_id, &t.tenant_tags))
}

/// Notes for tenants: a tenant whose connected targets get nothing because it was never deployed
/// to the environment, and targets in scope that no lane of a tenanted project serves (a tenant
/// that is not connected to the project, tags that match no tenant, a participation that does
/// not fit the project's mode).
pub(crate) fn notes(matched: &MatchedSnapshot<'_>, out: &mut Vec<PlannedAction>) {
    let Ok(projects) = &matched.snapshot.projects else { return };
    for project in projects.iter().filter(|p| p.tenanted_mode.allows_tenanted()) {
        for lane in Lane::all(project) {
            let Some(tenant) = lane.tenant else { continue };
            if tenant.latest_release.is_some() {
                continue;
            }
            let connected: Vec<&str> =
                matched.targets.iter().filter(|t| lane.serves(t)).map(|t| t.name.as_str()).collect();
            if connected.is_empty() {
                continue;
            }
            out.push(note(
                format!("note:tenant-never-deployed:{}:{}", project.project_id, tenant.tenant_id),
                Severity::Warning,
                format!("tenant {} never deployed {} here", tenant.tenant_name, project.project_name),
                format!(
                    "tenant {} ({}) has no successful deployment of {} to the environment: its {} connected \
                     target(s) get nothing until someone deploys it once",
                    tenant.tenant_name,
                    tenant.tenant_id,
                    project.project_name,
                    connected.len()
                ),
                super::text::capped(vec![format!("connected: {}", connected.join(", "))]),
            ));
        }
        unserved(matched, project, out);
    }
}

/// Targets in scope that get no release of a tenanted project, each with why.
fn unserved(matched: &MatchedSnapshot<'_>, project: &ProjectState, out: &mut Vec<PlannedAction>) {
    let lanes = Lane::all(project);
    let mut why = Vec::new();
    for target in matched.targets.iter().filter(|t| !lanes.iter().any(|lane| lane.serves(t))) {
        if let Some(reason) = unserved_reason(project, target) {
            why.push(format!("{} ({}): {reason}", target.name, target.id));
        }
    }
    if why.is_empty() {
        return;
    }
    out.push(note(
        format!("note:tenant-unserved:{}", project.project_id),
        Severity::Warning,
        format!("{} target(s) get no release of {}", why.len(), project.project_name),
        format!(
            "{} is {}: these targets are connected to none of its tenants for the environment, so nothing \
             is deployed to them (never a guessed tenant)",
            project.project_name,
            project.tenanted_mode.as_str()
        ),
        super::text::capped(why),
    ));
}

fn unserved_reason(project: &ProjectState, target: &Target) -> Option<String> {
    let known = |id: &String| project.tenants.iter().any(|t| same_octopus_id(&t.tenant_id, id));
    let unknown_ids: Vec<&str> =
        target.tenant_ids.iter().filter(|id| !known(id)).map(String::as_str).collect();
    let unmatched_tags: Vec<&str> = target
        .tenant_tags
        .iter()
        .filter(|tag| !project.tenants.iter().any(|t| t.tenant_tags.contains(tag)))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if target.tenanted == TenantedMode::Untenanted {
        parts.push("its participation is Untenanted, and the project deploys to tenants only".to_string());
    }
    if !unknown_ids.is_empty() {
        parts.push(format!(
            "connected to tenant(s) {} that are not connected to the project for the environment",
            unknown_ids.join(", ")
        ));
    }
    if !unmatched_tags.is_empty() {
        parts.push(format!("tenant tag(s) {} match no tenant of the project", unmatched_tags.join(", ")));
    }
    if parts.is_empty() && target.tenant_ids.is_empty() && target.tenant_tags.is_empty() {
        parts.push("connected to no tenant".to_string());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
