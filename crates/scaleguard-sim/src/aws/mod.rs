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
pub use wire::Service;
pub(crate) use wire::{empty_reply, fault_reply, handle, parse_call, time_out_hooks, AwsCall};

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
mod tests;
