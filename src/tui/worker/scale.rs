//! The worker's scaling and doctor jobs. Each runs as its own task (an apply blocks until Azure's
//! operation ends, and the refresh loop must keep running meanwhile so the console can follow the
//! scale event) and reports back with one message.

use crate::clock::Clock;
use crate::config::Profile;
use crate::doctor;
use crate::journal::{self, Journal};
use crate::model::ScaleChange;
use crate::scaling::{cooldown_history, Conflict, Proposal, ScaleOutcome, Scaling};
use crate::tui::messages::{FindingsReport, ProtectRequest, ScaleJob, ScaleReport, WorkerEvent};
use tokio::sync::mpsc::UnboundedSender;

/// Start `job` on its own task; its report arrives as `WorkerEvent::Scale`.
pub fn spawn(profile: &Profile, clock: &Clock, job: ScaleJob, events: &UnboundedSender<WorkerEvent>) {
    let profile = profile.clone();
    let clock = clock.clone();
    let events = events.clone();
    tokio::spawn(async move {
        let report = match job {
            ScaleJob::Scale { profile_name, shown } => scale(&profile_name, &profile, &clock, &shown).await,
            ScaleJob::Protect { profile_name, request } => {
                protect(&profile_name, &profile, &clock, request).await
            }
            ScaleJob::Autoscale { profile_name, request } => {
                super::autoscale::change(&scaling(&profile_name, &profile, &clock), request).await
            }
            ScaleJob::Doctor => ScaleReport::Findings(gather_findings(&profile, &clock).await),
        };
        let _ = events.send(WorkerEvent::Scale(report));
        // After a change (and with the startup doctor run): the cooldown counts it now.
        if let Some(history) = journal_history() {
            let _ = events.send(WorkerEvent::Scale(ScaleReport::History(history)));
        }
    });
}

/// The journal's capacity changes now; None when there is no journal to read (nothing journaled).
pub fn journal_history() -> Option<Vec<ScaleChange>> {
    let path = journal::default_path()?;
    match journal::read_all(&path) {
        Ok((records, _warnings)) => Some(cooldown_history(&records)),
        Err(err) => {
            tracing::debug!(error = %err, "no journal history for the scale dialog");
            None
        }
    }
}

pub(super) fn scaling(profile_name: &str, profile: &Profile, clock: &Clock) -> Result<Scaling, String> {
    let path = journal::default_path().ok_or("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let journal = Journal::open(&path).map_err(|err| err.to_string())?;
    Ok(Scaling::new(profile_name, profile.clone(), journal).with_clock(clock.clone()))
}

async fn scale(profile_name: &str, profile: &Profile, clock: &Clock, shown: &Proposal) -> ScaleReport {
    let scale_set = shown.key().name.clone();
    let outcome = async {
        let scaling = scaling(profile_name, profile, clock)?;
        let request = &shown.request;
        let fresh = scaling
            .prepare(&request.scale_set, request.new_capacity, &request.reason, request.force)
            .await
            .map_err(|err| err.to_string())?;
        // The operator confirmed numbers read earlier: if the capacity moved since, ask again.
        if fresh.current() != shown.current() {
            let conflict = Conflict { expected_capacity: shown.current(), fresh: Ok(fresh) };
            return Ok(ScaleOutcome::Changed(Box::new(conflict)));
        }
        tracing::info!(set = %scale_set, from = fresh.current(), to = fresh.target(), "console scale");
        scaling.apply(&fresh).await.map_err(|err| err.to_string())
    }
    .await;
    tracing::info!(set = %scale_set, ?outcome, "console scale finished");
    ScaleReport::Scaled { scale_set, outcome }
}

async fn protect(
    profile_name: &str,
    profile: &Profile,
    clock: &Clock,
    request: ProtectRequest,
) -> ScaleReport {
    let verb = if request.protect { "protect" } else { "unprotect" };
    let what = format!("{verb} instance {} of {}", request.instance_id, request.scale_set.name);
    let outcome = async {
        let scaling = scaling(profile_name, profile, clock)?;
        let proposal = scaling
            .prepare_protect(&request.scale_set, &request.instance_id, request.protect, &request.reason)
            .await
            .map_err(|err| err.to_string())?;
        scaling.apply_protect(&proposal).await.map_err(|err| err.to_string())
    }
    .await;
    tracing::info!(%what, ?outcome, "console protection change finished");
    ScaleReport::Protected { what, outcome }
}

async fn gather_findings(profile: &Profile, clock: &Clock) -> FindingsReport {
    let mut input = doctor::gather(profile).await;
    let now = clock.now();
    // The console is a reconcile while it runs: it observes every refresh and proposes the deletes.
    input.last_reconcile = Some(now);
    let findings = doctor::check(&input, profile, now);
    let failures = input.failures().iter().map(|f| f.to_string()).collect();
    FindingsReport { findings, failures, taken_at: now }
}
