//! The real console in a pseudo-terminal: what it drew, every byte it wrote, and keys to send.

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 40;
const COLS: u16 = 140;

pub struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the console wrote, escapes included.
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
}

impl Console {
    /// The scaleguard binary with `args` and `envs` (on top of this process's environment) in a
    /// 140×40 terminal.
    pub fn start(args: &[&str], envs: &[(String, String)]) -> Console {
        Console::start_sized(args, envs, COLS, ROWS)
    }

    /// `start` in a terminal of `cols` × `rows`.
    pub fn start_sized(args: &[&str], envs: &[(String, String)], cols: u16, rows: u16) -> Console {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_scaleguard"));
        command.args(args);
        command.env("TERM", "xterm-256color");
        // Colours whatever the host sets; a test that wants none says so in `envs`.
        command.env_remove("NO_COLOR");
        for (name, value) in envs {
            command.env(name, value);
        }
        let child = pair.slave.spawn_command(command).expect("spawn scaleguard");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (screen, answer, captured) = (parser.clone(), writer.clone(), raw.clone());
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
                captured.lock().unwrap().extend_from_slice(chunk);
                screen.lock().unwrap().process(chunk);
            }
        });
        Console { parser, raw, writer, child }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Everything written to the terminal so far, escapes included.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }

    pub fn send(&self, keys: &str) {
        for byte in keys.as_bytes() {
            self.writer.lock().unwrap().write_all(&[*byte]).expect("write to the pty");
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    pub fn wait_for(&self, what: &str, within: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Quit with `q` and wait for the process to end (so its log is flushed); how it ended.
    /// While a job's last step is still in flight the console asks first ("Still running"): on a
    /// loaded machine that can outlast what the test waited for, so the question is declined and
    /// `q` asked again until nothing runs (never "quit now").
    pub fn quit(mut self) -> portable_pty::ExitStatus {
        self.send("q");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if self.screen().contains("Still running:") {
                self.send("\x1b");
                std::thread::sleep(Duration::from_millis(500));
                self.send("q");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the console did not quit on `q`; the screen:\n{}", self.screen());
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
