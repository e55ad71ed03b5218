//! scaleguard's pure core: plain functions over snapshots, and the types they share.
//!
//! Nothing here opens a socket, starts a runtime or draws a terminal, and this crate cannot depend
//! on anything that does (its manifest has no tokio, reqwest, ratatui or axum). Time comes in as a
//! `now` parameter. The only IO is synchronous and at the edge: `config` reads its file and the
//! environment variables a profile names for its secrets.
//!
//! - `model`, `snapshot`: the domain types and one refresh's view of everything in scope.
//! - `config`: the config schema, its validation and the commented example.
//! - `matching`, `completeness`: which VM a target runs on; is a listing proven complete.
//! - `folded`: keys and hash maps for the indexes one refresh builds.
//! - `reconcile`: snapshot + observation history → plan, and the re-check before each action.
//! - `guard`, `drain`: capacity limits; the HA-node drain state machine and its refusals.
//! - `ha`: the HA cluster on a scale set: node↔VM pairing, drain-first scale-in, hooks, admission.
//! - `autoscale`: Azure Autoscale settings (wire shape, schedules, proposed changes), pure.
//! - `retry`: when an HTTP request may be sent again.
//! - `secret`, `untrusted`: secrets that never print themselves; server text made fit to show.

// Production code reports failures, it does not panic on them: no unwrap/expect outside tests
// (unit tests here are compiled with cfg(test); integration tests are their own crates).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod autoscale;
pub mod completeness;
pub mod config;
pub mod drain;
pub mod folded;
pub mod guard;
pub mod ha;
pub mod matching;
pub mod model;
pub(crate) mod prefetch;
pub mod reconcile;
pub mod retry;
pub mod rows;
pub mod scale_in;
pub mod secret;
pub mod snapshot;
pub mod untrusted;
