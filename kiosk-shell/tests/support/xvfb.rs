//! A virtual X display for window tests, shared by kiosk-shell's tests and the workspace's
//! (`tests/main.rs` includes this file by path): Xvfb on a display number it picks itself,
//! screenshots of the whole screen as RGB pixels, and child processes in process groups
//! that are killed with their group when dropped, on every path out of a test.
//!
//! Needs `Xvfb` and ImageMagick (`import`, `convert`): `scripts/install-deps.sh --test`.

#![allow(dead_code)] // each including test crate uses its own part of it

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The virtual screen's size: larger than an ordinary window (1280×800), so a screenshot
/// tells an ordinary window from one that covers the screen.
pub const SCREEN: (u32, u32) = (1600, 1000);

/// A child process group, killed when dropped.
pub struct Group {
    pub child: Child,
    pub name: &'static str,
}

impl Group {
    pub fn spawn(name: &'static str, command: &mut Command) -> Group {
        let child = command.process_group(0).spawn().unwrap_or_else(|e| {
            panic!("cannot start {name}: {e} (scripts/install-deps.sh --test)")
        });
        Group { child, name }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The whole group: Chromium's and WebKit's helper processes too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("stopped {}", self.name);
    }
}

/// Xvfb on a display number nobody uses.
pub struct Display {
    pub number: u32,
    _xvfb: Group,
}

impl Display {
    pub fn start() -> Display {
        let (w, h) = SCREEN;
        // -displayfd: Xvfb picks a free display number itself and writes it to the fd,
        // here its stdout, once it is ready to accept clients — no guessing, no races
        // between tests running in parallel.
        // -noreset: by default an X server resets whenever its last client leaves — here
        // each screenshot's `import` — and a window connecting during that reset can be
        // turned away: the likeliest cause of one CI run's "Failed to initialize gtk
        // backend!", never reproduced here. A test's display has no reason to reset.
        // Its complaints go to the test's own stderr, shown when the test fails.
        let mut xvfb = Group::spawn(
            "Xvfb",
            Command::new("Xvfb")
                .args(["-displayfd", "1", "-nolisten", "tcp", "-noreset"])
                .args(["-screen", "0", &format!("{w}x{h}x24")])
                .stdout(Stdio::piped()),
        );
        let stdout = xvfb.child.stdout.take().expect("Xvfb's stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read Xvfb's display number");
        let number = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not start (it said {line:?})"));
        Display {
            number,
            _xvfb: xvfb,
        }
    }

    /// `:N`, for `DISPLAY`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// The whole screen as a PNG (kept for looking at, in the test crate's temp dir) and
    /// as RGB pixels.
    pub fn screenshot(&self, name: &str) -> Screenshot {
        let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.name(), "-window", "root"])
            .arg(&png)
            .status()
            .expect("cannot run ImageMagick's import (scripts/install-deps.sh --test)");
        assert!(status.success(), "import failed: {status}");
        let rgb = Command::new("convert")
            .arg(&png)
            .arg("rgb:-")
            .output()
            .expect("cannot run ImageMagick's convert");
        assert!(rgb.status.success(), "convert failed");
        assert_eq!(rgb.stdout.len(), (SCREEN.0 * SCREEN.1 * 3) as usize);
        Screenshot {
            png,
            rgb: rgb.stdout,
        }
    }
}

/// One screenshot of the whole screen.
pub struct Screenshot {
    pub png: PathBuf,
    rgb: Vec<u8>,
}

impl Screenshot {
    /// The colour of one pixel.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * SCREEN.0 + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Share of the whole screen in exactly this colour.
    pub fn share(&self, rgb: [u8; 3]) -> f64 {
        self.share_in((0, 0), SCREEN, rgb)
    }

    /// Share of the rectangle from `top_left` (inclusive) to `bottom_right` (exclusive)
    /// in exactly this colour.
    pub fn share_in(&self, top_left: (u32, u32), bottom_right: (u32, u32), rgb: [u8; 3]) -> f64 {
        let (x0, y0) = top_left;
        let (x1, y1) = (bottom_right.0.min(SCREEN.0), bottom_right.1.min(SCREEN.1));
        let mut matching = 0u64;
        for y in y0..y1 {
            for x in x0..x1 {
                matching += u64::from(self.pixel(x, y) == rgb);
            }
        }
        matching as f64 / f64::from((x1 - x0) * (y1 - y0))
    }
}

/// Polls `done` until it holds or `limit` passes; says which.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(200));
    }
    done()
}
