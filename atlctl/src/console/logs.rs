//! A pod's log in the console, followed as k9s follows it. The agent is the cluster's only way
//! out, so following is polling through the command pipeline: every [`POLL_EVERY`] while the
//! log is on screen and following, one `pod_logs` from where the last one ended (its newest
//! stamp); one poll out at a time, none while paused or once the screen is closed. The lines
//! kept are bounded ([`KEPT`]); `f` pauses and resumes, `p` shows the previous run.

use atlhyper_model::CommandKind;
use atlhyper_model::api::CommandInfo;

use super::app::{Action, App, Effect, Screen, TextScreen};
use super::rows::{RowId, Tone};
use crate::logs::Cursor;

/// Lines a log opens with.
const FIRST_LINES: u32 = 500;
/// How often a followed log asks for new lines.
pub const POLL_EVERY_MS: i64 = 2_000;
/// Lines kept on screen; older ones go.
pub const KEPT: usize = 20_000;

/// Where a pod's log comes from and how far it has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFollow {
    pub cluster: String,
    pub namespace: String,
    pub pod: String,
    /// The run before the current one (a snapshot: it does not grow).
    pub previous: bool,
    /// New lines are asked for (`f` pauses).
    pub on: bool,
    pub cursor: Cursor,
    /// A poll is out (its answer comes as a command's output).
    pub polling: bool,
    pub last_poll_ms: i64,
}

impl LogFollow {
    /// What the title says of it: following, paused, or the previous run.
    pub fn state(&self) -> &'static str {
        if self.previous {
            "previous run"
        } else if self.on {
            "following"
        } else {
            "paused"
        }
    }

    fn kind(&self, first: bool) -> CommandKind {
        CommandKind::PodLogs {
            namespace: self.namespace.clone(),
            name: self.pod.clone(),
            container: None,
            tail_lines: first.then_some(FIRST_LINES),
            since_seconds: None,
            since_ms: if first { None } else { self.cursor.since_ms() },
            previous: self.previous,
            timestamps: true,
        }
    }
}

/// Opens the log of a pod (its previous run with `previous`), following it.
pub fn open(app: &mut App, id: &RowId, previous: bool) -> Vec<Effect> {
    let follow = LogFollow {
        cluster: id.cluster.clone(),
        namespace: id.namespace.clone().unwrap_or_default(),
        pod: id.name.clone(),
        previous,
        on: !previous,
        cursor: Cursor::default(),
        polling: false,
        last_poll_ms: app.term.now_ms,
    };
    let kind = follow.kind(true);
    let title = format!(
        "logs {}{}",
        id.target(),
        if previous { " (previous)" } else { "" }
    );
    let effects = super::input::run_for_text(app, id.cluster.clone(), kind, title);
    if let Some(Screen::Text(text)) = app.screens.last_mut() {
        text.follow = Some(follow);
    }
    effects
}

/// `f` and `p` on a log.
pub fn key(app: &mut App, action: &Action) -> Vec<Effect> {
    let Some(Screen::Text(TextScreen {
        follow: Some(follow),
        ..
    })) = app.screens.last_mut()
    else {
        return Vec::new();
    };
    match action {
        Action::Follow if !follow.previous => {
            follow.on = !follow.on;
            let state = follow.state();
            app.set_status(format!("logs: {state}"), Tone::Normal);
            Vec::new()
        }
        Action::Previous => {
            let id = RowId {
                cluster: follow.cluster.clone(),
                namespace: Some(follow.namespace.clone()),
                name: follow.pod.clone(),
            };
            let previous = !follow.previous;
            app.screens.pop();
            open(app, &id, previous)
        }
        _ => Vec::new(),
    }
}

impl App {
    /// The shown log's next poll, when it is due.
    pub(super) fn poll_logs(&mut self) -> Vec<Effect> {
        let now = self.term.now_ms;
        let Some(Screen::Text(text)) = self.screens.last_mut() else {
            return Vec::new();
        };
        let Some(follow) = &mut text.follow else {
            return Vec::new();
        };
        if !follow.on
            || follow.polling
            || text.waiting_for.is_some()
            || now - follow.last_poll_ms < POLL_EVERY_MS
        {
            return Vec::new();
        }
        follow.polling = true;
        follow.last_poll_ms = now;
        text.waiting_for = Some(String::new());
        vec![Effect::Command {
            cluster: follow.cluster.clone(),
            kind: follow.kind(false),
        }]
    }
}

/// Whether a queued command is a log's poll (its queueing is not news to the user).
pub fn is_poll(text: &TextScreen) -> bool {
    text.follow.as_ref().is_some_and(|f| f.polling)
}

/// A log's command answered: its new lines are added (the first answer fills the screen), and
/// a screen at its end stays at its end.
pub fn arrived(text: &mut TextScreen, info: &CommandInfo, page: usize) {
    let shown = text.shown().len();
    let at_end = text.scroll + page >= shown;
    let Some(follow) = &mut text.follow else {
        return;
    };
    let first = !follow.polling;
    follow.polling = false;
    let Some(output) = info
        .output
        .as_deref()
        .filter(|_| info.status == atlhyper_model::CommandStatus::Succeeded)
    else {
        // The pod went, or the agent refused: the log stays as it was, paused.
        follow.on = false;
        let why = info
            .message
            .clone()
            .unwrap_or_else(|| info.status.to_string());
        if first {
            text.lines = vec![format!("{}: {why}", info.status)];
        } else {
            text.lines.push(format!("-- paused: {why}"));
        }
        return;
    };
    let fresh = follow.cursor.take(output);
    // The console draws text itself: nothing in it may act on the terminal.
    text.lines.extend(
        fresh
            .iter()
            .map(|line| crate::text::printable_lines(&line.text)),
    );
    if text.lines.len() > KEPT {
        let gone = text.lines.len() - KEPT;
        text.lines.drain(..gone);
        text.scroll = text.scroll.saturating_sub(gone);
    }
    if first || at_end {
        // Logs open at their end, as `kubectl logs` leaves you, and follow it.
        text.scroll = text.shown().len().saturating_sub(page);
    }
}
