//! Tests that drive the console's terminal and time it: the real binary in a pseudo-terminal, and
//! key-to-frame latency while a refresh is blocked. A binary of their own, so the latency they
//! measure is not the load of the other tests running beside them.

#[path = "../support/mod.rs"]
mod support;

/// The latency test holds it exclusively: it measures this process, so nothing runs beside it.
/// The others share it.
static ALONE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

mod autoscale_pty;
mod console_latency;
mod console_pty;
mod flexible_console;
mod ha_scale_pty;
mod node_pty;
