//! The control loop: long-polls master for commands over the agent's own outbound connection,
//! runs each at most once (concurrently, within a bound), and acks each as soon as it is done.
//! The cluster has its own say: an allow-list of kinds and protected namespaces.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use atlhyper_model::codec;
use atlhyper_model::{Ack, AckBatch, Command, CommandKind, CommandSet, WatchRequest};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::operator::{self, Outcome};
use crate::push::BACKOFF;
use atlhyper_runtime::http::{self, Auth, HttpError, Post};

/// What the cluster allows.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Kinds that may run (`restart_pod`, …); empty: every kind.
    pub allow: Vec<String>,
    /// Namespaces where nothing is changed (reads still run).
    pub protected: Vec<String>,
    /// Most replicas a `scale` may set.
    pub max_replicas: u32,
    /// Who sees config-map values in a describe.
    pub configmap_values: ConfigMapValues,
}

/// Who sees config-map values in a `describe` (and, later, what a diagnosis may read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConfigMapValues {
    /// Every role, viewers too.
    Everyone,
    /// Operators and admins; viewers see keys and sizes.
    Operators,
    /// Nobody: keys and sizes only.
    Nobody,
}

impl ConfigMapValues {
    /// Whether a command asked for by `role` may see values.
    pub fn shown_to(self, role: Option<atlhyper_model::api::Role>) -> bool {
        use atlhyper_model::api::Role;
        match self {
            ConfigMapValues::Everyone => true,
            ConfigMapValues::Operators => role.is_some_and(|r| r >= Role::Operator),
            ConfigMapValues::Nobody => false,
        }
    }
}

impl Policy {
    /// Why the command may not run here, if it may not.
    pub fn refuses(&self, command: &Command) -> Option<String> {
        let kind = command.kind.name();
        if !self.allow.is_empty() && !self.allow.iter().any(|a| a == kind) {
            return Some(format!(
                "this cluster's agent does not allow `{kind}` (allowed: {})",
                self.allow.join(", ")
            ));
        }
        if let CommandKind::Scale { replicas, .. } = &command.kind
            && *replicas > self.max_replicas
        {
            return Some(format!(
                "{replicas} replicas is more than this cluster's agent allows (--max-replicas {})",
                self.max_replicas
            ));
        }
        if !command.kind.is_read_only()
            && let Some(ns) = command.kind.namespace()
            && self.protected.iter().any(|p| p == ns)
        {
            return Some(format!(
                "namespace `{ns}` is protected on this cluster: nothing there is changed"
            ));
        }
        None
    }
}

/// The ids (and idempotency keys) of commands this agent started: never started twice. Kept
/// in memory (bounded) and, with a state file, across restarts: each id is written there
/// before its command runs.
///
/// The log also names the agent's session, the run master delivers to. Without a state file
/// every run is a new session, so master settles what an earlier run was given as `unknown`
/// rather than hand it over again. With one, the session is kept in the file: a restarted
/// agent is the same session, is handed what it was given, and this log tells what it started.
pub struct DoneLog {
    session: String,
    ids: HashSet<String>,
    keys: HashMap<String, String>,
    order: VecDeque<(String, String)>,
    cap: usize,
    file: Option<PathBuf>,
    /// Loaded from the file: started by an earlier run of the agent, results unknown.
    earlier: HashSet<String>,
    /// Lines in the file.
    lines: usize,
}

impl DoneLog {
    /// Reads the state file if there is one.
    ///
    /// # Errors
    /// Creating a state file that does not exist yet (with its session).
    pub fn open(file: Option<PathBuf>, cap: usize) -> std::io::Result<Self> {
        let mut log = DoneLog {
            session: String::new(),
            ids: HashSet::new(),
            keys: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            file,
            earlier: HashSet::new(),
            lines: 0,
        };
        if let Some(path) = &log.file
            && let Ok(text) = std::fs::read_to_string(path)
        {
            for line in text.lines() {
                log.lines += 1;
                if let Some(session) = line.strip_prefix(SESSION_LINE) {
                    log.session = session.to_owned();
                } else if let Some((id, key)) = line.split_once(' ') {
                    log.remember(id.to_owned(), key.to_owned());
                    log.earlier.insert(id.to_owned());
                }
            }
        }
        if log.session.is_empty() {
            log.session = new_session();
            if log.file.is_some() {
                log.compact()?;
            }
        }
        Ok(log)
    }

