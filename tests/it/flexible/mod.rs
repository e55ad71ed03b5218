//! Azure Flexible orchestration end to end: real spec examples through the models and conversions
//! the provider uses, the provider against the simulator's Flexible sets over HTTP on 127.0.0.1
//! (listing, paging, hostile answers, deletes, protection), the CLI flows (inventory, plan, apply,
//! scale, doctor) on Flexible and mixed profiles, and requests per inventory. The console at 80×24
//! is in the pseudo-terminal binary (`tests/terminal/flexible_console.rs`).

mod client;
mod fixtures;
mod flows;
mod kit;
