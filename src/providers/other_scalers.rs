//! Reading who else scales a set: its Azure Autoscale setting, then the writes to it by anyone
//! over the cooldown window (the Activity Log; the setting's own events are Autoscale's actions,
//! so the setting is read first).

use super::ScaleSetProvider;
use crate::model::ScaleSetKey;
use crate::snapshot::{OthersObservation, ReadFailure};
use time::{Duration, OffsetDateTime};

/// Clocks differ: the Activity Log is read this much further back than the cooldown, and up to
/// an hour into the future.
const CLOCK_MARGIN: Duration = Duration::minutes(2);

pub async fn read(
    provider: &dyn ScaleSetProvider,
    key: &ScaleSetKey,
    window_secs: u64,
    now: OffsetDateTime,
) -> OthersObservation {
    let failure =
        |err: super::ProviderError| ReadFailure::new(format!("who else scales {key}"), err.to_string());
    let setting = provider.autoscale(key).await.map_err(failure);
    let window = Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX / 2));
    let since = now.checked_sub(window + CLOCK_MARGIN).unwrap_or(now);
    let known = setting.as_ref().ok().and_then(Option::as_ref);
    let changes = provider.changes_since(key, known, since, now + Duration::hours(1)).await.map_err(failure);
    OthersObservation { setting, changes }
}
