//! Helpers shared by the integration test binaries (`it`, `terminal`, `load`); each includes this
//! module with `#[path]`, so a binary may leave some of it unused.
#![allow(dead_code)]

/// The real binary against a simulator: config file, data dir, runs and the journal.
pub mod bench;
/// Clients for a simulator's profile, credentials handed in (no environment variables).
pub mod clients;
/// A simulated estate of many full scale sets.
pub mod estate;
/// A programmable fake ARM + Octopus server for byte-level faults.
pub mod fake;
/// The real console in a pseudo-terminal.
pub mod pty;
/// A rewriting reverse proxy between the real binary and the simulator's AWS endpoint.
pub mod rewriting_proxy;
/// A simulator and an HTTP client for the simulator's wire tests.
pub mod sim_harness;
/// A credential handing out a fixed bearer token.
pub mod static_token;
