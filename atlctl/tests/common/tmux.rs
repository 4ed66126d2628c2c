//! A terminal for the tests: a tmux server per use (a new session on a socket whose server is
//! still exiting fails), keys sent as a user types them, the screen read back.

use std::process::Output;
use std::time::Duration;

use super::wait_for;

/// A tmux server of its own, with one session running `script`.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// `size` is the terminal's (columns, rows).
    pub fn new(name: &str, script: &str, size: (u16, u16)) -> Tmux {
        let tmux = Tmux {
            socket: format!("atlctl-{name}-{}", std::process::id()),
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
    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        assert!(self.run(&args).status.success());
    }

    /// Waits until the screen satisfies `check`; panics with the screen if it never does.
    pub async fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let mut screen = String::new();
        let seen = wait_for(Duration::from_secs(30), async || {
            screen = self.screen();
            check(&screen)
        })
        .await;
        assert!(seen, "never saw {what}:\n{screen}");
        screen
    }

    pub fn server_pid(&self) -> u32 {
        let out = self.run(&["display-message", "-p", "#{pid}"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("tmux's pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
