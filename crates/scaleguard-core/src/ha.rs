//! The Octopus HA cluster on a scale set (Octopus Deploy docs, "Auto Scaling High Availability
//! Nodes"): which VM hosts which node, which nodes a scale-in of that set removes, the resumable
//! drain-first scale-in job, a provider's terminating hook, and careful admission of new nodes.
//! Pure: snapshots and `now` in, decisions out; the IO lives in the product's `node_job`.
//!
//! - `pairing`: node name = the VM's computer name (case-insensitive, DNS suffix ignored); what
//!   cannot be paired for sure is shown with the reason, never guessed.
//! - `victims`: which nodes a scale-in by K removes (idle and drained ones first, then the
//!   provider's scale-in order), never the last task node or the only online one.
//! - `scale_in`: the job: drain each victim (the `drain` machine, stopped before its delete),
//!   remove exactly those VMs, then delete the node records.
//! - `hook`: when to complete a provider's terminating hook (AWS `Terminating:Wait`).
//! - `admission`: what an operator can check of a new node from here, and when to hold it at
//!   task cap 0.

pub mod admission;
pub mod hook;
pub mod pairing;
pub mod scale_in;
pub mod victims;

pub use pairing::{pair, NodeVm, Pairing};
pub use scale_in::{
    ScaleInEffect, ScaleInJob, ScaleInObservation, ScaleInPhase, ScaleInTransition, VictimJob,
};
pub use victims::{choose, Victim, VictimChoice};

#[cfg(test)]
pub(crate) mod tests_props;
