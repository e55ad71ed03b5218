//! The console at 80×24 on a Flexible set: the ID column shows the VM name's 8-hex part, whole,
//! "unknown" where Azure reports nothing, the filter finds a VM by its name, and `p` explains why
//! protection cannot be set. The real binary runs `demo` in a pseudo-terminal.

use crate::support::pty::Console;
use std::time::Duration;

const ROWS: u16 = 24;
const COLS: u16 = 80;
const WITHIN: Duration = Duration::from_secs(30);

/// The 8-hex ids shown in the instances table (first cell of a row).
fn shown_ids(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|line| line.trim_start_matches(['│', '|', ' ']).split_whitespace().next())
        .filter(|cell| cell.len() == 8 && cell.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

#[test]
fn instances_of_a_flexible_set_read_and_filter_at_80_by_24() {
    let _shared = crate::ALONE.blocking_read();
    let data = tempfile::tempdir().unwrap();
    let data_dir = [("SCALEGUARD_DATA_DIR".to_string(), data.path().display().to_string())];
    let console = Console::start_sized(&["demo", "--scenario", "flex-scale-out"], &data_dir, COLS, ROWS);
    console.wait_for("the console", WITHIN, |s| s.contains("Instances") || s.contains("Diffs"));
    console.send("1");
    let screen = console.wait_for("two Flexible VMs", WITHIN, |s| shown_ids(s).len() >= 2);
    // At 80 columns the columns give way by priority (the set's own column first), never the id.
    assert!(
        screen.contains("ID") && screen.contains("COMPUTER NAME") && screen.contains("TARGET"),
        "{screen}"
    );
    let row = screen.lines().find(|line| line.contains(&shown_ids(&screen)[0])).unwrap().to_string();
    assert!(row.contains("flexweb"), "the computer name fits its column: {row}");
    assert!(row.contains("unknown"), "latest model and protection are unknown, not \"OLD\"/\"-\": {row}");
    assert!(screen.lines().all(|line| line.chars().count() <= COLS as usize));

    let wanted = shown_ids(&screen)[1].clone();
    console.send("/");
    console.send(&wanted);
    console.send("\r");
    let filtered = console
        .wait_for("the filter", WITHIN, |s| s.contains("filter:") && shown_ids(s) == vec![wanted.clone()]);
    assert!(filtered.contains(&format!("filter: {wanted}")), "{filtered}");
    assert!(filtered.contains("(1 of "), "the title counts what the filter keeps: {filtered}");
    // The row the cursor was on is filtered out: `j` selects the one left. `p` on it explains
    // why protection cannot be set and offers only Close.
    console.send("j");
    console.send("p");
    let refused = console.wait_for("the refusal", WITHIN, |s| s.contains("scale-in protection cannot"));
    assert!(refused.contains("[ Close ]") && !refused.contains("[ Protect ]"), "{refused}");
    console.send("\x1b");
    console.wait_for("the dialog to close", WITHIN, |s| !s.contains("[ Close ]"));
}