    /// The agent's session (see the type's docs).
    pub fn session(&self) -> &str {
        &self.session
    }

    fn remember(&mut self, id: String, key: String) {
        if self.ids.insert(id.clone()) {
            self.keys.insert(key.clone(), id.clone());
            self.order.push_back((id, key));
        }
        while self.order.len() > self.cap {
            if let Some((id, key)) = self.order.pop_front() {
                self.ids.remove(&id);
                self.earlier.remove(&id);
                if self.keys.get(&key) == Some(&id) {
                    self.keys.remove(&key);
                }
            }
        }
    }

    /// Whether the id was started before, or another id under the same key was.
    pub fn seen(&self, command: &Command) -> Option<String> {
        if self.ids.contains(&command.id) {
            return Some(command.id.clone());
        }
        self.keys.get(&command.idempotency_key).cloned()
    }

    /// Records a start, on disk first when there is a file.
    ///
    /// # Errors
    /// Writing the file: the command must not run then.
    pub fn start(&mut self, command: &Command) -> std::io::Result<()> {
        if let Some(path) = &self.file {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            writeln!(file, "{} {}", command.id, command.idempotency_key)?;
            file.sync_data()?;
            self.lines += 1;
        }
        self.remember(command.id.clone(), command.idempotency_key.clone());
        // Compacted now and then, so the file stays within twice the bound.
        if self.file.is_some() && self.lines > 2 * self.cap {
            self.compact()?;
            self.lines = self.order.len();
        }
        Ok(())
    }

    fn compact(&self) -> std::io::Result<()> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let mut text = format!("{SESSION_LINE}{}\n", self.session);
        for (id, key) in &self.order {
            text.push_str(&format!("{id} {key}\n"));
        }
        // Durable before it replaces the log, and the rename durable too: a crash leaves
        // either the old log or the whole new one.
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    pub fn started_by_an_earlier_run(&self, id: &str) -> bool {
        self.earlier.contains(id)
    }
}

/// Master's `/control/*`.
pub struct Control {
    pub http: reqwest::Client,
    pub base: String,
    pub auth: Auth,
    pub cluster_id: String,
    /// The agent's session ([`DoneLog::session`]), named in every poll: master settles
    /// commands delivered to an earlier session as `unknown` instead of handing them to this one.
    pub session: String,
}

/// How the state file names the session (ids never contain a `:`).
const SESSION_LINE: &str = "session: ";

/// A new session id: random, so a restarted pod (or process) is told from the one before it
/// whatever its clock says.
fn new_session() -> String {
    use rand::{Rng as _, SeedableRng as _};
    let id: u64 = rand::rngs::StdRng::from_os_rng().random();
    format!("{id:016x}")
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    /// Unreachable or answering 5xx/429; how long it asked to be left alone, if it said.
    #[error("master unavailable: {0}")]
    Unavailable(String, Option<Duration>),
    /// 401/403: wrong token or cluster; waiting longer before trying again.
    #[error("master refused the poll: {0}")]
    Refused(String),
}

/// How long to wait before polling again after `e`, the `failures`-th failure in a row.
fn poll_wait(e: &PollError, failures: u32) -> Duration {
    match e {
        PollError::Refused(_) => Duration::from_secs(30),
        // Master asked to be left alone this long (503/429 with Retry-After): as asked.
        PollError::Unavailable(_, Some(after)) => *after,
        PollError::Unavailable(_, None) => BACKOFF.delay(failures),
    }
}

