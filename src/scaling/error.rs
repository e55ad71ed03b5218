//! Why a scale or protection change could not even be considered (a refusal by the guard is not
//! an error: it is an outcome).

use crate::journal::JournalError;
use crate::providers::ProviderError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScaleError {
    #[error("scale set `{name}` is not configured in profile `{profile}` (configured: {configured})")]
    UnknownScaleSet { name: String, profile: String, configured: String },
    #[error("`{name}` names more than one configured scale set ({candidates}): use resource_group/name")]
    AmbiguousScaleSet { name: String, candidates: String },
    #[error("profile `{0}` is read-only (read_only = true): capacity, protection and autoscale changes are refused")]
    ReadOnly(String),
    #[error("no Azure Autoscale setting in resource group {resource_group} targets scale set {scale_set}: there is nothing to change")]
    NoAutoscale { scale_set: String, resource_group: String },
    #[error("instance `{instance_id}` is not in scale set {scale_set} (instances: {listed})")]
    UnknownInstance { instance_id: String, scale_set: String, listed: String },
    #[error(transparent)]
    Provider(ProviderError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}
