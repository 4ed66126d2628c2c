//! The console: `atlctl` on a terminal. Plain state ([`app::App`]) changed only by
//! [`app::App::update`] (keys) and [`app::App::receive`] (the network's messages); drawing
//! ([`views::draw`]) only reads it. The network runs on its own tasks ([`net`]): master's live
//! stream and the loads and commands `update` asks for. Drawing never polls: a frame is drawn when
//! something changed, at most every [`FRAME`].
//!
//! Choices made where k9s users expect something and the design decides how: Esc goes back one
//! level, always; `q` closes what is open and quits only from the top (`atlctl demo` asks
//! first, Ctrl-C never does); a log follows by polling through the command pipeline every two
//! seconds (nothing connects into a cluster; see [`logs`]); restarting a pod a controller
//! recreates asks for `y` as k9s does (`--restart-by-name` for the typed name every other
//! change asks for); `/` takes a regex when what is typed is one; columns that tell what a row
//! is about stay and long names are cut in the middle before one goes.

pub mod app;
mod changes;
pub mod filter;
mod input;
pub mod keys;
pub mod logs;
mod messages;
pub mod net;
pub mod nodes;
mod receive;
pub mod rows;
mod screens;
mod usage;
pub mod views;

use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Session;
use crate::error::{CliError, Result};
use crate::get::now_ms;
use crate::kinds::Resource;
use app::{Action, App, Scope};

/// The shortest time between two frames (a burst of changes is drawn once).
pub const FRAME: Duration = Duration::from_millis(50);

/// The most messages applied before the rows are built and keys are read again.
const BURST: usize = 256;

/// How the console opens.
#[derive(Debug, Clone)]
pub struct Options {
    pub first: Resource,
    pub flags: crate::cli::ConsoleFlags,
    pub scope: Scope,
    /// `q` and `:q` ask before quitting (the demo: quitting stops the stack).
    pub ask_before_quit: bool,
}

/// glibc raises its mmap threshold to the size of each big buffer freed, so after the first
/// 10 MB list every later one comes from the heap and stays in RSS once freed. A fixed
/// threshold keeps big buffers mmapped (returned on free), and two arenas bound what the
/// runtime's threads hold.
// The workspace denies unsafe code; glibc's allocator knobs have no safe binding.
#[allow(unsafe_code)]
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before the console allocates
    // its lists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands the heap's free pages back after a big list replaced the previous one.
#[allow(unsafe_code)]
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Opens the console on this terminal until `q`, Ctrl-C, SIGHUP (the ssh session went away)
/// or SIGTERM; the terminal is restored on every way out, a panic included.
///
/// # Errors
/// [`CliError`] when master cannot be reached or refuses the token before the console opens,
/// or when the terminal cannot be set up.
pub async fn run(session: &Session, options: Options) -> Result<()> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "the console needs a terminal; for scripts use a subcommand (atlctl get, top --once, …)"
                .to_owned(),
        ));
    }
    tune_allocator();
    let who = session.client.whoami().await?;
    let viewer = who.role == atlhyper_model::api::Role::Viewer;
    let mut app = App::new(
        session.client.server().to_owned(),
        format!("{} ({})", who.name, who.role.as_str()),
        options.flags.readonly || viewer,
        options.first,
    );
    app.term.color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    app.scope = options.scope;
    app.settings.ask_before_quit = options.ask_before_quit;
    app.settings.restart_by_name = options.flags.restart_by_name;
    app.term.now_ms = now_ms();

    let mut signals = (
        signal(SignalKind::hangup()).map_err(|e| CliError::Failed(format!("signals: {e}")))?,
        signal(SignalKind::terminate()).map_err(|e| CliError::Failed(format!("signals: {e}")))?,
    );
    let mut terminal = ratatui::try_init()
        .map_err(|e| CliError::Failed(format!("cannot set up the terminal: {e}")))?;
    let stop = CancellationToken::new();
    let result = event_loop(session, &mut app, &mut terminal, &mut signals, &stop).await;
    stop.cancel();
    ratatui::restore();
    result
}

async fn event_loop(
    session: &Session,
    app: &mut App,
    terminal: &mut ratatui::DefaultTerminal,
    (hangup, terminate): &mut (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
    stop: &CancellationToken,
) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(net::follow(
        session.client.clone(),
        tx.clone(),
        stop.clone(),
    ));
    let size = terminal
        .size()
        .map_err(|e| CliError::Failed(format!("terminal: {e}")))?;
    app.update(Action::Resize(size.width, size.height));
    // The lists are loaded once the stream is open (`Msg::StreamUp`): a change between a list
    // and the subscription would otherwise be missed, and listing before it too means listing
    // everything twice.
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut drawn = Instant::now() - FRAME;
    while !app.term.quit {
        let wait = FRAME.saturating_sub(drawn.elapsed());
        if dirty && wait.is_zero() {
            terminal
                .draw(|frame| views::draw(app, frame))
                .map_err(|e| CliError::Failed(format!("terminal: {e}")))?;
            dirty = false;
            drawn = Instant::now();
        }
        let effects = tokio::select! {
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) => {
                    app.term.now_ms = now_ms();
                    let mut effects = Vec::new();
                    for key in keys::split_alt(key) {
                        if let Some(action) = keys::action(app, key) {
                            dirty = true;
                            effects.extend(app.update(action));
                        }
                    }
                    effects
                }
                Some(Ok(TermEvent::Resize(w, h))) => {
                    dirty = true;
                    app.update(Action::Resize(w, h))
                }
                Some(Ok(_)) => Vec::new(),
                // The terminal is gone (an ssh drop closes the pty): leave.
                Some(Err(_)) | None => break,
            },
            Some(msg) = rx.recv() => {
                app.term.now_ms = now_ms();
                dirty = true;
                let big = |msg: &app::Msg| {
                    matches!(
                        msg,
                        app::Msg::Loaded(_, app::Loaded::Pods(_) | app::Loaded::Events(_))
                    )
                };
                let mut freed = big(&msg);
                let mut effects = app.absorb(msg);
                // What else has come (a churning cluster's deltas) is applied with it and the
                // rows are built once.
                for _ in 0..BURST {
                    let Ok(msg) = rx.try_recv() else { break };
                    freed |= big(&msg);
                    effects.extend(app.absorb(msg));
                }
                app.settle();
                if freed {
                    release_freed_memory();
                }
                effects
            }
            _ = clock.tick() => {
                // Ages and each cluster's freshness move on.
                dirty = true;
                app.update(Action::Tick(now_ms()))
            }
            () = tokio::time::sleep(wait), if dirty => Vec::new(),
            _ = hangup.recv() => break,
            _ = terminate.recv() => break,
        };
        for effect in effects {
            net::run(&session.client, effect, &tx);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
