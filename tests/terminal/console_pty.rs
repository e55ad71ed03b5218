//! End to end: the real binary in a pseudo-terminal runs `demo`, a diff appears, the operator
//! approves it with keys, and the result shows on screen and in the journal.

use crate::support::pty::Console;
use std::time::Duration;

/// The demo's simulator makes fresh secrets each run (`API-` + 26 of [A-Z0-9] for Octopus keys,
/// `sim-arm-` + 32 for the ARM token); the test cannot know them, so it looks for their shape.
fn find_secret(text: &str) -> Option<String> {
    for (prefix, len) in [("API-", 26), ("sim-arm-", 32)] {
        for (at, _) in text.match_indices(prefix) {
            let body: String = text[at + prefix.len()..].chars().take(len).collect();
            if body.len() == len && body.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
                return Some(format!("{prefix}{body}"));
            }
        }
    }
    None
}

#[test]
fn the_secret_search_recognises_the_simulators_secrets() {
    assert!(find_secret("key API-ABCDEFGHIJKLMNOPQRSTUVWXYZ trailing").is_some());
    assert!(find_secret("Bearer sim-arm-0123456789ABCDEFGHIJKLMNOPQRSTUV").is_some());
    assert!(find_secret("API-KEY missing, sim-arm-short").is_none());
}

fn line_with(screen: &str, words: &[&str]) -> bool {
    screen.lines().any(|line| words.iter().all(|w| line.contains(w)))
}

#[test]
fn demo_shows_a_diff_and_approving_it_runs_and_journals_it() {
    let _shared = crate::ALONE.blocking_read();
    let data = tempfile::tempdir().unwrap();
    let data_dir = [("SCALEGUARD_DATA_DIR".to_string(), data.path().display().to_string())];
    let console = Console::start(&["demo", "--scenario", "scale-out", "--speed", "20"], &data_dir);
    console.wait_for("the first refresh", Duration::from_secs(30), |s| s.contains("refreshed"));
    console.send("4");
    console.wait_for("a proposed deploy", Duration::from_secs(90), |s| line_with(s, &["deploy", "proposed"]));

    console.send("/deploy\r");
    console.send("a");
    console.send("A");
    let dialog =
        console.wait_for("the approval dialog", Duration::from_secs(10), |s| s.contains("Approve 1 change"));
    assert!(dialog.contains("deploy Todo Web"), "the dialog lists what will run:\n{dialog}");
    console.send("\t\r");
    console.wait_for("the deploy's result", Duration::from_secs(60), |s| {
        line_with(s, &["deploy", "done"]) || line_with(s, &["deploy", "failed"]) || s.contains("finished")
    });
    // A done change leaves the diffs pane at the next refresh; the journal pane keeps it.
    console.send("5");
    let journal = console.wait_for("the journal pane", Duration::from_secs(10), |s| {
        line_with(s, &["deploy Todo Web", "done"]) || line_with(s, &["deploy Todo Web", "failed"])
    });
    assert!(line_with(&journal, &["deploy Todo Web", "done"]), "the deploy ran:\n{journal}");
    console.send("4");

    // A delete (an over-provisioned extra whose target registered): a plain confirmation while
    // no more than confirm_over targets go (the one confirmation rule), opening on Cancel.
    console.send("/\x7f\x7f\x7f\x7f\x7f\x7fdelete\r");
    console.wait_for("a proposed delete", Duration::from_secs(90), |s| {
        line_with(s, &["delete-target", "proposed"])
    });
    console.send("aA");
    let dialog = console.wait_for("the approval dialog", Duration::from_secs(10), |s| s.contains("Approve "));
    let typed = dialog.contains("type `vmss-web` to confirm");
    // Enter: on Cancel it cancels; on the name field it only moves on. Esc always cancels.
    console.send("\x1b");
    console.wait_for("the dialog to close", Duration::from_secs(10), |s| s.contains("approval cancelled"));
    // The selection outlives a cancelled dialog: `A` alone asks again for the same changes.
    console.send("A");
    console.wait_for("the approval dialog", Duration::from_secs(10), |s| s.contains("Approve "));
    console.send(if typed { "vmss-web\t\r" } else { "\t\r" });
    console.wait_for("the delete's result", Duration::from_secs(60), |s| {
        ["done", "failed", "skipped"].iter().any(|status| line_with(s, &["delete-target", status]))
            || s.contains("finished")
    });
    console.send("5");
    let deleted = console.wait_for("the journal pane", Duration::from_secs(10), |s| {
        ["done", "failed", "skipped"].iter().any(|status| line_with(s, &["delete-target", status]))
    });
    assert!(line_with(&deleted, &["delete-target", "done"]), "the delete ran:\n{deleted}");

    let journal = std::fs::read_to_string(data.path().join("journal.jsonl")).expect("journal written");
    assert!(journal.contains("\"kind\":\"intent\""), "{journal}");
    assert!(journal.contains("\"kind\":\"result\""), "{journal}");
    assert!(!journal.contains("API-"), "no API key in the journal");
    let log = std::fs::read_to_string(data.path().join("scaleguard.log")).expect("log file written");
    assert!(log.contains("console started"), "{log}");

    // Secrets: nowhere in what the terminal received, the log, the journal or the history.
    let raw = console.raw();
    assert_eq!(find_secret(&raw), None, "a secret reached the terminal");
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(find_secret(&text), None, "a secret in {}", path.display());
    }

    let status = console.quit();
    assert!(status.success(), "exit status {status:?}");
}
