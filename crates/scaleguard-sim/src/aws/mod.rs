//! The AWS side of the simulator: an Amazon EC2 Auto Scaling + EC2 subset speaking the query
//! protocols the AWS SDKs send (form-encoded POST to `/`, XML answers), on the simulator's one
//! port. Requests are told apart by their `Version` (2011-01-01 Auto Scaling, 2016-11-15 EC2).
//!
//! - `model`, `capacity`, `lifecycle`, `termination`, `activity`: the pure world (groups,
//!   instances, hooks, warm pools, activities) moved by the simulator's clock.
//! - `scenario`: the `[aws]` table of a scenario file.
//! - `form`, `xml`, `paging`, `auth`, `sigv4`, `wire`: the protocol plumbing.
//! - `autoscaling_read`, `autoscaling_write`, `ec2`: the actions.

pub mod activity;
mod auth;
mod autoscaling_read;
mod autoscaling_write;
pub mod capacity;
mod ec2;
mod form;
pub mod lifecycle;
pub mod model;
mod paging;
pub mod scenario;
pub mod sigv4;
mod termination;
mod wire;
mod xml;

pub use activity::DesiredChange;
pub use lifecycle::ActionTarget;
pub use model::{AsgGroup, AsgInstance, AwsWorld, Lifecycle};
use std::collections::BTreeMap;
pub use wire::Service;
pub(crate) use wire::{empty_reply, fault_reply, handle, parse_call, time_out_hooks, AwsCall};

/// What the AWS SDKs' default chains need to reach the simulator and nothing else: the key pair
/// and region in the environment (the chains read these first), an empty session token (one left
/// in the user's shell is not sent along), the instance metadata service off, and the shared
/// config and credentials files pointed at an empty file, so no profile, SSO session or
/// credential process of the user's is read.
pub fn client_env(key_id: &str, secret: &str, region: &str) -> BTreeMap<String, String> {
    let empty_file = if cfg!(windows) { "NUL" } else { "/dev/null" };
    [
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", ""),
        // aws-config reads AWS_REGION first; botocore and the AWS CLI read AWS_DEFAULT_REGION.
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", empty_file),
        ("AWS_SHARED_CREDENTIALS_FILE", empty_file),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An error the Auto Scaling API answers (`ValidationError`, `ScalingActivityInProgress`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", message)
    }
}

#[cfg(test)]
mod node_host_tests;
#[cfg(test)]
mod tests;
