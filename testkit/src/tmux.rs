//! A real terminal for the console's tests and benches: a tmux server per use (a new session
//! on a socket whose server is still exiting fails), keys sent as a user types them, the screen
//! read back.

use std::process::Output;
use std::time::{Duration, Instant};

/// A tmux server of its own, with one session (`t`) running `script`.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// `size` is the terminal's (columns, rows).
    ///
    /// # Panics
    /// When tmux cannot start the session.
    pub fn new(name: &str, script: &str, size: (u16, u16)) -> Tmux {
        let tmux = Tmux {
            socket: format!("atlhyper-{name}-{}", std::process::id()),
        };
        let (columns, rows) = (size.0.to_string(), size.1.to_string());
        let started = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &columns,
            "-y",
            &rows,
            script,
        ]);
        assert!(started.status.success(), "{started:?}");
        tmux
    }

    /// Runs a tmux command on this server.
    ///
    /// # Panics
    /// When tmux is missing (`scripts/test` installs it).
    pub fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (scripts/test installs it)")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Types `keys` (tmux key names, e.g. `Enter`, `Escape`, or literal text).
    ///
    /// # Panics
    /// When tmux refuses them.
    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        assert!(self.run(&args).status.success());
    }

    /// Waits (up to 30 s) until the screen satisfies `check`.
    ///
    /// # Panics
    /// With the screen, if it never does.
    pub async fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        let seen = crate::wait_for(Duration::from_secs(30), async || {
            screen = self.screen();
            check(&screen)
        })
        .await;
        assert!(seen, "never saw {what}:\n{screen}");
        screen
    }

    /// Looks at the screen every 2 ms until it satisfies `check`; how long that took (for
    /// benches: the screen as soon as it changes).
    ///
    /// # Panics
    /// With the screen, after `timeout`.
    pub fn time_until(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if check(&screen) {
                return started.elapsed();
            }
            assert!(started.elapsed() < timeout, "never saw {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The tmux server's pid.
    ///
    /// # Panics
    /// When tmux does not say.
    pub fn server_pid(&self) -> u32 {
        self.display("#{pid}")
    }

    /// The pid of the process the session runs (the shell, or what it exec'd).
    ///
    /// # Panics
    /// When tmux does not say.
    pub fn pane_pid(&self) -> u32 {
        self.display("#{pane_pid}")
    }

    fn display(&self, format: &str) -> u32 {
        let out = self.run(&["display-message", "-p", "-t", "t", format]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a pid from tmux")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