impl Control {
    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<reqwest::Response, HttpError> {
        let url = format!("{}{path}", self.base);
        http::post(
            &self.http,
            Post::json(&url, body, &self.auth).timeout(timeout),
        )
        .await
    }

    async fn poll(&self, rv: u64, hold: Duration) -> Result<Option<CommandSet>, PollError> {
        let body = codec::encode_json(&WatchRequest {
            cluster_id: self.cluster_id.clone(),
            rv,
            session: Some(self.session.clone()),
        });
        // Master holds the poll up to its own limit (30 s by default); allow for it.
        let response = match self
            .post("/control/watch", body, hold + Duration::from_secs(30))
            .await
        {
            Ok(response) => response,
            Err(
                e @ HttpError::Status {
                    status: 401 | 403, ..
                },
            ) => {
                return Err(PollError::Refused(e.to_string()));
            }
            Err(e) => {
                let after = match &e {
                    HttpError::Status { retry_after, .. } => *retry_after,
                    HttpError::Unreachable(_) => None,
                };
                return Err(PollError::Unavailable(e.to_string(), after));
            }
        };
        if response.status().as_u16() == 204 {
            return Ok(None);
        }
        response
            .json::<CommandSet>()
            .await
            .map(Some)
            .map_err(|e| PollError::Unavailable(format!("unreadable command set: {e}"), None))
    }

