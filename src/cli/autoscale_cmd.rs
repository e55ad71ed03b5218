//! `scaleguard autoscale SET`: change the Azure Autoscale setting of a scale set, guarded and
//! journaled like `scale`: the active profile's minimum/maximum/default, or enable/disable it.
//!
//! Prints the proposal, asks on a terminal (typing `yes`; Enter alone cancels) and needs `--yes`
//! without one. Exit codes as `scale`: 0 done; 1 refused, cancelled or failed; 2 the setting
//! changed between the read and the write (nothing was written: look at it again).

use super::inventory_cmd::Format;
use super::scale_cmd::{confirm, scaling, CHANGED};
use super::{exit, Cli};
use crate::autoscale::{AutoscaleChange, ChangeVerdict};
use crate::executor::{confirmation_for, Change, Confirmation};
use crate::scaling::AutoscaleOutcome;
use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct AutoscaleArgs {
    /// The configured scale set's name (or resource_group/name)
    pub set: String,
    /// The active profile's new minimum
    #[arg(long, value_name = "N")]
    pub minimum: Option<u32>,
    /// The active profile's new maximum
    #[arg(long, value_name = "N")]
    pub maximum: Option<u32>,
    /// The active profile's new default
    #[arg(long, value_name = "N")]
    pub default: Option<u32>,
    /// Turn the setting on
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Turn the setting off (Autoscale stops acting on the scale set)
    #[arg(long)]
    pub disable: bool,
    /// Why; journaled (required unless the profile's guard says require_reason = false)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Go ahead without asking (needed when there is no terminal)
    #[arg(long)]
    pub yes: bool,
    /// Turn the setting on although its active profile cannot be worked out (an unknown time zone,
    /// no profile applying now), or let Autoscale move the capacity although the cooldown is
    /// unknown (an unreadable Activity Log): the set's name is then typed on a terminal. Bypasses
    /// nothing else
    #[arg(long)]
    pub force: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(cli: &Cli, args: &AutoscaleArgs) -> anyhow::Result<u8> {
    let scaling = scaling(cli)?;
    let key = scaling.scale_set(&args.set)?;
    let change = AutoscaleChange {
        minimum: args.minimum,
        maximum: args.maximum,
        default: args.default,
        enabled: match (args.enable, args.disable) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        force: args.force,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let proposal = runtime.block_on(scaling.prepare_autoscale(&key, change, &args.reason))?;
    let json = args.format == Format::Json;
    if !json {
        println!("{}", proposal.lines().join("\n"));
    }
    let setting = proposal.setting.name.clone();
    let outcome = if proposal.is_allowed() {
        let question = format!("Change Azure Autoscale setting {setting} of {key}?");
        let needed = match &proposal.verdict {
            ChangeVerdict::Allowed { before, after, implied_move, forced, .. } => {
                confirmation_for(Change::Autoscale {
                    scale_set: &key.name,
                    implied_move: *implied_move,
                    disables: before.enabled && !after.enabled,
                    forced: *forced,
                })
            }
            ChangeVerdict::Refused { .. } => Confirmation::Plain,
        };
        if !confirm(&question, args.yes, &needed)? {
            eprintln!("scaleguard: cancelled; nothing was changed");
            return Ok(exit::ERROR);
        }
        Some(runtime.block_on(scaling.apply_autoscale(&proposal))?)
    } else {
        None
    };
    if json {
        let body = serde_json::json!({
            "proposal": proposal.summary(),
            "outcome": outcome.as_ref().map(|o| serde_json::json!({"status": status(o), "message": o.sentence(&setting)})),
        });
        super::print_json(&body)?;
    }
    let Some(outcome) = outcome else {
        let summary = proposal.summary();
        eprintln!("scaleguard: refused for {} reason(s); nothing was changed:", summary.refusals.len());
        for reason in &summary.refusals {
            eprintln!("  - {reason}");
        }
        return Ok(exit::ERROR);
    };
    match &outcome {
        AutoscaleOutcome::Done { .. } => {
            if !json {
                println!("{}", outcome.sentence(&setting));
            }
            Ok(exit::OK)
        }
        AutoscaleOutcome::Changed { fresh } => {
            eprintln!("scaleguard: {}", outcome.sentence(&setting));
            if let (false, Ok(fresh)) = (json, fresh) {
                println!("\nNow:\n{}", fresh.lines().join("\n"));
            }
            Ok(CHANGED)
        }
        AutoscaleOutcome::Refused { .. } | AutoscaleOutcome::Failed { .. } => {
            eprintln!("scaleguard: {}", outcome.sentence(&setting));
            Ok(exit::ERROR)
        }
    }
}

fn status(outcome: &AutoscaleOutcome) -> &'static str {
    match outcome {
        AutoscaleOutcome::Done { .. } => "done",
        AutoscaleOutcome::Refused { .. } => "refused",
        AutoscaleOutcome::Changed { .. } => "changed",
        AutoscaleOutcome::Failed { .. } => "failed",
    }
}
