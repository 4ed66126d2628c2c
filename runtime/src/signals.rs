//! Signals, one meaning per binary: a service stops on SIGTERM or SIGINT (Ctrl-C). The console
//! handles its own (SIGHUP there means the ssh session is gone).

/// Resolves when the process is asked to stop (SIGTERM or SIGINT).
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        // No SIGTERM handler can be installed: Ctrl-C still stops it.
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
