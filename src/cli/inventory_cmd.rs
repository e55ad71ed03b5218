//! `scaleguard inventory`: one headless snapshot, as a table or JSON.

use super::{exit, Cli};
use crate::config::ConfigFile;
use crate::inventory::{self, Report};
use crate::scrubbed::LineScrubbing;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::io::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(cli: &Cli, args: &InventoryArgs) -> anyhow::Result<u8> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (_, profile) = config.profile(cli.profile.as_deref())?;
    let clock = cli.clock(profile)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let snapshot = runtime.block_on(inventory::Collector::new(profile).with_clock(clock).collect());
    let failed = |failures: Vec<_>| anyhow::anyhow!(inventory::failure_sentence(&failures));
    match args.format {
        // Written as it is made, a row at a time out of the snapshot, and scrubbed a line at a
        // time: neither the JSON of 50,000 VMs nor a second copy of the estate as rows is ever
        // held in memory, and no secret reaches stdout.
        Format::Json => {
            let report = inventory::JsonReport::of(&snapshot).map_err(failed)?;
            let mut out = LineScrubbing::new(std::io::BufWriter::new(std::io::stdout().lock()));
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
            out.flush()?;
        }
        Format::Table => {
            let report = inventory::report(&snapshot);
            // The report holds what is printed: at 50,000 VMs the snapshot is tens of megabytes.
            drop(snapshot);
            print!("{}", table(&report.map_err(failed)?));
        }
    }
    Ok(exit::OK)
}

/// Columns padded to their widest cell; one section per kind.
fn table(report: &Report) -> String {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    // What Azure does not report (Flexible VMs: latest model, protection) is unknown, not "no".
    let known = |b: Option<bool>| b.map(yes).unwrap_or_else(|| "unknown".into());
    let mut out = String::new();
    section(
        &mut out,
        "SCALE SETS",
        &["RESOURCE GROUP", "NAME", "MODE", "CAPACITY", "STATE", "OVERPROVISION", "AUTOSCALE"],
        report
            .scale_sets
            .iter()
            .map(|s| {
                vec![
                    s.resource_group.clone(),
                    s.name.clone(),
                    s.orchestration_mode.clone(),
                    s.capacity.to_string(),
                    s.provisioning_state.clone(),
                    yes(s.overprovision),
                    autoscale_cell(s.autoscale.as_ref()),
                ]
            })
            .collect(),
    );
    section(
        &mut out,
        "INSTANCES",
        &["SCALE SET", "ID", "NAME", "COMPUTER NAME", "STATE", "POWER", "LATEST MODEL", "PROTECTED"],
        report
            .instances
            .iter()
            .map(|i| {
                vec![
                    i.scale_set.clone(),
                    i.instance_id.clone(),
                    i.name.clone(),
                    i.computer_name.clone().unwrap_or_else(|| "-".into()),
                    // An AWS instance's lifecycle state says more than the state it maps to.
                    i.lifecycle_state.clone().unwrap_or_else(|| i.provisioning_state.clone()),
                    i.power_state.clone(),
                    known(i.latest_model),
                    known(i.protected),
                ]
            })
            .collect(),
    );
    section(
        &mut out,
        "TARGETS",
        &["ID", "NAME", "ROLES", "HEALTH", "DISABLED", "INSTANCE"],
        report
            .targets
            .iter()
            .map(|t| {
                vec![
                    t.id.clone(),
                    t.name.clone(),
                    t.roles.join(","),
                    t.health.clone(),
                    yes(t.disabled),
                    t.matched_instance_id.clone().unwrap_or_else(|| "(no VM)".into()),
                ]
            })
            .collect(),
    );
    section(
        &mut out,
        "NODES",
        &["NAME", "LAST SEEN", "OFFLINE", "DRAIN", "TASK CAP", "RUNNING"],
        report
            .nodes
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.last_seen
                        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                        .unwrap_or_else(|| "never".into()),
                    yes(n.offline),
                    yes(n.drain),
                    n.task_cap.to_string(),
                    n.running_tasks.to_string(),
                ]
            })
            .collect(),
    );
    let _ = writeln!(out, "Octopus Server {}", report.server.version);
    out
}

/// `on: default 2..6`, `off: NAME`, `unknown`, `none`.
fn autoscale_cell(summary: Option<&crate::autoscale::AutoscaleSummary>) -> String {
    let Some(summary) = summary else { return "none".into() };
    match (&summary.active_profile, &summary.name) {
        (Some(p), _) => format!("{}: {} {}..{}", summary.state, p.name, p.minimum, p.maximum),
        (None, Some(name)) => format!("{}: {name}", summary.state),
        (None, None) => summary.state.to_string(),
    }
}

fn section(out: &mut String, title: &str, headers: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "{title} ({})", rows.len());
    // Cells carry names servers chose: one clean line each.
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| row.iter().map(|cell| crate::untrusted::one_line(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(headers.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        out.push_str(&line(row));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_hold_one_clean_line_each() {
        let _key = crate::secret::Secret::new("API-CELLSECRET0123456789");
        let rows =
            vec![vec!["vm\u{1b}[2J\nscaleguard: done".to_string(), "api-cellsecret0123456789".to_string()]];
        let mut out = String::new();
        section(&mut out, "INSTANCES", &["NAME", "COMPUTER NAME"], rows);
        assert_eq!(out.lines().filter(|l| !l.is_empty()).count(), 3, "title, header, one row: {out:?}");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(!out.to_lowercase().contains("cellsecret"), "{out}");
    }
}
