//! Signals, one meaning per binary: a service stops on SIGTERM or SIGINT (Ctrl-C) and reloads
//! what it can reload on SIGHUP (master's rules and notification config, once they exist) —
//! never dies of it, as SIGHUP's default would have it. The console handles its own (SIGHUP
//! there means the ssh session is gone).

use tokio::signal::unix::{SignalKind, signal};

/// Resolves when the process is asked to stop (SIGTERM or SIGINT); a SIGHUP meanwhile is
/// logged as having nothing to reload.
pub async fn terminated() {
    until_terminated(|| tracing::info!("SIGHUP: nothing here reloads; carrying on")).await;
}

/// Resolves when the process is asked to stop (SIGTERM or SIGINT), calling `reload` on each
/// SIGHUP until then.
pub async fn until_terminated(mut reload: impl FnMut()) {
    let mut hangup = signal(SignalKind::hangup()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            Some(()) = async { term.as_mut()?.recv().await } => return,
            Some(()) = async { hangup.as_mut()?.recv().await } => reload(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn sighup_reloads_and_sigterm_stops() {
        let reloads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reloads);
        let waiting = tokio::spawn(super::until_terminated(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        // The handlers are in place once the task has run.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let pid = std::process::id().to_string();
        let kill = |signal: &str| {
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .expect("kill");
        };
        kill("-HUP");
        kill("-HUP");
        for _ in 0..50 {
            if reloads.load(Ordering::SeqCst) >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(reloads.load(Ordering::SeqCst) >= 1, "SIGHUP did not reload");
        assert!(!waiting.is_finished(), "SIGHUP stopped it");
        kill("-TERM");
        tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .expect("SIGTERM stops it")
            .expect("no panic");
    }
}