    /// Sends one result; `Ok(false)` when master refused it for good (unknown, other
    /// cluster, never delivered): retrying would not help.
    async fn ack(&self, ack: &Ack) -> Result<bool, String> {
        let body = codec::encode_json(&AckBatch {
            cluster_id: self.cluster_id.clone(),
            results: vec![ack.clone()],
        });
        match self
            .post("/control/ack", body, Duration::from_secs(30))
            .await
        {
            Ok(_) => Ok(true),
            Err(HttpError::Status {
                status: status @ (400 | 403 | 404 | 409 | 413),
                body: answer,
                ..
            }) => {
                tracing::warn!(command = %ack.command_id, status, %answer, "master refused an ack; dropped");
                Ok(false)
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Settings of the loop.
pub struct Settings {
    pub policy: Policy,
    pub max_concurrent: usize,
    pub max_output: usize,
    /// How long master may hold a poll (for the request timeout).
    pub hold: Duration,
}

fn ack_of(command: &Command, outcome: Outcome) -> Ack {
    Ack {
        command_id: command.id.clone(),
        status: outcome.status,
        message: outcome.message,
        output: outcome.output,
        finished_ms: crate::now_ms(),
    }
}

/// Runs the loop until `shutdown`; commands running then are finished and acked.
pub async fn run(
    control: Arc<Control>,
    kube: kube::Client,
    settings: Settings,
    done: Arc<Mutex<DoneLog>>,
    shutdown: CancellationToken,
) {
    let (ack_tx, ack_rx) = mpsc::unbounded_channel::<Ack>();
    let acker = tokio::spawn(send_acks(control.clone(), ack_rx));
    let limit = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let settings = Arc::new(settings);
    let mut rv = 0u64;
    let mut failures = 0u32;
    let mut running = tokio::task::JoinSet::new();
    tracing::info!(session = %control.session, "polling master for commands");
    loop {
        let polled = tokio::select! {
            () = shutdown.cancelled() => break,
            polled = control.poll(rv, settings.hold) => polled,
        };
        let set = match polled {
            Ok(Some(set)) => set,
            Ok(None) => {
                failures = 0;
                continue;
            }
            Err(e) => {
                failures += 1;
                let wait = poll_wait(&e, failures);
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %e, failures, retry_in = ?wait, "command poll failed");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        failures = 0;
        rv = set.rv;
        for command in set.commands {
            if in_flight.lock().contains(&command.id) {
                continue;
            }
            // At most once: a command (or its idempotency key) started before is not run again.
            let seen = done.lock().seen(&command);
            if let Some(first) = seen {
                let earlier = done.lock().started_by_an_earlier_run(&first);
                let outcome = if first != command.id {
                    Outcome::ok(format!(
                        "not run: the same request (idempotency key) already ran as {first}"
                    ))
                } else if earlier {
                    Outcome::failed(
                        "not run again: the agent restarted after starting this command and \
                         before reporting it; check the target's state",
                    )
                } else {
                    // Started in this run and acked already; master resent it meanwhile.
                    continue;
                };
                let _ = ack_tx.send(ack_of(&command, outcome));
                continue;
            }
            if command.expires_ms <= crate::now_ms() {
                let _ = ack_tx.send(ack_of(
                    &command,
                    Outcome::failed("expired before it could run"),
                ));
                continue;
            }
            if let Some(why) = settings.policy.refuses(&command) {
                tracing::info!(command = %command.id, kind = command.kind.name(), target = %command.kind.target(), %why, "command refused");
                let _ = ack_tx.send(ack_of(&command, Outcome::rejected(why)));
                continue;
            }
            if let Err(e) = done.lock().start(&command) {
                tracing::error!(command = %command.id, error = %e, "cannot record the command's start; not running it");
                let _ = ack_tx.send(ack_of(
                    &command,
                    Outcome::failed(format!("the agent cannot record the command's start: {e}")),
                ));
                continue;
            }
            in_flight.lock().insert(command.id.clone());
            let (kube, settings, limit, in_flight, ack_tx) = (
                kube.clone(),
                settings.clone(),
                limit.clone(),
                in_flight.clone(),
                ack_tx.clone(),
            );
            running.spawn(async move {
                let _permit = limit.acquire_owned().await;
                tracing::info!(command = %command.id, kind = command.kind.name(), target = %command.kind.target(), by = %command.requested_by, "running command");
                // However the cluster behaves, a command ends and is reported.
                let limit = command.kind.run_limit();
                let outcome = tokio::time::timeout(
                    limit,
                    operator::execute(
                        &kube,
                        &command.kind,
                        settings.max_output,
                        &settings.policy.protected,
                        settings
                            .policy
                            .configmap_values
                            .shown_to(command.requested_role),
                    ),
                )
                .await
                .unwrap_or_else(|_| {
                    Outcome::failed(format!(
                        "did not finish within {}; the cluster may be partly changed",
                        humantime::format_duration(limit)
                    ))
                });
                tracing::info!(command = %command.id, status = ?outcome.status, message = %outcome.message, "command finished");
                let _ = ack_tx.send(ack_of(&command, outcome));
                in_flight.lock().remove(&command.id);
            });
        }
        while running.try_join_next().is_some() {}
    }
    // Finish what runs, and report it.
    while running.join_next().await.is_some() {}
    drop(ack_tx);
    let _ = acker.await;
}

/// Sends acks in order, retrying each with back-off until master takes (or refuses) it.
async fn send_acks(control: Arc<Control>, mut acks: mpsc::UnboundedReceiver<Ack>) {
    while let Some(ack) = acks.recv().await {
        let mut failures = 0u32;
        loop {
            match control.ack(&ack).await {
                Ok(_) => break,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(command = %ack.command_id, error = %e, failures, "ack failed; retrying");
                    }
                    if failures > 20 {
                        tracing::error!(command = %ack.command_id, "giving up on an ack; master will expire the command");
                        break;
                    }
                    tokio::time::sleep(BACKOFF.delay(failures)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atlhyper_model::CommandKind;

    fn command(id: &str, key: &str, kind: CommandKind) -> Command {
        Command {
            id: id.into(),
            idempotency_key: key.into(),
            cluster_id: "c".into(),
            kind,
            created_ms: 0,
            expires_ms: i64::MAX,
            requested_by: "t".into(),
            requested_role: None,
        }
    }

    /// A master that answers every poll `503` with `Retry-After: 7`.
    async fn busy_master() -> String {
        use axum::http::StatusCode;
        let app = axum::Router::new().route(
            "/control/watch",
            axum::routing::post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "7")],
                    "busy",
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_poll_answered_with_retry_after_waits_that_long() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let control = Control {
            http: atlhyper_runtime::http::client(None),
            base: busy_master().await,
            auth: atlhyper_runtime::http::Auth::bearer(Some("token")),
            cluster_id: "c".into(),
            session: "s".into(),
        };
        let e = control.poll(0, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(poll_wait(&e, 1), Duration::from_secs(7), "{e}");
        // Without one: the back-off; refused: half a minute.
        let plain = PollError::Unavailable("gone".into(), None);
        assert!(poll_wait(&plain, 1) <= Duration::from_secs(1));
        assert_eq!(
            poll_wait(&PollError::Refused("401".into()), 1),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn policy_caps_replicas() {
        let policy = Policy {
            allow: vec![],
            protected: vec![],
            max_replicas: 50,
            configmap_values: ConfigMapValues::Operators,
        };
        let scale = |replicas| CommandKind::Scale {
            namespace: "shop".into(),
            name: "web".into(),
            replicas,
        };
        assert_eq!(policy.refuses(&command("1", "1", scale(50))), None);
        assert!(
            policy
                .refuses(&command("2", "2", scale(51)))
                .unwrap()
                .contains("--max-replicas")
        );
    }

    #[test]
    fn policy_refuses_kinds_not_allowed_and_changes_in_protected_namespaces() {
        let policy = Policy {
            allow: vec!["restart_pod".into(), "pod_logs".into()],
            protected: vec!["kube-system".into()],
            max_replicas: 1_000,
            configmap_values: ConfigMapValues::Operators,
        };
        let restart = |ns: &str| CommandKind::RestartPod {
            namespace: ns.into(),
            name: "p".into(),
            force: false,
        };
        assert_eq!(policy.refuses(&command("1", "1", restart("shop"))), None);
        assert!(
            policy
                .refuses(&command("2", "2", restart("kube-system")))
                .unwrap()
                .contains("protected")
        );
        let logs = CommandKind::PodLogs {
            namespace: "kube-system".into(),
            name: "p".into(),
            container: None,
            tail_lines: None,
            since_seconds: None,
            since_ms: None,
            previous: false,
            timestamps: false,
        };
        assert_eq!(
            policy.refuses(&command("3", "3", logs)),
            None,
            "reads stay allowed"
        );
        let cordon = CommandKind::Cordon { node: "n".into() };
        assert!(
            policy
                .refuses(&command("4", "4", cordon))
                .unwrap()
                .contains("does not allow")
        );
    }

    #[test]
    fn the_done_log_survives_a_restart_through_its_file_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("done");
        let mut log = DoneLog::open(Some(path.clone()), 100).unwrap();
        for i in 0..250 {
            log.start(&command(
                &format!("id-{i}"),
                &format!("k-{i}"),
                CommandKind::Cordon { node: "n".into() },
            ))
            .unwrap();
        }
        assert!(log.ids.len() <= 100);
        let again = DoneLog::open(Some(path.clone()), 100).unwrap();
        assert_eq!(
            again.session(),
            log.session(),
            "the session is kept in the file"
        );
        let last = command("id-249", "k-249", CommandKind::Cordon { node: "n".into() });
        assert_eq!(again.seen(&last), Some("id-249".into()));
        assert!(again.started_by_an_earlier_run("id-249"));
        // Another id under a key already run is the same request.
        let same_key = command("id-x", "k-249", CommandKind::Cordon { node: "n".into() });
        assert_eq!(again.seen(&same_key), Some("id-249".into()));
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 300, "{lines} lines");
    }

    #[test]
    fn without_a_state_file_each_run_is_a_new_session() {
        let one = DoneLog::open(None, 10).unwrap();
        let two = DoneLog::open(None, 10).unwrap();
        assert_ne!(one.session(), two.session());
        assert_eq!(one.session().len(), 16);
    }
}
