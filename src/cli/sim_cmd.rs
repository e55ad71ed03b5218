//! `scaleguard sim`: run the simulator until killed.

use super::exit;
use crate::sim::{self, SimOptions};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on (loopback only)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Scenario name (see assets/scenarios/)
    #[arg(long, default_value = "steady")]
    pub scenario: String,
    /// Simulated seconds per real second
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Write a complete `sim` profile pointing at this simulator to PATH
    #[arg(long, value_name = "PATH")]
    pub write_config: Option<PathBuf>,
}

pub fn run(args: &SimArgs) -> anyhow::Result<u8> {
    if !args.listen.ip().is_loopback() {
        anyhow::bail!("the simulator listens on loopback only; {} is not a loopback address", args.listen);
    }
    if !(args.speed.is_finite() && args.speed > 0.0) {
        super::usage!("--speed must be a positive number, got {}", args.speed);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let options = SimOptions::new(&args.scenario).listen(args.listen).speed(args.speed);
        let running = sim::start(options).await.context("cannot start the simulator")?;
        if let Some(path) = &args.write_config {
            std::fs::write(path, running.profile_toml())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut line = serde_json::json!({
            "octopus_url": running.octopus_url(),
            "arm_url": running.arm_url(),
            "config": args.write_config.as_ref().map(|p| p.display().to_string()),
            "env": running.env(),
        });
        // A scenario with AWS groups also names the AWS endpoint (the profile's `endpoint_url`).
        if running.env().contains_key("AWS_ACCESS_KEY_ID") {
            line["aws_url"] = serde_json::Value::String(running.aws_url());
        }
        println!("{line}");
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        running.shutdown().await;
        Ok(exit::OK)
    })
}
