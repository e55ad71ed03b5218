//! The tool during an incident: every simulator fault against the real binary's reconcile
//! (`apply`), `scale` and `node drain` flows, checking the README's safety invariants after each.
//!
//! Table-driven: one row per fault, one helper per flow. Each row prints
//! `| fault | what the user sees | guaranteed |` (run with `--nocapture` to collect the table).

use crate::support::bench::{assert_no_secret, set_toml, Bench, Run, MACHINES, SCALE_SET, SET, VM_LIST};
use scaleguard::drain::DrainEffect;
use scaleguard::journal::{JournalAction, Outcome, RecordKind};
use scaleguard::sim::{EventAction, FaultSpec, RequestHook, SimOptions};
use std::time::{Duration, Instant};

/// One injected fault. With a method, it is armed by a request hook so it hits only that method.
#[derive(Clone, Copy)]
struct Inject {
    method: Option<&'static str>,
    target: &'static str,
    kind: &'static str,
    count: u32,
}

const fn fault(target: &'static str, kind: &'static str, count: u32) -> Inject {
    Inject { method: None, target, kind, count }
}

const fn on(method: &'static str, target: &'static str, kind: &'static str) -> Inject {
    Inject { method: Some(method), target, kind, count: 1 }
}

/// Effectively "until the end of the run".
const ALWAYS: u32 = 10_000;

enum Expect {
    /// Recovered (the text says how): the three deletes are done, exit 0.
    Recovers(&'static str),
    /// Nothing applied (exit 1); the error sentence contains each of these.
    Refuses(&'static [&'static str]),
    /// One delete failed (exit 1) with a reason containing these; the others were done; a rerun
    /// finishes without a second DELETE for any target.
    OneFails(&'static [&'static str]),
}

struct ApplyRow {
    fault: &'static str,
    inject: Vec<Inject>,
    /// Page size for both APIs (truncation needs more than one page).
    page_size: usize,
    expect: Expect,
}

fn arm(spec: &Inject, sim: &scaleguard::sim::RunningSim) {
    let fault = FaultSpec {
        target: spec.target.into(),
        kind: spec.kind.into(),
        count: spec.count,
        retry_after_secs: Some(1),
        delay_ms: Some(4_000),
    };
    match spec.method {
        None => sim.inject_fault(fault).unwrap(),
        Some(method) => sim.before_next_request(RequestHook {
            method: Some(method.into()),
            path_prefix: spec.target.into(),
            action: EventAction::Fault(fault),
        }),
    }
}

fn secrets(bench: &Bench) -> Vec<String> {
    vec![bench.sim.api_key(), bench.sim.arm_token()]
}

fn table_row(fault: &str, seen: &str, guaranteed: &str) {
    // One Markdown row; the sentence the user saw is copied verbatim.
    let seen = seen.trim().replace('|', "\\|").replace('\n', " ");
    eprintln!("TABLE| {fault} | `{seen}` | {guaranteed} |");
}

