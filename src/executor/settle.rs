//! Settling interrupted intents (IO side): read the journal, take the apply lock (every change
//! holds it from its intent to its result, so what is still pending under it has no live owner
//! on this machine), read the world, and journal a result for each intent the world answers.
//! The console runs it when it starts; apply, scale, protect and the node commands before they act.

use super::interrupted::{resolve_interrupted, InterruptedIntent};
use super::lock::{path_beside, ApplyLock};
use crate::inventory::Collector;
use crate::journal::{self, Journal};

/// Settle the pending intents of `profile_name`. Warnings about unreadable journal lines go to
/// `warn`. Returns what was settled (nothing when nothing was pending: no read is made then).
pub async fn settle_pending(
    profile_name: &str,
    journal: &Journal,
    collector: &Collector,
    warn: &mut (dyn FnMut(String) + Send),
) -> Result<Vec<InterruptedIntent>, String> {
    let (records, warnings) = journal::read_all(journal.path()).map_err(|err| err.to_string())?;
    for warning in warnings {
        warn(warning.to_string());
    }
    if !journal::pending_intents(&records).iter().any(|r| r.profile == profile_name) {
        return Ok(Vec::new());
    }
    let lock_path = path_beside(journal.path(), profile_name);
    let _lock = ApplyLock::acquire(&lock_path)
        .await
        .map_err(|err| format!("cannot take the apply lock {}: {err}", lock_path.display()))?;
    // Re-read under the lock: a change that was running a moment ago has journaled its result.
    let (records, _) = journal::read_all(journal.path()).map_err(|err| err.to_string())?;
    let pending = journal::pending_intents(&records);
    if !pending.iter().any(|r| r.profile == profile_name) {
        return Ok(Vec::new());
    }
    let fresh = collector.collect().await;
    let settled = resolve_interrupted(&pending, profile_name, &fresh);
    for item in &settled {
        journal
            .append_result_noted(
                &item.intent,
                item.outcome.clone(),
                Some(item.note.clone()),
                collector.clock().now(),
            )
            .map_err(|err| err.to_string())?;
    }
    Ok(settled)
}

/// For the headless commands: settle what an earlier run left pending and say so on stderr.
pub async fn settle_and_report(
    profile_name: &str,
    journal: &Journal,
    collector: &Collector,
) -> Result<Vec<InterruptedIntent>, String> {
    let mut warn = |line: String| eprintln!("scaleguard: warning: {}", crate::secret::scrub(&line));
    let settled = settle_pending(profile_name, journal, collector, &mut warn).await?;
    for item in &settled {
        eprintln!("scaleguard: an earlier run was interrupted: {}", crate::secret::scrub(&item.line()));
    }
    Ok(settled)
}
