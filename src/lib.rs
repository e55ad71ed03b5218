//! scaleguard: a terminal operations console for Octopus Deploy on auto-scaling groups.
//!
//! The core (reconcile, guard, drain) is pure: snapshots and `now` in, decisions out.
//! IO lives in the clients (`octopus`, `providers`) and the simulator (`sim`).

// Production code reports failures, it does not panic on them: no unwrap/expect outside tests
// (unit tests here are compiled with cfg(test); integration tests are their own crates).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod autoscale;
pub mod cli;
pub mod completeness;
pub mod config;
pub mod doctor;
pub mod drain;
pub mod executor;
pub mod guard;
pub mod inventory;
pub mod journal;
pub mod logging;
pub mod matching;
pub mod model;
pub mod node_job;
pub mod octopus;
pub mod private_fs;
pub mod providers;
pub mod reconcile;
pub mod retry;
pub mod scale_in;
pub mod scaling;
pub mod secret;
pub mod service_messages;
pub mod sim;
pub mod snapshot;
pub mod tui;
pub mod untrusted;
