//! The reconcile planner is pure and lives in `scaleguard_core::reconcile`; this module re-exports
//! it and adds the one piece of IO around it: keeping the observation history in a file.

pub use scaleguard_core::reconcile::*;

mod store;

pub use store::{load_history, save_history, HistoryFileError};