/// The reason of the first failed report in apply's JSON.
fn failed_reason(run: &Run) -> String {
    run.json()["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["outcome"]["status"] == "failed")
        .map(|r| format!("FAILED {}: {}", r["summary"].as_str().unwrap_or(""), r["outcome"]["why"]))
        .unwrap_or_default()
}

fn count_outcomes(run: &Run, status: &str) -> usize {
    run.json()["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["outcome"]["status"] == status)
        .count()
}

/// Scale-in ready to delete three targets; the row's fault; one `apply`; the invariants.
async fn apply_row(row: ApplyRow) {
    let options = SimOptions::new("scale-in")
        .manual_clock()
        .arm_page_size(row.page_size)
        .octopus_page_size(row.page_size);
    let bench = Bench::scale_in_ready(options, |toml| set_toml(&toml, "timeout_secs", "2")).await;
    let before = bench.machines();
    assert_eq!(before.len(), 6);
    let journaled_before = bench.journal().0.len();
    for spec in &row.inject {
        arm(spec, &bench.sim);
    }
    let started = Instant::now();
    let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
    let took = started.elapsed();
    let context = format!(
        "{}: exit {} in {took:?}\nstderr: {}\nstdout: {}",
        row.fault, run.code, run.stderr, run.stdout
    );
    run.assert_no_panic(&context);
    let journal = std::fs::read_to_string(bench.journal_path()).unwrap_or_default();
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr), ("journal", &journal)] {
        assert_no_secret(&secrets(&bench), what, text);
    }
    bench.assert_journal_paired(&context);
    assert_eq!(bench.stat("foreign.credentials"), 0, "{context}\na credential left its origin");
    let after = bench.machines();
    // Invariant 1/2: whatever happened, no target whose VM exists was deleted.
    for (id, vm) in before.iter().filter(|(id, _)| !after.contains_key(*id)) {
        let vm = vm.as_ref().expect("scale-set targets only");
        assert!(!bench.vm_exists(vm), "{context}\ndeleted {id} while its VM exists");
    }
    let deletes_sent = bench.stat("octopus.machines.delete");
    match row.expect {
        Expect::Recovers(how) => {
            assert_eq!(run.code, 0, "{context}");
            assert_eq!(after.len(), 3, "{context}\nthe three deletes are done once recovered");
            assert_eq!(deletes_sent, 3, "{context}");
            table_row(
                row.fault,
                "exit 0: `done delete-target …` ×3",
                &format!("{how}; each delete sent once"),
            );
        }
        Expect::Refuses(names) => {
            assert_eq!(run.code, 1, "{context}");
            assert_eq!(after, before, "{context}\nnothing may be deleted from a failed or partial listing");
            assert_eq!(deletes_sent, 0, "{context}");
            let errors = run.error_lines();
            assert_eq!(errors.len(), 1, "{context}\none error sentence");
            for name in names {
                assert!(errors[0].contains(name), "{context}\nthe error does not name `{name}`");
            }
            assert_eq!(
                bench.journal().0.len(),
                journaled_before,
                "{context}\nnothing journaled by a refused run"
            );
            table_row(row.fault, &run.stderr, "exit 1, nothing deleted or deployed, nothing journaled");
        }
        Expect::OneFails(names) => {
            assert_eq!(run.code, 1, "{context}");
            assert_eq!((count_outcomes(&run, "done"), count_outcomes(&run, "failed")), (2, 1), "{context}");
            let reason = failed_reason(&run);
            for name in names {
                assert!(reason.contains(name), "{context}\nthe failure does not name `{name}`: {reason}");
            }
            let (records, _) = bench.journal();
            let failed = records
                .iter()
                .filter(|r| r.kind == RecordKind::Result && matches!(r.outcome, Some(Outcome::Failed(_))))
                .count();
            assert_eq!(failed, 1, "{context}\nthe failure is journaled as the intent's result");
            // The next run finishes the job; the failed DELETE was not acted on, so one more is sent.
            let rerun = bench.run(&["apply", "--yes", "--format", "json"]).await;
            assert_eq!(rerun.code, 0, "rerun: {}\n{}", rerun.stderr, rerun.stdout);
            assert_eq!(bench.machines().len(), 3, "{context}\nrerun: {}", rerun.stdout);
            assert_eq!(
                bench.stat("octopus.machines.delete"),
                4,
                "three deletes and the failed attempt: no double delete"
            );
            bench.assert_journal_paired("rerun");
            table_row(row.fault, &reason, "that action only fails (journaled intent → failed), never retried blindly; the rest run; a rerun finishes it");
        }
    }
}

macro_rules! apply_rows {
    ($($name:ident: $row:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            apply_row($row).await;
        }
    )*};
}

const ARM_NAMES: &[&str] = &["vmss-web", "from http://127.0.0.1"];
const OCTOPUS_NAMES: &[&str] = &["Octopus targets", "from http://127.0.0.1"];

