//! `scaleguard demo`: the built-in simulator in-process on loopback, and the console on it.
//! The newcomer's first command: nothing to configure, nothing real touched.

use super::exit;
use crate::config::{ConfigFile, Profile};
use crate::sim::{self, SimOptions};
use crate::tui::{self, Session};
use anyhow::Context;
use clap::Args;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Scenario (steady, scale-out, scale-in, ha-drain, chaos, misconfigured, flex-scale-out,
    /// flex-scale-in, mixed, autoscale)
    #[arg(long, default_value = "scale-out")]
    pub scenario: String,
    /// Simulated seconds per real second
    #[arg(long, default_value_t = 4.0)]
    pub speed: f64,
    /// Look, never touch: hide and refuse every key and command that changes anything
    #[arg(long)]
    pub read_only: bool,
}

/// Short evidence windows and a fast refresh so a demo shows deletes within seconds; the
/// absence rule itself (K complete listings over a grace period) is unchanged.
pub fn tune_for_demo(profile: &mut Profile) {
    profile.console.refresh_secs = 1;
    profile.reconcile.absent_observations = profile.reconcile.absent_observations.clamp(2, 3);
    profile.reconcile.absent_grace_secs = profile.reconcile.absent_grace_secs.min(3);
}

pub fn run(args: &DemoArgs) -> anyhow::Result<u8> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        super::usage!("--speed must be a positive number, got {}", args.speed);
    }
    crate::sim::scenario::load(&args.scenario)?;
    super::tui_cmd::require_terminal()?;
    let data_dir = tui::data_dir().context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let _log = tui::init_logging(&data_dir);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let options = SimOptions::new(&args.scenario).speed(args.speed);
        let running = sim::start(options).await.context("cannot start the simulator")?;
        // The demo profile names its secrets by environment variable, like any profile. Set them
        // for this process before any client reads them; no other thread reads the environment.
        for (key, value) in running.env() {
            std::env::set_var(key, value);
        }
        let config = ConfigFile::parse(&running.profile_toml(), Path::new("demo profile"))?;
        let (name, profile) = config.profile(None)?;
        let mut profile = profile.clone();
        tune_for_demo(&mut profile);
        tracing::info!(scenario = %args.scenario, speed = args.speed, url = %running.octopus_url(), "demo started");
        let approvals = tui::approvals_for(&name, &profile);
        let session = Session {
            profile_name: name.clone(),
            profile,
            profiles: vec![name],
            read_only: args.read_only,
            demo: Some(Arc::new(running)),
            history_file: None,
            approvals,
        };
        tui::run_terminal(session, |_| anyhow::bail!("the demo has only the `sim` profile")).await
    })?;
    Ok(exit::OK)
}
