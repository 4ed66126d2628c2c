//! `atlctl logs`: a pod's log through its cluster's agent, as `kubectl logs` prints it, and
//! `-f` to follow it. Nothing outside a cluster connects into it, so a follow is a poll: every
//! second (the console: every two) a `pod_logs` from where the last one ended — its newest
//! line's stamp (`sinceTime`) — prints the lines not printed yet. [`Cursor`] is that bookkeeping,
//! shared with the console.

use std::collections::HashMap;
use std::time::Duration;

use atlhyper_model::CommandKind;

use crate::Session;
use crate::error::{CliError, Result};
use crate::exec::{LogsArgs, namespaced_target, submit};
use crate::get::write_out;

/// How often `logs -f` asks for new lines.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Where a follow stands: the newest stamp taken and how often each line was taken at that
/// stamp (a poll from it returns them again; a millisecond may hold many lines, some alike).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    at_ms: Option<i64>,
    at: HashMap<String, usize>,
}

/// A log line split from its `--timestamps` stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub ms: i64,
    /// The line as the container wrote it, without the stamp.
    pub text: String,
}

impl Cursor {
    /// The instant the next poll starts from (`sinceTime`).
    pub fn since_ms(&self) -> Option<i64> {
        self.at_ms
    }

    /// The lines of `output` (written with `--timestamps`) not taken before, oldest first;
    /// moves the cursor past them. A line without a stamp is taken as it is (at the cursor).
    pub fn take(&mut self, output: &str) -> Vec<Stamped> {
        let (before_ms, before) = (self.at_ms, self.at.clone());
        let mut again: HashMap<&str, usize> = HashMap::new();
        let mut fresh = Vec::new();
        for line in output.lines() {
            let (ms, text) = match split_stamp(line) {
                Some((ms, text)) => (ms, text),
                None => (self.at_ms.unwrap_or(i64::MIN), line),
            };
            if before_ms.is_some_and(|b| ms < b) {
                continue;
            }
            if Some(ms) == before_ms {
                let n = again.entry(line).or_default();
                *n += 1;
                if *n <= before.get(line).copied().unwrap_or(0) {
                    continue;
                }
            }
            if self.at_ms != Some(ms) {
                self.at_ms = Some(ms);
                self.at.clear();
            }
            *self.at.entry(line.to_owned()).or_default() += 1;
            fresh.push(Stamped {
                ms,
                text: text.to_owned(),
            });
        }
        fresh
    }
}

/// `2026-11-30T10:00:01.123456789Z rest` → (ms, `rest`).
fn split_stamp(line: &str) -> Option<(i64, &str)> {
    let (stamp, rest) = line.split_once(' ')?;
    let ts: jiff::Timestamp = stamp.parse().ok()?;
    Some((ts.as_millisecond(), rest))
}

/// `atlctl logs`.
///
/// # Errors
/// What the command or master answers, as [`CliError`].
pub async fn run(args: &LogsArgs, session: &Session) -> Result<()> {
    let is_pod = |word: &str| matches!(word, "pod" | "pods" | "po");
    let (namespace, name) =
        namespaced_target(&args.target, is_pod, args.namespace.as_deref(), session)?;
    let kind = |since_ms: Option<i64>, first: bool| CommandKind::PodLogs {
        namespace: namespace.clone(),
        name: name.clone(),
        container: args.container.clone(),
        tail_lines: args.tail.filter(|_| first),
        since_seconds: args
            .since
            .filter(|_| first)
            .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        since_ms,
        previous: args.previous,
        // A follow reads its cursor from the stamps (and prints them only if asked).
        timestamps: args.timestamps || args.follow,
    };
    if !args.follow {
        return crate::exec::run(kind(None, true), &args.options, None, session).await;
    }
    if args.options.no_wait || args.options.json {
        return Err(CliError::Usage(
            "-f prints lines as they come: not with --no-wait or --json".to_owned(),
        ));
    }
    let mut cursor = Cursor::default();
    let mut first = true;
    loop {
        let info = submit(kind(cursor.since_ms(), first), &args.options, session).await?;
        let output = info.output.unwrap_or_default();
        if info.status != atlhyper_model::CommandStatus::Succeeded {
            return Err(CliError::Failed(format!(
                "logs of {namespace}/{name}: {}",
                info.message.unwrap_or_else(|| info.status.to_string())
            )));
        }
        let mut out = String::new();
        for line in cursor.take(&output) {
            if args.timestamps {
                let stamp = jiff::Timestamp::from_millisecond(line.ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default();
                out.push_str(&stamp);
                out.push(' ');
            }
            out.push_str(&line.text);
            out.push('\n');
        }
        write_out(&out)?;
        first = false;
        // The previous run ends: nothing more will come.
        if args.previous {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_takes_each_line_once_across_polls_that_overlap_at_its_stamp() {
        let mut cursor = Cursor::default();
        let first = "2026-11-30T10:00:00.5Z a\n2026-11-30T10:00:01Z b\n2026-11-30T10:00:01Z c\n";
        let texts = |v: Vec<Stamped>| v.into_iter().map(|s| s.text).collect::<Vec<_>>();
        assert_eq!(texts(cursor.take(first)), ["a", "b", "c"]);
        assert_eq!(cursor.since_ms(), Some(1_796_032_801_000));
        // The next poll starts at the newest stamp: b and c again, then what is new.
        let second = "2026-11-30T10:00:01Z b\n2026-11-30T10:00:01Z c\n2026-11-30T10:00:01Z d\n\
                      2026-11-30T10:00:02.25Z e\n";
        assert_eq!(texts(cursor.take(second)), ["d", "e"]);
        assert_eq!(cursor.since_ms(), Some(1_796_032_802_250));
        assert!(cursor.take("2026-11-30T10:00:02.25Z e\n").is_empty());
        // Nanoseconds as the kubelet writes them; a line with no stamp is kept.
        assert_eq!(
            texts(cursor.take("2026-11-30T10:00:03.123456789Z f g\nno stamp\n")),
            ["f g", "no stamp"]
        );
        // The same line twice in one millisecond is two lines; polled again, neither repeats.
        let twice = "2026-11-30T10:00:04Z same\n2026-11-30T10:00:04Z same\n";
        assert_eq!(texts(cursor.take(twice)), ["same", "same"]);
        assert!(cursor.take(twice).is_empty());
        assert_eq!(
            texts(cursor.take(&format!("{twice}2026-11-30T10:00:04Z same\n"))),
            ["same"]
        );
    }
}