apply_rows! {
    apply_throttled_once_retries_after_retry_after: ApplyRow {
        fault: "429 + Retry-After: 1 (ARM listing, once)",
        inject: vec![fault(VM_LIST, "429", 1)], page_size: 100, expect: Expect::Recovers("a read is retried (Retry-After honoured) within the deadline"),
    },
    apply_throttled_throughout_refuses: ApplyRow {
        fault: "429 on every Octopus targets read",
        inject: vec![fault(MACHINES, "429", ALWAYS)], page_size: 100, expect: Expect::Refuses(OCTOPUS_NAMES),
    },
    apply_500_once_on_a_read_retries: ApplyRow {
        fault: "500 once (Octopus targets read)",
        inject: vec![fault(MACHINES, "500", 1)], page_size: 100, expect: Expect::Recovers("a GET is retried after a 500; the listing is then complete"),
    },
    apply_500_throughout_refuses: ApplyRow {
        fault: "500 on every ARM VM listing",
        inject: vec![fault(VM_LIST, "500", ALWAYS)], page_size: 100, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_503_throughout_refuses: ApplyRow {
        fault: "503 on every ARM request",
        inject: vec![fault("arm", "503", ALWAYS)], page_size: 100, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_arm_timeout_refuses: ApplyRow {
        fault: "timeout: ARM listing delayed 4 s, timeout_secs = 2",
        inject: vec![fault(VM_LIST, "delay", ALWAYS)], page_size: 100, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_octopus_timeout_refuses: ApplyRow {
        fault: "timeout: Octopus targets delayed 4 s, timeout_secs = 2",
        inject: vec![fault(MACHINES, "delay", ALWAYS)], page_size: 100, expect: Expect::Refuses(OCTOPUS_NAMES),
    },
    apply_truncated_arm_page_refuses: ApplyRow {
        fault: "truncated ARM page (nextLink lost)",
        inject: vec![fault(VM_LIST, "truncated_page", ALWAYS)], page_size: 1, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_truncated_octopus_page_still_lists_everything: ApplyRow {
        fault: "truncated Octopus page (Links.Page.Next lost)",
        inject: vec![fault(MACHINES, "truncated_page", ALWAYS)], page_size: 1,
        expect: Expect::Recovers("the client pages by skip/TotalResults, not by links: the listing stays complete"),
    },
    apply_malformed_arm_json_refuses: ApplyRow {
        fault: "malformed JSON (ARM listing)",
        inject: vec![fault(VM_LIST, "malformed_json", ALWAYS)], page_size: 100, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_malformed_octopus_json_refuses: ApplyRow {
        fault: "malformed JSON (Octopus targets)",
        inject: vec![fault(MACHINES, "malformed_json", ALWAYS)], page_size: 100, expect: Expect::Refuses(OCTOPUS_NAMES),
    },
    apply_octopus_401_refuses: ApplyRow {
        fault: "401 from Octopus (key revoked)",
        inject: vec![fault("octopus", "401", ALWAYS)], page_size: 100, expect: Expect::Refuses(&["401"]),
    },
    apply_expired_arm_token_refuses: ApplyRow {
        fault: "expired ARM token",
        inject: vec![fault("arm", "expired_token", ALWAYS)], page_size: 100, expect: Expect::Refuses(ARM_NAMES),
    },
    apply_401_mid_session_fails_that_delete_only: ApplyRow {
        fault: "401 mid-session (on a DELETE)",
        inject: vec![on("DELETE", "/api/Spaces-1/machines/", "401")], page_size: 100, expect: Expect::OneFails(&["401"]),
    },
    apply_500_on_a_delete_is_not_retried: ApplyRow {
        fault: "500 on a DELETE",
        inject: vec![on("DELETE", "/api/Spaces-1/machines/", "500")], page_size: 100, expect: Expect::OneFails(&["500"]),
    },
    apply_arm_body_stall_refuses: ApplyRow {
        fault: "ARM listing's body stalls 4 s after its headers, timeout_secs = 2",
        inject: vec![fault(VM_LIST, "slow_body", ALWAYS)], page_size: 100, expect: Expect::Refuses(&["vmss-web", "no complete answer within 2s"]),
    },
    apply_octopus_body_stall_refuses: ApplyRow {
        fault: "Octopus targets' body stalls 4 s after its headers, timeout_secs = 2",
        inject: vec![fault(MACHINES, "slow_body", ALWAYS)], page_size: 100, expect: Expect::Refuses(&["Octopus targets", "no complete answer within 2s"]),
    },
    apply_octopus_echoing_the_key_refuses_without_showing_it: ApplyRow {
        fault: "401 from Octopus quoting the API key",
        inject: vec![fault("octopus", "echo_secret", ALWAYS)], page_size: 100, expect: Expect::Refuses(&["401", "'<redacted>'"]),
    },
    apply_arm_echoing_the_token_refuses_without_showing_it: ApplyRow {
        fault: "401 from ARM quoting the bearer token",
        inject: vec![fault("arm", "echo_secret", ALWAYS)], page_size: 100, expect: Expect::Refuses(&["vmss-web", "'Bearer <redacted>'"]),
    },
    apply_key_echoed_on_a_delete_fails_that_delete_only: ApplyRow {
        fault: "401 quoting the API key on a DELETE",
        inject: vec![on("DELETE", "/api/Spaces-1/machines/", "echo_secret")], page_size: 100, expect: Expect::OneFails(&["401", "'<redacted>'"]),
    },
    // Issue 13: hostile Octopus answers.
    apply_redirect_to_another_origin_refuses: ApplyRow {
        fault: "302 from the Octopus targets listing to another origin",
        inject: vec![fault(MACHINES, "redirect", ALWAYS)], page_size: 100,
        expect: Expect::Refuses(&["Octopus targets", "redirected to http://localhost:"]),
    },
    apply_lying_total_refuses: ApplyRow {
        fault: "Octopus TotalResults far above the real count (skip clamped)",
        inject: vec![fault(MACHINES, "lying_total", ALWAYS)], page_size: 2,
        expect: Expect::Refuses(&["Octopus targets", "GET /api/Spaces-1/machines", "incomplete"]),
    },
    apply_ignored_skip_refuses: ApplyRow {
        fault: "Octopus server ignoring skip (every page is the first)",
        inject: vec![fault(MACHINES, "ignore_skip", ALWAYS)], page_size: 2,
        expect: Expect::Refuses(&["Octopus targets", "repeats items", "incomplete"]),
    },
    apply_delete_answered_200_that_did_nothing_fails_that_delete: ApplyRow {
        fault: "DELETE answered 200 without deleting",
        inject: vec![on("DELETE", "/api/Spaces-1/machines/", "ok_noop")], page_size: 100,
        expect: Expect::OneFails(&["still registered"]),
    },
}

// ---- listings that prove nothing about absence: never a delete, whatever the history ----

/// What a listing fault must lead to, run after run.
enum Evidence {
    /// Each run exits 0 with the deletes held; a plan note's reason and observations name these.
    Holds(&'static str, &'static [&'static str]),
    /// Each run exits 1 with one error sentence naming these.
    Refuses(&'static [&'static str]),
    /// The VMs are still matched (by another name source): exactly the three scaled-in targets go.
    Matches,
}

struct EvidenceRow {
    fault: &'static str,
    kind: &'static str,
    page_size: usize,
    expect: Evidence,
}

/// An empty-page server on another loopback port that records every request's Authorization.
async fn foreign_origin() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let record = record.clone();
        async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
            record.lock().unwrap().push(auth);
            ([("content-type", "application/json")], r#"{"value":[]}"#)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, seen)
}

/// One run that must end by `within` (a looping tool is killed and reported, not waited on).
async fn run_within(bench: &Bench, args: &[&str], within: Duration) -> Run {
    let mut child = bench
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} still running after {within:?}: {} ARM requests\nstderr: {}",
                bench.sim.stats().arm,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Scale-in ready to delete three targets (two absent listings on record, K = 3, 1 s grace); the
/// fault on every ARM request; three `apply` runs, enough for any listing taken as evidence to
/// delete the targets of VMs that exist.
async fn evidence_row(row: EvidenceRow) {
    let options = SimOptions::new("scale-in").manual_clock().arm_page_size(row.page_size);
    let bench = Bench::scale_in_ready(options, |toml| set_toml(&toml, "timeout_secs", "2")).await;
    let before = bench.machines();
    let (port, foreign_seen) = foreign_origin().await;
    let kind = row.kind.replace("PORT", &port.to_string());
    let fault =
        FaultSpec { target: SCALE_SET.into(), kind, count: ALWAYS, retry_after_secs: None, delay_ms: None };
    bench.sim.inject_fault(fault).unwrap();
    let mut runs = Vec::new();
    for round in 1..=3 {
        let run = run_within(&bench, &["apply", "--yes", "--format", "json"], Duration::from_secs(60)).await;
        let context = format!(
            "{} (run {round}): exit {}\nstderr: {}\nstdout: {}",
            row.fault, run.code, run.stderr, run.stdout
        );
        run.assert_no_panic(&context);
        let leaked = foreign_seen.lock().unwrap().clone();
        assert!(leaked.is_empty(), "{context}\nrequests went to the foreign origin: {leaked:?}");
        for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert_no_secret(&secrets(&bench), what, text);
        }
        bench.assert_journal_paired(&context);
        for (id, vm) in before.iter().filter(|(id, _)| !bench.machines().contains_key(*id)) {
            let vm = vm.as_ref().expect("scale-set targets only");
            assert!(!bench.vm_exists(vm), "{context}\ndeleted {id} while its VM exists");
        }
        runs.push(run);
        // More than the 1 s grace between listings.
        bench.sim.advance(Duration::from_secs(2)).unwrap();
    }
    // Every run answered alike; the last one is checked in full.
    let run = runs.last().expect("three runs");
    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    let context = format!("{}: exits {codes:?}\nstderr: {}\nstdout: {}", row.fault, run.stderr, run.stdout);
    let seen = match row.expect {
        Evidence::Holds(note, names) => {
            assert_eq!(codes, [0, 0, 0], "{context}");
            let json = run.json();
            let held = json["plan"]["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["id"].as_str().is_some_and(|id| id.starts_with(note)))
                .unwrap_or_else(|| panic!("{context}\nno {note} note"));
            let text = format!("{} {}", held["reason"], held["observations"]);
            for name in names {
                assert!(text.contains(name), "{context}\nthe note does not name `{name}`: {text}");
            }
            held["reason"].as_str().unwrap_or_default().to_string()
        }
        Evidence::Refuses(names) => {
            assert_eq!(codes, [1, 1, 1], "{context}");
            let errors = run.error_lines();
            assert_eq!(errors.len(), 1, "{context}\none error sentence");
            for name in names {
                let name = name.replace("PORT", &port.to_string());
                assert!(errors[0].contains(&name), "{context}\nthe error does not name `{name}`");
            }
            errors[0].to_string()
        }
        Evidence::Matches => {
            assert_eq!(codes, [0, 0, 0], "{context}");
            format!("exit 0: `done delete-target …` ×{}", count_outcomes(&runs[0], "done"))
        }
    };
    let deleted = before.len() - bench.machines().len();
    let deletes_sent = bench.stat("octopus.machines.delete");
    let guaranteed = match row.expect {
        Evidence::Matches => {
            assert_eq!((deleted, deletes_sent), (3, 3), "{}: only the scaled-in VMs' targets", row.fault);
            "matched by instanceView.computerName: only the three scaled-in VMs' targets deleted"
        }
        Evidence::Holds(..) => {
            assert_eq!((deleted, deletes_sent), (0, 0), "{}: deletes are held", row.fault);
            "exit 0 with deletes held (a plan note says why) over 3 runs; nothing deleted"
        }
        Evidence::Refuses(_) => {
            assert_eq!((deleted, deletes_sent), (0, 0), "{}", row.fault);
            "exit 1, nothing deleted, over 3 runs"
        }
    };
    table_row(row.fault, &seen, guaranteed);
}

macro_rules! evidence_rows {
    ($($name:ident: $row:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            evidence_row($row).await;
        }
    )*};
}

evidence_rows! {
    apply_truncated_while_updating_holds_deletes: EvidenceRow {
        fault: "set reports Updating, VM page loses its nextLink", kind: "truncated_while_updating", page_size: 1,
        expect: Evidence::Holds("note:unproven-listing:", &["vmss-web", "deletes are held", "Updating", "1 distinct VM(s) listed for capacity 3"]),
    },
    apply_duplicate_vm_refuses: EvidenceRow {
        fault: "a VM repeated across pages, another missing", kind: "duplicate_vm", page_size: 2,
        expect: Evidence::Refuses(&["vmss-web", "listed 2 times", "the listing is incomplete"]),
    },
    apply_unnamed_vms_hold_deletes: EvidenceRow {
        fault: "VMs without osProfile or instance-view computer name", kind: "unnamed_vm", page_size: 100,
        expect: Evidence::Holds("note:unnamed-vm:", &["vmss-web", "not deleted", "instance"]),
    },
    apply_null_computer_names_hold_deletes: EvidenceRow {
        fault: "osProfile.computerName null", kind: "null_computer_name", page_size: 100,
        expect: Evidence::Holds("note:unnamed-vm:", &["vmss-web", "not deleted"]),
    },
    apply_empty_computer_names_hold_deletes: EvidenceRow {
        fault: "computer name empty", kind: "empty_computer_name", page_size: 100,
        expect: Evidence::Holds("note:unnamed-vm:", &["vmss-web", "not deleted"]),
    },
    apply_no_os_profile_matches_by_instance_view: EvidenceRow {
        fault: "no osProfile (specialized image), instance view names the VM", kind: "no_os_profile", page_size: 100,
        expect: Evidence::Matches,
    },
    apply_foreign_next_link_refuses_and_sends_no_token: EvidenceRow {
        fault: "nextLink to another loopback port", kind: "foreign_next_link:PORT", page_size: 1,
        expect: Evidence::Refuses(&["vmss-web", "http://127.0.0.1:PORT", "not to the configured ARM endpoint"]),
    },
    apply_paging_loop_refuses_promptly: EvidenceRow {
        fault: "nextLink loops back to page 1", kind: "paging_loop", page_size: 1,
        expect: Evidence::Refuses(&["vmss-web", "from http://127.0.0.1", "loops"]),
    },
    // The issue-13 review: capacity that is no VM count, stand-ins for a lost VM.
    apply_no_capacity_refuses: EvidenceRow {
        fault: "scale set without sku.capacity", kind: "no_capacity", page_size: 100,
        expect: Evidence::Refuses(&["vmss-web", "no sku.capacity"]),
    },
    apply_negative_capacity_refuses: EvidenceRow {
        fault: "sku.capacity -1", kind: "negative_capacity", page_size: 100,
        expect: Evidence::Refuses(&["vmss-web", "sku.capacity is -1"]),
    },
    apply_huge_capacity_refuses_before_paging: EvidenceRow {
        fault: "sku.capacity 4294967295", kind: "huge_capacity", page_size: 1,
        expect: Evidence::Refuses(&["vmss-web", "sku.capacity is 4294967295", "1000 VMs"]),
    },
    apply_vm_of_another_set_refuses: EvidenceRow {
        fault: "a VM of another scale set listed in place of a lost one", kind: "foreign_set_vm", page_size: 2,
        expect: Evidence::Refuses(&["vmss-web", "other-vmss-web_900", "not a VM of rg-web/vmss-web"]),
    },
    apply_one_vm_under_two_spellings_refuses: EvidenceRow {
        fault: "a VM listed again as instance \"0<id>\" (vmId upper-case) in place of a lost one", kind: "alias_vm", page_size: 2,
        expect: Evidence::Refuses(&["vmss-web", "not a number as ARM writes one"]),
    },
    apply_deleting_stand_in_refuses: EvidenceRow {
        fault: "a Deleting VM (Succeeded set) in place of a lost one", kind: "deleting_stand_in", page_size: 2,
        expect: Evidence::Refuses(&["vmss-web", "being deleted, which do not count", "the listing is incomplete"]),
    },
}

// ---- scale: If-Match, retries only where the server did not act ----

struct ScaleRow {
    fault: &'static str,
    inject: Vec<Inject>,
    /// Capacity after the run (3 = unchanged), PATCH requests sent, exit code.
    capacity: u32,
    patches: u64,
    code: i32,
    names: &'static [&'static str],
}

async fn scale_row(row: ScaleRow) {
    let bench =
        Bench::start(SimOptions::new("steady").manual_clock(), |toml| set_toml(&toml, "timeout_secs", "2"))
            .await;
    for spec in &row.inject {
        arm(spec, &bench.sim);
    }
    let mut command = bench.command(&["scale", SET, "--capacity", "4", "--reason", "incident", "--yes"]);
    let child = tokio::task::spawn_blocking(move || command.output().expect("run scaleguard scale"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !child.is_finished() {
        assert!(Instant::now() < deadline, "{}: scale did not finish", row.fault);
        tokio::time::sleep(Duration::from_millis(100)).await;
        bench.sim.advance(Duration::from_secs(5)).unwrap();
    }
    let output = child.await.unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let context = format!("{}: exit {}\nstderr: {}\nstdout: {}", row.fault, run.code, run.stderr, run.stdout);
    run.assert_no_panic(&context);
    assert_eq!(run.code, row.code, "{context}");
    assert_eq!(bench.sim.with_world(|w| w.scale_sets[0].capacity), row.capacity, "{context}");
    assert_eq!(bench.stat("arm.patch_scale_set"), row.patches, "{context}");
    assert_eq!(bench.stat("arm.patch_scale_set.unconditional"), 0, "{context}\nevery PATCH carries If-Match");
    let journal = std::fs::read_to_string(bench.journal_path()).unwrap_or_default();
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr), ("journal", &journal)] {
        assert_no_secret(&secrets(&bench), what, text);
    }
    bench.assert_journal_paired(&context);
    let (records, _) = bench.journal();
    let scale_records = records.iter().filter(|r| matches!(r.action, JournalAction::Scale { .. })).count();
    assert_eq!(scale_records, if row.patches == 0 { 0 } else { 2 }, "{context}\nintent + result per attempt");
    let seen =
        if row.code == 0 { "exit 0: capacity 3 → 4".to_string() } else { run.error_lines().join(" ") };
    for name in row.names {
        assert!(seen.contains(name), "{context}\nthe message does not name `{name}`");
    }
    let guaranteed = if row.code == 0 {
        "the server did not act on the refused PATCH, so it is retried: capacity changes once, with If-Match"
    } else if row.patches == 0 {
        "no PATCH sent, nothing journaled"
    } else {
        "the PATCH is not retried (it may have acted); journaled intent → failed; capacity unchanged"
    };
    table_row(row.fault, &seen, guaranteed);
}

macro_rules! scale_rows {
    ($($name:ident: $row:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            scale_row($row).await;
        }
    )*};
}

scale_rows! {
    scale_429_on_the_patch_is_retried_once: ScaleRow {
        fault: "scale: 429 + Retry-After on the PATCH",
        inject: vec![on("PATCH", SCALE_SET, "429")], capacity: 4, patches: 2, code: 0, names: &[],
    },
    scale_500_on_the_patch_is_not_retried: ScaleRow {
        fault: "scale: 500 on the PATCH",
        inject: vec![on("PATCH", SCALE_SET, "500")], capacity: 3, patches: 1, code: 1, names: &["500"],
    },
    scale_expired_token_sends_no_patch: ScaleRow {
        fault: "scale: expired ARM token",
        inject: vec![fault("arm", "expired_token", ALWAYS)], capacity: 3, patches: 0, code: 1, names: &["vmss-web"],
    },
}

// ---- world faults ----

/// A VM deleted between the deploy's re-check and its POST: one deployment, never a second; the
/// dead VM's target is deleted once the absence evidence is in.
#[tokio::test(flavor = "multi_thread")]
async fn a_vm_deleted_during_a_deployment_is_deployed_once_then_its_target_removed() {
    let bench = Bench::start(SimOptions::new("scale-out").manual_clock(), Bench::apply_profile)
        .await
        .with_sim_clock();
    // Drive the scale-out until the plan has its deploy.
    let mut new_vm = None;
    for _ in 0..40 {
        bench.sim.advance(Duration::from_secs(10)).unwrap();
        let plan = bench.run(&["plan", "--format", "json"]).await;
        let json = plan.json();
        let deploy =
            json["actions"].as_array().into_iter().flatten().find(|a| a["action"]["kind"] == "deploy");
        if let Some(deploy) = deploy {
            let target = deploy["action"]["target_ids"][0].as_str().unwrap().to_string();
            new_vm = bench.machines()[&target].clone();
            break;
        }
    }
    let (set, instance_id) = new_vm.expect("the scale-out plans a deploy");
    bench.sim.before_next_request(RequestHook {
        method: Some("POST".into()),
        path_prefix: "/api/Spaces-1/deployments".into(),
        action: EventAction::DeleteVm { set: set.clone(), instance_id },
    });
    let run = bench.run(&["apply", "--yes", "--format", "json"]).await;
    run.assert_no_panic("apply");
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(bench.our_deployments().len(), 1);
    // The delete Azure started during the POST completes.
    bench.sim.advance(Duration::from_secs(120)).unwrap();
    assert!(!bench.vm_exists(&(set.clone(), instance_id)), "the hook deleted the VM");
    let orphan: Vec<String> = bench
        .machines()
        .into_iter()
        .filter(|(_, vm)| vm.as_ref() == Some(&(set.clone(), instance_id)))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(orphan.len(), 1);
    let mut gone_after = None;
    for round in 1..=6 {
        // Past the 1 s grace over the rounds.
        bench.sim.advance(Duration::from_millis(600)).unwrap();
        let again = bench.run(&["apply", "--yes", "--format", "json"]).await;
        again.assert_no_panic("rerun");
        assert!(again.code == 0 || again.code == 2, "{}\n{}", again.stderr, again.stdout);
        assert_eq!(bench.our_deployments().len(), 1, "round {round}: never a second deployment");
        if !bench.machines().contains_key(&orphan[0]) {
            gone_after = Some(round);
            break;
        }
    }
    let round = gone_after.expect("the dead VM's target is deleted after the grace");
    assert_eq!(bench.stat("octopus.deployments.post"), 1, "one POST in all");
    bench.assert_journal_paired("vm deleted during deploy");
    table_row(
        "VM deleted during a deployment",
        &format!("exit 0 `done deploy …`; {round} rerun(s) later `done delete-target {}`", orphan[0]),
        "one deployment, never repeated; the orphaned target deleted only after K complete listings",
    );
}

/// A node killed while `node drain --wait` waits on its task: the drain cancels the task once the
/// node is offline and deletes the node; one cancel, one delete.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_killed_during_drain_is_cancelled_once_and_deleted() {
    // Poll every second; the manual clock jumps past Octopus's offline limit once the node is killed.
    let bench =
        Bench::start(SimOptions::new("ha-drain").manual_clock(), |toml| set_toml(&toml, "refresh_secs", "1"))
            .await
            .with_sim_clock();
    bench.sim.apply(EventAction::RunTask { node: "OCTO-NODE-1".into(), secs: 100_000.0 }).unwrap();
    let mut command = bench.command(&["node", "drain", "OCTO-NODE-1", "--wait", "--yes"]);
    let child = tokio::task::spawn_blocking(move || command.output().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bench
        .sim
        .with_world(|w| w.nodes.iter().any(|n| n.name == "OCTO-NODE-1" && n.is_in_maintenance_mode))
    {
        assert!(Instant::now() < deadline, "drain never enabled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bench.sim.apply(EventAction::KillNode { node: "OCTO-NODE-1".into() }).unwrap();
    // Five minutes without a heartbeat and Octopus reports the node offline.
    bench.sim.advance(Duration::from_secs(400)).unwrap();
    let output = tokio::time::timeout(Duration::from_secs(60), child).await.expect("drain finishes").unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    run.assert_no_panic("drain");
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert!(bench.sim.with_world(|w| w.nodes.iter().all(|n| n.name != "OCTO-NODE-1")), "node deleted");
    assert_eq!(bench.stat("octopus.octopusservernodes.delete"), 1);
    bench.assert_journal_paired("drain");
    // Our task and any the scenario started there before drain was on: each cancelled exactly once.
    let (records, _) = bench.journal();
    let mut cancelled: Vec<String> = records
        .iter()
        .filter(|r| r.kind == RecordKind::Result && r.outcome == Some(Outcome::Done))
        .filter_map(|r| match &r.action {
            JournalAction::Drain { effect: DrainEffect::CancelTask(task), .. } => Some(task.clone()),
            _ => None,
        })
        .collect();
    let journaled = cancelled.len();
    cancelled.sort();
    cancelled.dedup();
    assert!(journaled >= 1 && cancelled.len() == journaled, "each task cancelled once: {records:?}");
    assert_eq!(bench.stat("octopus.tasks.cancel"), journaled as u64, "one cancel request per task");
    let last = run.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().to_string();
    table_row(
        "node killed during drain",
        &last,
        "task cancelled once (after offline), node deleted once, every step journaled",
    );
}
