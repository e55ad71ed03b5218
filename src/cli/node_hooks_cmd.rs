//! `scaleguard node hooks [--watch]`: drain an HA node before Auto Scaling terminates its
//! instance (see `node_job::hooks`). One pass by default, for a scheduler or a runbook step;
//! `--watch` runs a pass every `console.refresh_secs` until interrupted (a service).
//!
//! It acts only on instances Auto Scaling is already terminating: it sends heartbeats (more
//! time), drains the node, completes the hook with CONTINUE once the node is drained or the
//! deadline (`nodes.hook_deadline_secs`) comes, then deletes the node record once the instance is
//! gone. Every step is journaled; a killed run is resumed by the next one.
//! Exit codes: 0 nothing waits and no job is open; 2 a hook still waits or a job is open (run
//! again); 1 a call failed, the group could not be listed, or the command was refused.

use super::inventory_cmd::Format;
use super::{exit, Cli};
use crate::node_job::HookPass;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct HooksArgs {
    /// Keep running: a pass every console.refresh_secs until interrupted
    #[arg(long)]
    pub watch: bool,
    /// Output format (one JSON document per pass)
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run_hooks(cli: &Cli, args: &HooksArgs) -> anyhow::Result<u8> {
    let (name, profile, runner, runtime, journal, clock) = super::node_scale_in_cmd::runners(cli, None)?;
    runner.nodes_scale_set()?;
    let Some(_lock) = crate::executor::try_hold_hooks_runner(&journal, &name)? else {
        anyhow::bail!(
            "another `scaleguard node hooks` runs for profile `{name}` on this machine; nothing was done"
        );
    };
    super::settle_first(&runtime, &name, &profile, &journal, &clock);
    let poll = Duration::from_secs(profile.console.refresh_secs.max(1));
    let mut last = Vec::new();
    loop {
        let pass = runtime.block_on(runner.hooks_pass(poll))?;
        let code = report(&pass, args.format, &mut last)?;
        if !args.watch {
            return Ok(code);
        }
        std::thread::sleep(poll);
    }
}

/// Print the pass (table: only lines that changed since the last pass) and give its exit code.
fn report(pass: &HookPass, format: Format, last: &mut Vec<String>) -> anyhow::Result<u8> {
    if format == Format::Json {
        super::print_json(pass)?;
    } else {
        let mut lines: Vec<String> = pass.listing_failed.iter().map(|why| format!("FAILED: {why}")).collect();
        lines.extend(pass.job_errors.iter().map(|why| format!("FAILED: {why}")));
        for job in &pass.jobs {
            lines.extend(job.sent.iter().map(|sent| format!("  {sent}")));
            lines.push(job.line());
        }
        lines.extend(pass.hooks.iter().map(|hook| hook.line()));
        if lines.is_empty() {
            lines.push(format!(
                "{}: no instance waits on a terminating hook; no drain job is open",
                pass.scale_set
            ));
        }
        for line in lines.iter().filter(|line| !last.contains(line)) {
            println!("{}", crate::secret::scrub(line));
        }
        *last = lines;
    }
    Ok(if pass.has_failure() {
        exit::ERROR
    } else if pass.is_idle() {
        exit::OK
    } else {
        exit::PENDING
    })
}
