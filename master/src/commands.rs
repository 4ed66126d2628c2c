//! The command queue: one per cluster, with a version the agent's long poll compares. A
//! command is written to SQLite before anyone hears of it; delivery, result and expiry are
//! written (and audited) before they are answered or streamed. Each ack settles exactly its
//! own command.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use atlhyper_model::api::{AckOutcome, AckReceipt, AuditRecord, CommandInfo, Role, StreamKind};
use atlhyper_model::{Ack, Command, CommandKind, CommandSet, CommandStatus};
use rand::RngCore as _;
use rand::SeedableRng as _;
use tokio::sync::watch;

use crate::store::{CommandTransition, Store, StoreError, after_commit};
use crate::stream::Hub;

/// Why a command was not queued.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(
        "Idempotency-Key `{key}` already names command {id}, made with another request; use a new key"
    )]
    KeyReused { key: String, id: String },
    #[error(
        "cluster `{cluster}` has {open} commands open, the most it may; retry once some settle"
    )]
    QueueFull { cluster: String, open: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a command sits in its queue's key map.
fn key_of(command: &Command) -> (String, String) {
    (
        command.requested_by.clone(),
        command.idempotency_key.clone(),
    )
}

/// Why an ack batch was refused (nothing in it was settled).
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("no command `{0}`")]
    Unknown(String),
    #[error("command `{0}` belongs to another cluster")]
    OtherCluster(String),
    #[error("command `{0}` was never delivered")]
    NotDelivered(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Queue {
    /// Bumped by every new command: an agent that has seen an older version has news.
    rv: u64,
    /// By id.
    items: BTreeMap<String, (u64, CommandInfo)>,
    /// Command ids by (requesting user, idempotency key).
    keys: HashMap<(String, String), String>,
    /// Bumped on every change of the queue, for long polls and waiting clients.
    changed: watch::Sender<u64>,
    /// The agent's runs (sessions) seen polling, newest last (bounded).
    sessions: VecDeque<String>,
}

/// Runs of one cluster's agent remembered, to tell a superseded run from a new one.
const SESSIONS_KEPT: usize = 16;

/// Where a polling run of the agent stands.
enum Run {
    /// The newest run (or an agent that names no session).
    Current,
    /// A run never seen before: it supersedes the others (and is current from now on).
    New,
    /// An older run still polling (the old pod of a rolling update): handed nothing.
    Superseded,
}

impl Queue {
    fn new(rv: u64) -> Self {
        Queue {
            rv,
            items: BTreeMap::new(),
            keys: HashMap::new(),
            changed: watch::Sender::new(0),
            sessions: VecDeque::new(),
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// Settings of the queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// A command not settled this long after it was queued expires.
    pub ttl: Duration,
    /// Settled commands stay in memory (and in SQLite) this long.
    pub keep: Duration,
    /// Longest output kept from an ack.
    pub max_output: usize,
    /// Most commands open (queued or delivered) in one cluster.
    pub max_open: usize,
    /// Most settled commands kept in all (the database keeps as many).
    pub max_settled: usize,
}

/// The queues in memory. Changed only by post-commit steps ([`Sqlite::write_then`]), so in the
/// order the database changed.
type Queues = Arc<Mutex<HashMap<String, Queue>>>;

pub struct Commands {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    limits: QueueLimits,
    queues: Queues,
    /// Creations one at a time: a queue version is taken, written, then published.
    create: tokio::sync::Mutex<()>,
}

fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    format!("cmd-{}", u64::from_be_bytes(bytes) & 0x0000_ffff_ffff_ffff)
}

fn publish(hub: &Hub, info: &CommandInfo) {
    let data = serde_json::to_string(info).expect("a command serializes");
    hub.publish(
        &info.command.cluster_id,
        StreamKind::Commands,
        "command",
        data,
    );
}

/// Puts settled or delivered commands into their queue (which must be `cluster_id`'s) and
/// announces them: the post-commit step of every change but creation.
fn apply_changes(queues: &Queues, hub: &Hub, cluster_id: &str, changed: &[CommandInfo]) {
    if changed.is_empty() {
        return;
    }
    {
        let mut queues = queues.lock();
        if let Some(queue) = queues.get_mut(cluster_id) {
            for info in changed {
                if let Some((_, held)) = queue.items.get_mut(&info.command.id) {
                    *held = info.clone();
                }
            }
            queue.bump();
        }
    }
    for info in changed {
        publish(hub, info);
    }
}

fn audit(actor: &str, action: &str, info: &CommandInfo, outcome: &str, now_ms: i64) -> AuditRecord {
    let c = &info.command;
    let mut detail = format!("{} {} {}", c.id, c.kind.name(), info.status);
    if let Some(message) = &info.message {
        detail.push_str(": ");
        detail.push_str(message);
    }
    AuditRecord {
        id: 0,
        ts_ms: now_ms,
        actor: actor.to_owned(),
        actor_id: None,
        action: action.to_owned(),
        target: format!("{}/{}", c.cluster_id, c.kind.target()),
        outcome: outcome.to_owned(),
        detail: Some(detail),
    }
}

impl Commands {
    pub fn new(store: Arc<dyn Store>, hub: Arc<Hub>, limits: QueueLimits) -> Self {
        Commands {
            store,
            hub,
            limits,
            queues: Arc::default(),
            create: tokio::sync::Mutex::new(()),
        }
    }

    /// Loads the queues from SQLite (at start).
    ///
    /// # Errors
    /// The database's.
    pub async fn load(&self, now_ms: i64) -> Result<usize, StoreError> {
        let since = now_ms - self.limits.keep.as_millis() as i64;
        let (commands, versions) = self.store.commands(since).await?;
        let mut queues = self.queues.lock();
        for (cluster, rv) in versions {
            queues.insert(cluster, Queue::new(rv));
        }
        let n = commands.len();
        for (seq, info) in commands {
            let queue = queues
                .entry(info.command.cluster_id.clone())
                .or_insert_with(|| Queue::new(seq));
            queue
                .keys
                .insert(key_of(&info.command), info.command.id.clone());
            queue.items.insert(info.command.id.clone(), (seq, info));
        }
        Ok(n)
    }

    /// Forgets a deleted cluster's queue (its rows went with the cluster's).
    pub fn remove_cluster(&self, cluster_id: &str) {
        self.queues.lock().remove(cluster_id);
    }

    /// The command `user` queued in `cluster_id` under `key` (memory first, then the
    /// database), if it is the same request; a different request under the key is refused.
    ///
    /// # Errors
    /// [`CreateError::KeyReused`] when the key names another request; the database's.
    pub async fn by_key(
        &self,
        cluster_id: &str,
        user: &str,
        key: &str,
        kind: &CommandKind,
    ) -> Result<Option<CommandInfo>, CreateError> {
        let held = {
            let queues = self.queues.lock();
            queues.get(cluster_id).and_then(|q| {
                let id = q.keys.get(&(user.to_owned(), key.to_owned()))?;
                q.items.get(id).map(|(_, info)| info.clone())
            })
        };
        let found = match held {
            Some(info) => Some(info),
            None => {
                let (cluster, user, key) = (cluster_id.to_owned(), user.to_owned(), key.to_owned());
                self.store.command_by_key(cluster, user, key).await?
            }
        };
        match found {
            Some(info) if info.command.kind != *kind => Err(CreateError::KeyReused {
                key: key.to_owned(),
                id: info.command.id,
            }),
            found => Ok(found),
        }
    }

    /// Queues a command, or returns the one this user queued earlier under the same
    /// idempotency key (`false`: not new).
    ///
    /// # Errors
    /// [`CreateError::KeyReused`] when the key names another request; the database's: nothing
    /// was queued.
    pub async fn create(
        &self,
        cluster_id: &str,
        idempotency_key: Option<String>,
        kind: CommandKind,
        requested_by: &str,
        requested_role: Role,
        now_ms: i64,
    ) -> Result<(CommandInfo, bool), CreateError> {
        let _one_at_a_time = self.create.lock().await;
        if let Some(key) = &idempotency_key
            && let Some(existing) = self.by_key(cluster_id, requested_by, key, &kind).await?
        {
            return Ok((existing, false));
        }
        let rv = {
            let queues = self.queues.lock();
            let queue = queues.get(cluster_id);
            let open = queue.map_or(0, |q| {
                q.items
                    .values()
                    .filter(|(_, info)| !info.status.is_final())
                    .count()
            });
            if open >= self.limits.max_open {
                return Err(CreateError::QueueFull {
                    cluster: cluster_id.to_owned(),
                    open,
                });
            }
            queue.map_or(0, |q| q.rv) + 1
        };
        let id = new_id();
        let info = CommandInfo {
            command: Command {
                idempotency_key: idempotency_key.unwrap_or_else(|| id.clone()),
                id,
                cluster_id: cluster_id.to_owned(),
                kind,
                created_ms: now_ms,
                expires_ms: now_ms + self.limits.ttl.as_millis() as i64,
                requested_by: requested_by.to_owned(),
                requested_role: Some(requested_role),
            },
            status: CommandStatus::Queued,
            delivered_ms: None,
            delivered_to: None,
            finished_ms: None,
            message: None,
            output: None,
        };
        let record = audit(requested_by, "command.create", &info, "ok", now_ms);
        let row = info.clone();
        let (queues, hub) = (self.queues.clone(), self.hub.clone());
        let (after, queued) = after_commit(move |()| {
            {
                let mut queues = queues.lock();
                let queue = queues
                    .entry(info.command.cluster_id.clone())
                    .or_insert_with(|| Queue::new(0));
                queue.rv = rv;
                queue
                    .keys
                    .insert(key_of(&info.command), info.command.id.clone());
                queue
                    .items
                    .insert(info.command.id.clone(), (rv, info.clone()));
                queue.bump();
            }
            publish(&hub, &info);
            info
        });
        self.store.queue_command(row, rv, record, after).await?;
        Ok((queued.value().await?, true))
    }

    /// A command by id: from memory, else from SQLite (settled long ago).
    ///
    /// # Errors
    /// The database's.
    pub async fn get(&self, id: &str) -> Result<Option<CommandInfo>, StoreError> {
        if let Some(info) = self.find(id) {
            return Ok(Some(info));
        }
        let id = id.to_owned();
        self.store.command(id).await
    }

    fn find(&self, id: &str) -> Option<CommandInfo> {
        let queues = self.queues.lock();
        queues
            .values()
            .find_map(|q| q.items.get(id).map(|(_, info)| info.clone()))
    }

    /// Waits until the command is settled, or `timeout`; returns it as it is then.
    ///
    /// # Errors
    /// The database's.
    pub async fn wait(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<CommandInfo>, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = {
                let queues = self.queues.lock();
                queues.values().find_map(|q| {
                    q.items
                        .get(id)
                        .map(|(_, i)| (i.clone(), q.changed.subscribe()))
                })
            };
            let Some((info, mut changed)) = found else {
                return self.get(id).await;
            };
            if info.status.is_final() {
                return Ok(Some(info));
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return Ok(Some(info));
            }
        }
    }

    /// The commands of a cluster (all clusters when `None`), newest first.
    pub fn list(&self, cluster_id: Option<&str>) -> Vec<CommandInfo> {
        let queues = self.queues.lock();
        let mut all: Vec<CommandInfo> = queues
            .iter()
            .filter(|(c, _)| cluster_id.is_none_or(|id| id == c.as_str()))
            .flat_map(|(_, q)| q.items.values().map(|(_, i)| i.clone()))
            .collect();
        all.sort_by(|a, b| {
            b.command
                .created_ms
                .cmp(&a.command.created_ms)
                .then_with(|| b.command.id.cmp(&a.command.id))
        });
        all
    }

    /// The agent's long poll from its run `session`: at once when the queue's version differs
    /// from `rv` (with every open command: queued ones become delivered to `session`), else
    /// when a command arrives or `hold` passes (`None`: nothing new).
    ///
    /// A session master has not seen is a new run of the agent: commands delivered to an
    /// earlier run, which will not report them, are settled [`CommandStatus::Unknown`] rather
    /// than handed out again (at most once). A run superseded by a newer one is handed nothing.
    ///
    /// # Errors
    /// The database's, writing the deliveries: nothing is delivered then.
    pub async fn poll(
        &self,
        cluster_id: &str,
        rv: u64,
        session: Option<&str>,
        hold: Duration,
        now_ms: impl Fn() -> i64,
    ) -> Result<Option<CommandSet>, StoreError> {
        let deadline = tokio::time::Instant::now() + hold;
        loop {
            self.expire(now_ms()).await?;
            let (run, orphans, news, mut changed) = {
                let mut queues = self.queues.lock();
                let queue = queues
                    .entry(cluster_id.to_owned())
                    .or_insert_with(|| Queue::new(0));
                let run = match session {
                    None => Run::Current,
                    Some(s) if queue.sessions.back().is_some_and(|b| b == s) => Run::Current,
                    Some(s) if queue.sessions.iter().any(|b| b == s) => Run::Superseded,
                    Some(s) => {
                        queue.sessions.push_back(s.to_owned());
                        if queue.sessions.len() > SESSIONS_KEPT {
                            queue.sessions.pop_front();
                        }
                        Run::New
                    }
                };
                // The newest run holds every delivered command it may report; one delivered to
                // another run is an orphan (looked for on every poll, so a failed write is
                // retried by the next).
                let orphans = match (&run, session) {
                    (Run::Superseded, _) | (_, None) => false,
                    (_, Some(s)) => queue.items.values().any(|(_, i)| {
                        i.status == CommandStatus::Delivered && i.delivered_to.as_deref() != Some(s)
                    }),
                };
                let news = queue.rv != rv;
                if matches!(run, Run::Current) && !orphans && news {
                    break;
                }
                (run, orphans, news, queue.changed.subscribe())
            };
            match (run, session) {
                (Run::Superseded, _) => {
                    tokio::time::sleep_until(deadline).await;
                    return Ok(None);
                }
                (_, Some(session)) if orphans => {
                    if self.orphan(cluster_id, session, now_ms()).await? > 0 {
                        continue;
                    }
                    // None settled (another change won each): the orphans stay out of what
                    // this run is handed, and the poll goes on as if there were none.
                    if news {
                        break;
                    }
                }
                (Run::New, _) => continue,
                _ => {}
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return Ok(None);
            }
        }
        let now = now_ms();
        let (rv, open, delivered) = {
            let queues = self.queues.lock();
            let queue = &queues[cluster_id];
            // Never what another run of the agent was given (see `orphan`).
            let mut open: Vec<(u64, CommandInfo)> = queue
                .items
                .values()
                .filter(|(_, i)| {
                    !i.status.is_final()
                        && (i.status == CommandStatus::Queued
                            || session.is_none()
                            || i.delivered_to.as_deref() == session)
                })
                .cloned()
                .collect();
            open.sort_by_key(|(seq, _)| *seq);
            let delivered: Vec<CommandInfo> = open
                .iter()
                .filter(|(_, i)| i.status == CommandStatus::Queued)
                .map(|(_, i)| CommandInfo {
                    status: CommandStatus::Delivered,
                    delivered_ms: Some(now),
                    delivered_to: session.map(str::to_owned),
                    ..i.clone()
                })
                .collect();
            (queue.rv, open, delivered)
        };
        // Each delivery is conditional: a command expired (or delivered by a concurrent poll)
        // meanwhile is not delivered again.
        if !delivered.is_empty() {
            let (queues, hub, cluster) =
                (self.queues.clone(), self.hub.clone(), cluster_id.to_owned());
            let moves = delivered
                .into_iter()
                .map(|info| {
                    let actor = format!("cluster:{}", info.command.cluster_id);
                    CommandTransition {
                        audit: audit(&actor, "command.deliver", &info, "ok", now),
                        info,
                        from: CommandStatus::Queued,
                    }
                })
                .collect();
            let (after, applied) = after_commit(move |won: Vec<CommandInfo>| {
                apply_changes(&queues, &hub, &cluster, &won)
            });
            self.store
                .advance_commands(cluster_id.to_owned(), moves, after)
                .await?;
            applied.value().await?;
        }
        // What is still open now: a command settled (or its cluster deleted) while the
        // deliveries were written is not handed out.
        let open: Vec<Command> = {
            let queues = self.queues.lock();
            let queue = queues.get(cluster_id);
            open.into_iter()
                .filter(|(_, i)| {
                    queue
                        .and_then(|q| q.items.get(&i.command.id))
                        .is_some_and(|(_, held)| !held.status.is_final())
                })
                .map(|(_, i)| i.command)
                .collect()
        };
        Ok(Some(CommandSet {
            cluster_id: cluster_id.to_owned(),
            rv,
            commands: open,
        }))
    }

    /// Settles each acked command. Every ack is checked first: one that names an unknown
    /// command, another cluster's, or one never delivered refuses the whole batch. An ack for
    /// a command already settled is a duplicate: harmless, the first result stands.
    ///
    /// # Errors
    /// [`AckError`]; nothing was settled.
    pub async fn ack(
        &self,
        cluster_id: &str,
        results: Vec<Ack>,
        now_ms: i64,
    ) -> Result<AckReceipt, AckError> {
        let mut settled = Vec::new();
        let mut outcomes = Vec::new();
        {
            let queues = self.queues.lock();
            for ack in &results {
                let found = queues
                    .iter()
                    .find_map(|(c, q)| q.items.get(&ack.command_id).map(|(_, i)| (c.as_str(), i)));
                let Some((owner, info)) = found else {
                    return Err(AckError::Unknown(ack.command_id.clone()));
                };
                if owner != cluster_id {
                    return Err(AckError::OtherCluster(ack.command_id.clone()));
                }
                let already = settled
                    .iter()
                    .any(|(s, _): &(CommandInfo, _)| s.command.id == ack.command_id);
                // `unknown` was master's guess that the run it went to had stopped; a report
                // from that run replaces it.
                if (info.status.is_final() && info.status != CommandStatus::Unknown) || already {
                    outcomes.push(AckOutcome {
                        command_id: ack.command_id.clone(),
                        outcome: "duplicate".to_owned(),
                    });
                    continue;
                }
                if info.status == CommandStatus::Queued {
                    return Err(AckError::NotDelivered(ack.command_id.clone()));
                }
                settled.push((
                    CommandInfo {
                        status: ack.status.into(),
                        finished_ms: Some(ack.finished_ms.min(now_ms).max(info.command.created_ms)),
                        message: Some(ack.message.chars().take(2_000).collect()),
                        output: ack
                            .output
                            .clone()
                            .map(|o| atlhyper_model::cap_output(o, self.limits.max_output)),
                        ..info.clone()
                    },
                    info.status,
                ));
                outcomes.push(AckOutcome {
                    command_id: ack.command_id.clone(),
                    outcome: "settled".to_owned(),
                });
            }
        }
        let won = self
            .settle(
                settled,
                &format!("cluster:{cluster_id}"),
                "command.result",
                now_ms,
            )
            .await?;
        // An ack that lost to expiry or to another ack is a duplicate: the first result stands.
        for outcome in &mut outcomes {
            if outcome.outcome == "settled" && !won.iter().any(|w| w == &outcome.command_id) {
                outcome.outcome = "duplicate".to_owned();
            }
        }
        Ok(AckReceipt { settled: outcomes })
    }

    /// Writes, then applies and announces, final states; the ids that were settled. Each write
    /// is conditional on the state it was decided from, so of two racing settlements (an ack
    /// and expiry, two acks) exactly one is written, audited, applied and published.
    async fn settle(
        &self,
        infos: Vec<(CommandInfo, CommandStatus)>,
        actor: &str,
        action: &'static str,
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        // One write per cluster: each cluster's memory changes in its own commit order.
        let mut by_cluster: BTreeMap<String, Vec<(CommandInfo, CommandStatus)>> = BTreeMap::new();
        for (info, from) in infos {
            by_cluster
                .entry(info.command.cluster_id.clone())
                .or_default()
                .push((info, from));
        }
        let mut settled = Vec::new();
        for (cluster, infos) in by_cluster {
            let (queues, hub, key) = (self.queues.clone(), self.hub.clone(), cluster.clone());
            let moves = infos
                .into_iter()
                .map(|(info, from)| {
                    let outcome = if info.status == CommandStatus::Succeeded {
                        "ok"
                    } else {
                        info.status.as_str()
                    };
                    CommandTransition {
                        audit: audit(actor, action, &info, outcome, now_ms),
                        info,
                        from,
                    }
                })
                .collect();
            let (after, won) = after_commit(move |won: Vec<CommandInfo>| {
                apply_changes(&queues, &hub, &key, &won);
                won.into_iter().map(|i| i.command.id).collect::<Vec<_>>()
            });
            self.store.advance_commands(cluster, moves, after).await?;
            let won = won.value().await?;
            settled.extend(won);
        }
        Ok(settled)
    }

    /// Forgets settled commands past `keep` and beyond the newest `max_settled`: what the
    /// database's purge deletes at the same instant (master calls both together).
    pub fn forget(&self, now_ms: i64) {
        let keep_ms = self.limits.keep.as_millis() as i64;
        let mut queues = self.queues.lock();
        // The newest `max_settled` settled commands stay, as in the database.
        let mut settled: Vec<i64> = queues
            .values()
            .flat_map(|q| q.items.values())
            .filter(|(_, i)| i.status.is_final())
            .map(|(_, i)| i.command.created_ms)
            .collect();
        let oldest_kept = if settled.len() > self.limits.max_settled {
            let cut = settled.len() - self.limits.max_settled;
            *settled.select_nth_unstable(cut).1
        } else {
            i64::MIN
        };
        for queue in queues.values_mut() {
            let before = queue.items.len();
            queue.items.retain(|_, (_, i)| {
                !i.status.is_final()
                    || (i.command.created_ms + keep_ms > now_ms
                        && i.command.created_ms >= oldest_kept)
            });
            if queue.items.len() != before {
                let items = &queue.items;
                queue.keys.retain(|_, id| items.contains_key(id));
            }
        }
    }

    /// Settles as [`CommandStatus::Unknown`] the commands of `cluster_id` delivered to another
    /// run than `session`: a new run of the agent has started, and the earlier one will not
    /// report them (if it does after all, its report stands).
    /// How many were settled.
    async fn orphan(
        &self,
        cluster_id: &str,
        session: &str,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let orphans: Vec<(CommandInfo, CommandStatus)> = {
            let queues = self.queues.lock();
            let Some(queue) = queues.get(cluster_id) else {
                return Ok(0);
            };
            queue
                .items
                .values()
                .filter(|(_, i)| {
                    i.status == CommandStatus::Delivered
                        && i.delivered_to.as_deref() != Some(session)
                })
                .map(|(_, i)| {
                    let earlier = match &i.delivered_to {
                        Some(s) => format!("session {s}"),
                        None => "an agent that named no session".to_owned(),
                    };
                    let message = format!(
                        "outcome unknown: delivered to an earlier run of the agent ({earlier}), \
                         which stopped before reporting; it is not run again, check {} yourself",
                        i.command.kind.target()
                    );
                    let orphan = CommandInfo {
                        status: CommandStatus::Unknown,
                        finished_ms: Some(now_ms),
                        message: Some(message),
                        ..i.clone()
                    };
                    (orphan, i.status)
                })
                .collect()
        };
        let actor = format!("cluster:{cluster_id}");
        self.settle(orphans, &actor, "command.orphan", now_ms)
            .await
            .map(|settled| settled.len())
    }

    /// Expires commands past their deadline (see [`deadline`]).
    ///
    /// # Errors
    /// The database's, writing the expiries.
    pub async fn expire(&self, now_ms: i64) -> Result<(), StoreError> {
        let ttl_ms = self.limits.ttl.as_millis() as i64;
        let overdue: Vec<(CommandInfo, CommandStatus)> = {
            let queues = self.queues.lock();
            queues
                .values()
                .flat_map(|q| q.items.values())
                .filter(|(_, i)| !i.status.is_final() && deadline(i, ttl_ms) <= now_ms)
                .map(|(_, i)| {
                    let expired = CommandInfo {
                        status: CommandStatus::Expired,
                        finished_ms: Some(now_ms),
                        message: Some(match i.status {
                            CommandStatus::Queued => "expired before any agent took it".to_owned(),
                            _ => "expired: delivered, but the agent reported no result within \
                                  the command's run limit and the queue TTL"
                                .to_owned(),
                        }),
                        ..i.clone()
                    };
                    (expired, i.status)
                })
                .collect()
        };
        self.settle(overdue, "master", "command.expire", now_ms)
            .await
            .map(drop)
    }
}

/// When an open command expires: a queued one at its `expires_ms`; a delivered one not before
/// the agent's run limit for it and then the queue TTL (for its report to arrive) have passed
/// since delivery, so a drain with an hour's timeout is not expired while it may still run.
fn deadline(info: &CommandInfo, ttl_ms: i64) -> i64 {
    match (info.status, info.delivered_ms) {
        (CommandStatus::Delivered, Some(at)) => {
            let run_ms = info.command.kind.run_limit().as_millis() as i64;
            info.command.expires_ms.max(at + run_ms + ttl_ms)
        }
        _ => info.command.expires_ms,
    }
}

#[cfg(test)]
mod tests;
