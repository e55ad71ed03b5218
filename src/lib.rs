//! scaleguard: a terminal operations console for Octopus Deploy on auto-scaling groups.
//!
//! How data flows (the console; `plan` and `apply` run the same steps headless):
//!
//! 1. **worker → snapshot.** The console's background worker (`tui::worker`) asks an
//!    `inventory::Collector` for a `snapshot::Snapshot`: every scale-set listing (`providers`,
//!    Azure Resource Manager) and the Octopus targets, projects and HA nodes (`octopus`), read
//!    concurrently; a read that failed is a `ReadFailure` in its slot, never an empty list.
//! 2. **snapshot → plan.** `reconcile` matches targets to VMs (`reconcile::MatchedSnapshot`), adds the
//!    listings to the observation `History` (absence evidence counts only listings
//!    `completeness` proves complete) and plans at the collector's `clock::Clock` time: waits,
//!    deletes, deploys and notes, each with its reason.
//! 3. **plan → UI.** The worker sends the plan to the render loop (`tui`, Elm-style
//!    `update`/`view`) by message (`tui::messages`); the loop never waits on IO.
//! 4. **UI → approval.** The operator selects actions and approves them in a dialog (typed names
//!    for deletes); `apply` confirms on the terminal or with `--yes`.
//! 5. **approval → executor.** `executor::Executor` takes the profile's apply lock, journals the
//!    intent, reads the world again and re-checks the action (`reconcile::still_valid`), calls
//!    Octopus, and
//! 6. **executor → journal.** journals the result (`journal`, fsync'd JSON lines); an interrupted
//!    run is settled against the real state by the next one. HA-node drains (`node_job` around
//!    the `drain` state machine) and capacity changes (`scaling` around `guard`) journal the
//!    same way.
//!
//! Where IO lives: HTTP in `octopus` and `providers` (used by `inventory`, `executor`,
//! `node_job`, `scaling`, `doctor::gather`); files in `journal`, `reconcile`'s history store,
//! `logging` and `private_fs`; the terminal in `tui` and `cli`; loopback servers in `sim`.
//!
//! The pure core is the `scaleguard-core` crate, re-exported here (`model`, `config`,
//! `snapshot`, `matching`, `completeness`, `reconcile`, `guard`, `scale_in`, `autoscale`, `drain`,
//! `retry`, `secret`, `untrusted`): snapshots and `now` in, decisions out; it cannot depend on tokio,
//! reqwest, ratatui or axum. Its only IO is `config` reading its file and the environment
//! variables a profile names. The simulator is the `scaleguard-sim` crate (`sim`); of the
//! product it uses only the core's Azure Autoscale profile selection.

// Production code reports failures, it does not panic on them: no unwrap/expect outside tests
// (unit tests here are compiled with cfg(test); integration tests are their own crates).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub use scaleguard_core::{
    autoscale, completeness, config, drain, guard, ha, matching, model, retry, rows, scale_in, secret,
    snapshot, untrusted,
};
pub use scaleguard_sim as sim;

pub mod cli;
pub mod clock;
pub mod doctor;
pub mod executor;
pub mod inventory;
pub mod journal;
pub mod logging;
pub mod node_job;
pub mod octopus;
pub mod private_fs;
pub mod providers;
pub mod reconcile;
pub mod scaling;
pub mod scrubbed;
pub mod service_messages;
pub mod tui;
