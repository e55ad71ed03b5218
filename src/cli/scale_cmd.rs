//! `scaleguard scale` and `scaleguard protect`: guarded manual changes, headless.
//!
//! Both print what they are about to do, ask on a terminal (typing `yes`; Enter alone cancels),
//! and need `--yes` without one. Exit codes: 0 done; 1 refused, cancelled or failed;
//! 2 (`scale` only) the scale set changed between the read and the write (Azure's 412):
//! nothing was done, look at the fresh proposal and ask again.

use super::inventory_cmd::Format;
use super::{exit, Cli};
use crate::config::ConfigFile;
use crate::executor::{confirmation_for, Change, Confirmation};
use crate::journal::{self, Journal};
use crate::scaling::{ProtectOutcome, ScaleOutcome, Scaling};
use anyhow::Context;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

/// Exit code when the scale set changed under the proposal (412): nothing done, ask again.
pub const CHANGED: u8 = exit::PENDING;

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The configured scale set's name (or resource_group/name)
    pub set: String,
    /// The capacity wanted (a whole number of VMs, 0 or more)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_capacity)]
    pub capacity: u32,
    /// Why; journaled (required unless the profile's guard says require_reason = false)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Go ahead without asking (needed when there is no terminal)
    #[arg(long)]
    pub yes: bool,
    /// Scale even while the set is still provisioning a previous change (bypasses nothing else)
    #[arg(long)]
    pub force: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ProtectArgs {
    /// The configured scale set's name (or resource_group/name)
    pub set: String,
    /// The instance id (as `inventory` lists it)
    pub instance_id: String,
    /// Remove the protection instead
    #[arg(long)]
    pub off: bool,
    /// Why; journaled
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Go ahead without asking (needed when there is no terminal)
    #[arg(long)]
    pub yes: bool,
}

/// A capacity as typed: a sentence for a negative or non-numeric value (clap would otherwise take
/// `-1` for a flag and suggest writing `-- -1`).
fn parse_capacity(raw: &str) -> Result<u32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("a capacity is a number of VMs, 0 or more; {n} is below 0")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("{n} VMs is more than a scale set can hold")),
        Err(_) => Err(format!("`{raw}` is not a whole number of VMs (0 or more)")),
    }
}

pub(super) fn scaling(cli: &Cli) -> anyhow::Result<Scaling> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (name, profile) = config.profile(cli.profile.as_deref())?;
    let journal_path =
        journal::default_path().context("cannot find the platform data dir: set SCALEGUARD_DATA_DIR")?;
    let journal = Journal::open(&journal_path)?;
    let scaling = Scaling::new(name, profile.clone(), journal).with_clock(cli.clock(profile)?);
    scaling.ensure_writable()?;
    Ok(scaling)
}

/// True to go ahead: `--yes`, or on a terminal `yes` typed (the scale set's name instead when the
/// one confirmation rule asks for it: a scale-in deletes VMs).
pub(super) fn confirm(question: &str, yes: bool, needed: &Confirmation) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("nothing was changed: there is no terminal to confirm on; pass --yes to go ahead");
    }
    let expected = match needed {
        Confirmation::Plain => {
            eprint!("{question} Type yes to go ahead (anything else cancels): ");
            "yes"
        }
        Confirmation::Typed { word, why } => {
            eprint!("{question} This needs the typed confirmation ({why}). Type `{word}` to go ahead (anything else cancels): ");
            word.as_str()
        }
    };
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
    Ok(answer.trim() == expected)
}

