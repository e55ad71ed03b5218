//! The worker's Autoscale change: read the setting again and re-check (the operator confirmed
//! values read earlier: the change must still do what the dialog showed), then write it through
//! `Scaling`, which checks once more and compares the setting right before the PUT.

use crate::autoscale::same_content;
use crate::scaling::{AutoscaleOutcome, Scaling};
use crate::tui::messages::{AutoscaleRequest, ScaleReport};

pub async fn change(scaling: &Result<Scaling, String>, request: Box<AutoscaleRequest>) -> ScaleReport {
    let outcome = async {
        let scaling = scaling.as_ref().map_err(Clone::clone)?;
        let fresh = scaling
            .prepare_autoscale(&request.scale_set, request.change.clone(), &request.reason)
            .await
            .map_err(|err| err.to_string())?;
        // The operator confirmed values read with an earlier refresh: if the setting moved since,
        // ask again.
        if fresh.setting.name != request.setting || !same_content(&fresh.setting.resource, &request.seen) {
            return Ok(AutoscaleOutcome::Changed { fresh: Ok(Box::new(fresh)) });
        }
        // Another profile took over, or the capacity moved, since the refresh the dialog showed.
        if let Some(reasons) = fresh.unlike(&request.active, &request.confirmed) {
            return Ok(AutoscaleOutcome::Refused { reasons });
        }
        tracing::info!(setting = %request.setting, change = ?request.change, "console autoscale change");
        scaling.apply_autoscale(&fresh).await.map_err(|err| err.to_string())
    }
    .await;
    tracing::info!(setting = %request.setting, ?outcome, "console autoscale change finished");
    ScaleReport::Autoscaled { request, outcome: outcome.map(Box::new) }
}
