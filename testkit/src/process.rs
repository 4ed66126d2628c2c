//! Measuring and running processes: what `/proc` says of one (CPU seconds, resident memory),
//! and [`Program`], a binary started in its own process group that prints its URL first and is
//! killed with its whole group when dropped.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;

/// The process a `/proc` reading is about.
#[derive(Debug, Clone, Copy)]
pub enum Pid {
    /// This test or bench process.
    This,
    /// Another process.
    Of(u32),
}

impl Pid {
    fn dir(self) -> String {
        match self {
            Pid::This => "/proc/self".to_owned(),
            Pid::Of(pid) => format!("/proc/{pid}"),
        }
    }
}

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`…) in KiB; `None` once it has exited.
pub fn status_kib(pid: Pid, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("{}/status", pid.dir()))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident memory now, in MiB (0 once it has exited).
pub fn rss_mib(pid: Pid) -> f64 {
    status_kib(pid, "VmRSS:").unwrap_or(0) as f64 / 1024.0
}

/// Peak resident memory so far (the kernel's high-water mark), in MiB (0 once it has exited).
pub fn peak_rss_mib(pid: Pid) -> f64 {
    status_kib(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
}

/// User + system CPU time used so far, in seconds (0 once it has exited).
pub fn cpu_seconds(pid: Pid) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("{}/stat", pid.dir())) else {
        return 0.0;
    };
    // The command name may hold spaces and parentheses: fields are counted after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// Whether the process has exited (gone, or a zombie its parent has not reaped).
pub fn exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(") ").map(|(_, r)| r.starts_with('Z')) == Some(true)
    })
}

fn clock_ticks() -> f64 {
    static HZ: OnceLock<f64> = OnceLock::new();
    *HZ.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A program under test: started in its own process group (so a wrapper such as `faketime`
/// goes with it), its first stdout line read (master, the agent and kubesim print their URL
/// there), killed with its group when dropped.
pub struct Program {
    child: Child,
    /// The first line it printed, trimmed.
    pub first_line: String,
}

impl Program {
    /// Spawns `command` (stdout piped; stderr as the caller set it) and waits up to a minute
    /// for its first line.
    ///
    /// # Panics
    /// When it does not start or prints nothing: the run cannot go on.
    pub async fn start(mut command: Command) -> Program {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout = tokio::process::ChildStdout::from_std(stdout).expect("a tokio runtime");
        let mut line = String::new();
        let read = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await;
        assert!(
            matches!(read, Ok(Ok(n)) if n > 0),
            "{command:?} printed no first line: {read:?}"
        );
        Program {
            child,
            first_line: line.trim().to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its `/proc` entry, for [`cpu_seconds`], [`rss_mib`], [`peak_rss_mib`].
    pub fn proc(&self) -> Pid {
        Pid::Of(self.child.id())
    }

    /// Kills it with its whole group; whether the group emptied (see
    /// [`crate::kill_process_group`]).
    pub fn stop(mut self) -> bool {
        crate::kill_process_group(&mut self.child)
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        crate::kill_process_group(&mut self.child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_readings_of_this_process_and_of_one_that_exited() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(cpu_seconds(Pid::This) > 0.0);
        assert!(rss_mib(Pid::This) > 1.0);
        assert!(peak_rss_mib(Pid::This) >= rss_mib(Pid::This));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // A zombie until reaped, gone after: exited either way.
        std::thread::sleep(Duration::from_millis(50));
        assert!(exited(pid));
        child.wait().unwrap();
        assert!(exited(pid));
        assert!(!exited(std::process::id()));
        assert_eq!(cpu_seconds(Pid::Of(pid)), 0.0);
    }
}
