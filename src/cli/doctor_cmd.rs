//! `scaleguard doctor`: check the settings behind most scale-event incidents. Exit 0 no errors,
//! 1 errors found, 2 could not check (some or all reads failed and no error was found).

use super::inventory_cmd::Format;
use super::{exit, Cli};
use crate::config::ConfigFile;
use crate::doctor::{self, Counts, Finding};
use crate::inventory::failure_sentence;
use crate::snapshot::ReadFailure;
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The JSON document (stable keys).
#[derive(Debug, Serialize)]
struct Report<'a> {
    profile: &'a str,
    counts: Counts,
    findings: &'a [Finding],
    /// Reads that failed: the checks needing them were skipped.
    not_checked: Vec<&'a ReadFailure>,
}

pub fn run(cli: &Cli, args: &DoctorArgs) -> anyhow::Result<u8> {
    let path = cli.config_path()?;
    let config = ConfigFile::load(&path)?;
    let (name, profile) = config.profile(cli.profile.as_deref())?;
    let clock = cli.clock(profile)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let mut input = runtime.block_on(doctor::gather(profile));
    // When a reconcile last observed the sets: Autoscale scaling in needs one running.
    input.last_reconcile = super::plan_cmd::history_path(&name)
        .ok()
        .and_then(|path| crate::reconcile::load_history(&path).ok())
        .and_then(|history| history.last_observed_at);
    let findings = doctor::check(&input, profile, clock.now());
    let failures = input.failures();
    let owned: Vec<ReadFailure> = failures.iter().map(|f| (*f).clone()).collect();
    if input.nothing_read() || (findings.is_empty() && !failures.is_empty()) {
        eprintln!("scaleguard: doctor could not check profile `{name}`: {}", failure_sentence(&owned));
        return Ok(exit::PENDING);
    }
    let counts = Counts::of(&findings);
    match args.format {
        Format::Json => {
            let report = Report { profile: &name, counts, findings: &findings, not_checked: failures };
            super::print_json(&report)?;
        }
        Format::Table => print!("{}", table(&name, counts, &findings)),
    }
    if !owned.is_empty() {
        eprintln!("scaleguard: some checks were skipped: {}", failure_sentence(&owned));
    }
    Ok(if counts.errors > 0 {
        exit::ERROR
    } else if !owned.is_empty() {
        exit::PENDING
    } else {
        exit::OK
    })
}

fn table(profile: &str, counts: Counts, findings: &[Finding]) -> String {
    let mut out = format!("doctor: profile `{profile}`: {counts}\n");
    if findings.is_empty() {
        out.push_str("\nEvery checked setting matches the recommendations.\n");
    }
    for finding in findings {
        let _ = writeln!(out, "\n{:<8} {}  {}", finding.severity_label(), finding.id, finding.subject);
        for (label, value) in [
            ("observed", &finding.observed),
            ("recommended", &finding.recommended),
            ("why", &finding.why),
            ("fix", &finding.fix),
        ] {
            let _ = writeln!(out, "  {label:<12} {value}");
        }
        let _ = writeln!(out, "  {:<12} {}", "source", finding.source.title);
        let _ = writeln!(out, "  {:<12} {}", "", finding.source.url);
    }
    out
}
