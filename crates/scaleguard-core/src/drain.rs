//! Removing an Octopus HA node safely: a pure state machine driven by observations of the node
//! and `now`, plus the refusals that keep the cluster able to run tasks.
//!
//! The order follows Octopus's own guidance (Octopus Deploy docs, "Auto Scaling High Availability
//! Nodes"): enable drain → wait until the node has no running tasks or is offline → cancel its
//! Executing/Cancelling tasks (only when it is offline, or the operator said "cancel now") → delete
//! the node. A deleted VM's in-flight tasks otherwise hang for 60 minutes.
//!
//! Nothing here does IO. The executor performs the [`DrainEffect`]s, journals them and calls
//! [`step`] again with a fresh observation; because `step` looks at the node's real state, a
//! restarted process resumes where it left off without repeating work already done.

mod machine;
mod refusals;

pub use machine::{
    answer, step, DrainChoice, DrainEffect, DrainError, DrainJob, DrainState, NodeObservation, Transition,
};
pub use refusals::{check_delete, check_drain, check_removal, is_online, validate_task_cap, NodeRefusal};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_transitions;