pub fn run_scale(cli: &Cli, args: &ScaleArgs) -> anyhow::Result<u8> {
    let scaling = scaling(cli)?;
    let key = scaling.scale_set(&args.set)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    super::settle_first(
        &runtime,
        scaling.profile_name(),
        scaling.profile(),
        scaling.journal(),
        scaling.clock(),
    );
    let proposal = runtime.block_on(scaling.prepare(&key, args.capacity, &args.reason, args.force))?;
    if proposal.delta() < 0 && scaling.profile().hosts_nodes(&key) {
        // The HA nodes' set: never a plain decrement (the cloud would pick busy nodes).
        eprintln!(
            "scaleguard: {} hosts the HA nodes: scaling it in drains the chosen nodes first (as `scaleguard node \
             scale-in {} --count {}`)",
            key.name,
            key.name,
            -proposal.delta()
        );
        drop(runtime);
        let options = super::node_scale_in_cmd::Options {
            reason: args.reason.clone(),
            yes: args.yes,
            force: args.force,
            deadline: None,
            on_deadline: super::node_cmd::OnDeadline::Stop,
            format: args.format,
        };
        return super::node_scale_in_cmd::scale_in(
            cli,
            &key.name,
            proposal.current() - proposal.target(),
            &options,
        );
    }
    let json = args.format == Format::Json;
    if !json {
        println!("{}", proposal.lines().join("\n"));
    }
    let outcome = if !proposal.is_allowed() {
        None
    } else {
        let question = format!("Scale {} from {} to {}?", key, proposal.current(), proposal.target());
        let needed = confirmation_for(Change::Capacity {
            scale_set: &key.name,
            from: proposal.current(),
            to: proposal.target(),
            forced: proposal.request.force,
        });
        if !confirm(&question, args.yes, &needed)? {
            eprintln!("scaleguard: cancelled; nothing was changed");
            return Ok(exit::ERROR);
        }
        Some(runtime.block_on(scaling.apply(&proposal))?)
    };
    if json {
        let body = serde_json::json!({
            "proposal": proposal.summary(),
            "outcome": outcome.as_ref().map(ScaleOutcome::summary),
        });
        super::print_json(&body)?;
    }
    let Some(outcome) = outcome else {
        let count = proposal.verdict.refusals().len();
        eprintln!("scaleguard: refused for {count} reason(s); nothing was changed:");
        for reason in proposal.verdict.refusals() {
            eprintln!("  - {reason}");
        }
        return Ok(exit::ERROR);
    };
    match &outcome {
        ScaleOutcome::Done { .. } => {
            if !json {
                println!("{}", outcome.sentence());
            }
            Ok(exit::OK)
        }
        ScaleOutcome::Changed(conflict) => {
            eprintln!("scaleguard: {}", conflict.sentence());
            if let (false, Ok(fresh)) = (json, &conflict.fresh) {
                println!("\nNow:\n{}", fresh.lines().join("\n"));
            }
            Ok(CHANGED)
        }
        ScaleOutcome::Refused { .. } | ScaleOutcome::Failed { .. } => {
            eprintln!("scaleguard: {}", outcome.sentence());
            Ok(exit::ERROR)
        }
    }
}

pub fn run_protect(cli: &Cli, args: &ProtectArgs) -> anyhow::Result<u8> {
    let scaling = scaling(cli)?;
    let key = scaling.scale_set(&args.set)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    super::settle_first(
        &runtime,
        scaling.profile_name(),
        scaling.profile(),
        scaling.journal(),
        scaling.clock(),
    );
    let proposal =
        runtime.block_on(scaling.prepare_protect(&key, &args.instance_id, !args.off, &args.reason))?;
    println!("{}", proposal.describe());
    if !proposal.is_allowed() {
        eprintln!("scaleguard: refused; nothing was changed:");
        for reason in &proposal.refusals {
            eprintln!("  - {reason}");
        }
        return Ok(exit::ERROR);
    }
    if !confirm(&format!("{}?", capitalized(&proposal.describe())), args.yes, &Confirmation::Plain)? {
        eprintln!("scaleguard: cancelled; nothing was changed");
        return Ok(exit::ERROR);
    }
    let outcome = runtime.block_on(scaling.apply_protect(&proposal))?;
    match outcome {
        ProtectOutcome::Done => {
            println!("{}", outcome.sentence());
            Ok(exit::OK)
        }
        _ => {
            eprintln!("scaleguard: {}", outcome.sentence());
            Ok(exit::ERROR)
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
