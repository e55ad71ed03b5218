//! The console at 80×24 on a Flexible set: the ID column shows the VM name's 8-hex part, whole,
//! "unknown" where Azure reports nothing, the filter finds a VM by its name, and `p` explains why
//! protection cannot be set. The real binary runs `demo` in a pseudo-terminal.

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 24;
const COLS: u16 = 80;

struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
}

impl Console {
    fn start(args: &[&str], data_dir: &std::path::Path) -> Console {
        let pair = native_pty_system()
            .openpty(PtySize { rows: ROWS, cols: COLS, pixel_width: 0, pixel_height: 0 })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_scaleguard"));
        command.args(args);
        command.env("SCALEGUARD_DATA_DIR", data_dir);
        command.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(command).expect("spawn scaleguard");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let (screen, answer) = (parser.clone(), writer.clone());
        std::thread::spawn(move || {
            let _master = pair.master;
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let chunk = &buffer[..n];
                // crossterm may ask where the cursor is and gives up without an answer.
                if chunk.windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.lock().unwrap().write_all(b"\x1b[1;1R");
                }
                screen.lock().unwrap().process(chunk);
            }
        });
        Console { parser, writer, child }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn send(&self, text: &str) {
        for byte in text.as_bytes() {
            self.writer.lock().unwrap().write_all(&[*byte]).expect("write to the pty");
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

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
    let data = tempfile::tempdir().unwrap();
    let console = Console::start(&["demo", "--scenario", "flex-scale-out"], data.path());
    console.wait_for("the console", |s| s.contains("Instances") || s.contains("Diffs"));
    console.send("1");
    let screen = console.wait_for("two Flexible VMs", |s| shown_ids(s).len() >= 2);
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
    let filtered =
        console.wait_for("the filter", |s| s.contains("filter:") && shown_ids(s) == vec![wanted.clone()]);
    assert!(filtered.contains(&format!("filter: {wanted}")), "{filtered}");
    assert!(filtered.contains("(1 of "), "the title counts what the filter keeps: {filtered}");
    // The row the cursor was on is filtered out: `j` selects the one left. `p` on it explains
    // why protection cannot be set and offers only Close.
    console.send("j");
    console.send("p");
    let refused = console.wait_for("the refusal", |s| s.contains("scale-in protection cannot"));
    assert!(refused.contains("[ Close ]") && !refused.contains("[ Protect ]"), "{refused}");
    console.send("\x1b");
    console.wait_for("the dialog to close", |s| !s.contains("[ Close ]"));
}
