//! AtlHyper master: where every cluster's data meets.
//!
//! Agents push gzip JSON envelopes to `POST /ingest` ([`api`]); a push is written to SQLite
//! ([`store::Store`]; SQLite by default, group commit) before it is answered `202`, then applied to the in-memory
//! [`memory::Memory`] and announced on the live stream ([`stream`]). Everything that reads goes
//! through one [`datasource::Reader`]. [`start`] runs it all on a loopback or public port and
//! returns a [`Running`] master; `atlctl demo` and the end-to-end tests start it in-process.

pub mod api;
pub mod auth;
pub mod commands;
mod config;
pub mod datasource;
pub mod held;
pub mod memory;
pub mod resource;
mod server;
pub mod sqlite;
pub mod store;
pub mod stream;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::Envelope;
use atlhyper_model::api::Role;
use atlhyper_model::codec::{self, ContentEncoding, Limits};
pub use config::{ClusterToken, Config, MasterCommand};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::{Principal, Tokens};
use crate::commands::{Commands, QueueLimits};
use crate::datasource::{DataSource, Horizons, now_ms};
use crate::memory::{ClusterInfo, ListPush, Memory, MemoryLimits};
use crate::sqlite::{OpenError, Sqlite};
use crate::store::{ClusterRow, NewToken, Retention, Store, StoreError};
use crate::stream::Hub;
use crate::telemetry::Telemetry;

/// Why master could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot load the stored state: {0}")]
    Load(StoreError),
    #[error("cannot register the configured clusters and tokens: {0}")]
    Bootstrap(StoreError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running master.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub url: String,
    /// The admin token made on this first start (shown once), if one was made.
    pub new_admin_token: Option<String>,
    pub memory: Arc<Memory>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    store: Arc<dyn Store>,
}

impl Running {
    /// Stops accepting, lets open requests finish (up to a second), commits what is queued.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.store.close().await;
    }
}

/// Loads what the database holds into the store and the token table.
async fn load(
    store: &dyn Store,
    memory: &Memory,
    tokens: &Tokens,
    limits: MemoryLimits,
) -> Result<(), StoreError> {
    let now = now_ms();
    for cluster in store.clusters().await? {
        tokens.insert(
            cluster.token_hash,
            Principal::Agent {
                cluster_id: cluster.id.clone(),
            },
        );
        memory.add_cluster(ClusterInfo {
            id: cluster.id,
            name: cluster.name,
            created_ms: cluster.created_ms,
        });
    }
    for token in store.tokens().await? {
        if token.info.revoked_ms.is_none() {
            tokens.insert(
                token.token_hash,
                Principal::User {
                    id: Some(token.info.id),
                    name: token.info.name,
                    role: token.info.role,
                },
            );
        }
    }
    // Each list as stored, then the deltas kept since, in commit order: the same pushes in the
    // same order give the same lists and numbering as before the restart.
    let snapshots = store.snapshots().await?;
    let deltas = store.deltas().await?;
    let loose = Limits {
        max_compressed_bytes: usize::MAX,
        max_decompressed_bytes: usize::MAX,
        max_envelopes: 1,
        max_items: usize::MAX,
        max_future_skew_ms: i64::MAX / 2,
    };
    let decode = move |cluster: &str, what: &str, gz: &[u8]| -> Option<Envelope> {
        match codec::decode_envelopes(gz, ContentEncoding::Gzip, &loose, 0) {
            Ok(mut envelopes) if envelopes.len() == 1 => Some(envelopes.remove(0)),
            Ok(_) | Err(_) => {
                tracing::warn!(cluster = %cluster, what, "a stored push does not decode; skipped");
                None
            }
        }
    };
    let pushes = tokio::task::spawn_blocking(move || {
        let lists = snapshots.into_iter().filter_map(|s| {
            let envelope = decode(&s.cluster_id, s.source.as_str(), &s.envelope_gz)?;
            Some(ListPush {
                cluster_id: s.cluster_id,
                ts_ms: s.ts_ms,
                received_ms: s.received_ms,
                sequence: s.sequence,
                payload: envelope.payload,
            })
        });
        let changes = deltas.into_iter().filter_map(|d| {
            let envelope = decode(&d.cluster_id, d.list.as_str(), &d.envelope_gz)?;
            Some(ListPush {
                cluster_id: d.cluster_id,
                ts_ms: d.ts_ms,
                received_ms: d.received_ms,
                sequence: Some(d.sequence),
                payload: envelope.payload,
            })
        });
        lists.chain(changes).collect::<Vec<ListPush>>()
    })
    .await
    .map_err(|e| StoreError::Other(e.to_string()))?;
    for push in store.pushes().await? {
        memory.stamp(
            &push.cluster_id,
            push.source,
            push.received_ms,
            push.ts_ms,
            push.items,
        );
    }
    for push in pushes {
        memory.apply_list(push);
    }
    let (since, max) = (now - limits.ttl_ms, limits.max_records);
    let events = store.events(since, max).await?;
    let mut by_cluster: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for (cluster, event) in events {
        by_cluster.entry(cluster).or_default().push(event);
    }
    for (cluster, events) in by_cluster {
        memory.merge_events(&cluster, events, now);
    }
    for (cluster, sample) in store.latest_metrics().await? {
        memory.append_metrics(&cluster, std::slice::from_ref(&sample));
    }
    let since = now - limits.metrics_ttl_ms;
    let points = store.raw_points(since, max).await?;
    memory.restore_points(points);
    Ok(())
}

/// Registers the configured clusters and makes sure an admin token exists; returns a new
/// admin token when one was made.
async fn bootstrap(
    config: &Config,
    store: &dyn Store,
    memory: &Memory,
    tokens: &Tokens,
) -> Result<Option<String>, StoreError> {
    let now = now_ms();
    for cluster in config.cluster_tokens().unwrap_or_default() {
        let row = ClusterRow {
            id: cluster.id.clone(),
            name: cluster.id.clone(),
            token_hash: auth::hash(&cluster.token),
            created_ms: now,
        };
        let hash = row.token_hash.clone();
        store.upsert_cluster(row).await?;
        tokens.remove_cluster(&cluster.id);
        tokens.insert(
            hash,
            Principal::Agent {
                cluster_id: cluster.id.clone(),
            },
        );
        memory.add_cluster(ClusterInfo {
            id: cluster.id.clone(),
            name: cluster.id,
            created_ms: now,
        });
    }
    let (token, made) = match &config.admin_token {
        Some(token) if tokens.lookup(token).is_some() => return Ok(None),
        Some(token) => {
            let hash = auth::hash(token);
            if store.tokens().await?.iter().any(|t| t.token_hash == hash) {
                // Rotated away: it stays revoked, whatever the setting still says.
                tracing::warn!(
                    "the configured admin token (--admin-token / ATLHYPER_MASTER_ADMIN_TOKEN) \
                     was revoked and stays revoked; remove it from the configuration"
                );
                if !tokens.has_admin() {
                    tracing::warn!(
                        "no live admin token: run `atlhyper-master reset-admin-token --db PATH` \
                         to make one"
                    );
                }
                return Ok(None);
            }
            (token.clone(), false)
        }
        None if tokens.has_admin() => return Ok(None),
        None => (auth::generate("atl_"), true),
    };
    let hash = auth::hash(&token);
    let admin = NewToken {
        name: "admin".to_owned(),
        role: Role::Admin,
        token_hash: hash.clone(),
        created_ms: now,
    };
    let id = store.create_token(admin, Box::new(|_| None)).await?;
    tokens.insert(
        hash,
        Principal::User {
            id: Some(id),
            name: "admin".to_owned(),
            role: Role::Admin,
        },
    );
    Ok(made.then_some(token))
}

/// Expires commands past their deadline, every second (a poll or a wait expires them too).
async fn expire_commands(commands: Arc<Commands>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = commands.expire(now_ms()).await {
            tracing::warn!(error = %e, "could not expire commands");
        }
    }
}

/// Stream ids reserved ahead of use: far more than any master publishes between two cleanups.
const STREAM_ID_BLOCK: u64 = 1 << 32;

/// Every `cleanup_interval`, deletes what outlived its retention in the database (events,
/// metric rows, settled commands, audit records) and then in memory; computes the metric
/// rollups every minute.
async fn maintain(
    memory: Arc<Memory>,
    commands: Arc<Commands>,
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: CancellationToken,
) {
    let keep = Retention {
        events_ms: config.ttl.as_millis() as i64,
        raw_ms: config.metrics_ttl.as_millis() as i64,
        minute_ms: config.minute_rollup_ttl.as_millis() as i64,
        hour_ms: config.hour_rollup_ttl.as_millis() as i64,
        commands_ms: config.ttl.as_millis() as i64,
        max_commands: config.max_command_rows,
        audit_ms: config.audit_ttl.as_millis() as i64,
        max_audit: config.max_audit_rows,
    };
    let mut cleanup = tokio::time::interval(config.cleanup_interval);
    let mut rollup = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = cleanup.tick() => {
                memory.cleanup(now_ms());
                let now = now_ms();
                if let Err(e) = store.purge(now, keep).await {
                    tracing::warn!(error = %e, "purging expired rows failed");
                }
                // The queue forgets what the purge deleted, at the same instant.
                commands.forget(now);
                // Stream ids stay reserved a block ahead of use (see ops::stream_ids_from).
                let until = hub.next_id().saturating_add(STREAM_ID_BLOCK);
                if let Err(e) = store.reserve_stream_ids_through(until).await {
                    tracing::warn!(error = %e, "reserving stream ids failed");
                }
            }
            _ = rollup.tick() => {
                let now = now_ms();
                if let Err(e) = store.rollup(now).await {
                    tracing::warn!(error = %e, "computing metric rollups failed");
                }
            }
        }
    }
}

/// `atlhyper-master reset-admin-token`: stores a new admin token named `name` in an existing
/// database, with an audit record, and returns it. Master need not run; a running master
/// accepts the token once it restarts.
///
/// # Errors
/// [`StartError`] when there is no database at the path or it cannot be written.
pub async fn reset_admin_token(config: &Config, name: &str) -> Result<String, StartError> {
    if let Err(reason) = atlhyper_model::validate::display_name(name) {
        return Err(StartError::Config(format!("--name: {reason}")));
    }
    let path = config.db_path();
    if !path.exists() {
        return Err(StartError::Config(format!(
            "no database at {} (is --db right?)",
            path.display()
        )));
    }
    let store = Sqlite::open(&path, 0, |_, _| {})?;
    let token = auth::generate("atl_");
    let hash = auth::hash(&token);
    let now = now_ms();
    let token_row = NewToken {
        name: name.to_owned(),
        role: Role::Admin,
        token_hash: hash,
        created_ms: now,
    };
    let detail = format!("new admin token `{name}`, made offline");
    let audit = move |id: &i64| {
        Some(atlhyper_model::api::AuditRecord {
            id: 0,
            ts_ms: now,
            actor: "local:reset-admin-token".to_owned(),
            actor_id: None,
            action: "reset_admin_token".to_owned(),
            target: id.to_string(),
            outcome: "ok".to_owned(),
            detail: Some(detail),
        })
    };
    let written = Store::create_token(&store, token_row, Box::new(audit)).await;
    Store::close(&store).await;
    written.map_err(StartError::Bootstrap)?;
    Ok(token)
}

/// Opens the database, loads it, binds and serves.
///
/// # Errors
/// [`StartError`] naming what failed.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let telemetry = Arc::new(Telemetry::new());
    let observer = telemetry.clone();
    let sqlite = Sqlite::open_with_delay(
        &config.db_path(),
        config.db_max_bytes,
        config.commit_delay,
        move |jobs, took| observer.observe_commit(jobs, took),
    )?;
    let limits = MemoryLimits {
        ttl_ms: config.ttl.as_millis() as i64,
        metrics_ttl_ms: config.metrics_ttl.as_millis() as i64,
        max_records: config.max_records,
    };
    let memory = Arc::new(Memory::new(limits));
    let tokens = Arc::new(Tokens::default());
    let store: Arc<dyn Store> = Arc::new(sqlite);
    load(store.as_ref(), &memory, &tokens, limits)
        .await
        .map_err(StartError::Load)?;
    let new_admin_token = bootstrap(config, store.as_ref(), &memory, &tokens)
        .await
        .map_err(StartError::Bootstrap)?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let shutdown = CancellationToken::new();
    let reader = Arc::new(DataSource::new(
        memory.clone(),
        store.clone(),
        Horizons {
            metrics_ttl: config.metrics_ttl,
            minute_rollup_ttl: config.minute_rollup_ttl,
            stale_after: config.stale_after,
        },
    ));
    // Ids start at the time in µs, and past every id an earlier run reserved.
    let now_us = (now_ms().max(0) as u64) * 1_000;
    let first_stream_id = match store.stream_ids_from(now_us, STREAM_ID_BLOCK).await {
        Ok(first) => first,
        // A read-only database still serves: ids start past what is reserved already.
        Err(e) => {
            tracing::warn!(error = %e, "cannot reserve stream ids; starting past the last reservation");
            let reserved = store.stream_reservation().await.map_err(StartError::Load)?;
            now_us.max(reserved)
        }
    };
    let latest_receipt = store.latest_receipt().await.map_err(StartError::Load)?;
    let hub = Arc::new(Hub::new(
        stream::BufferLimits {
            max_items: config.stream_buffer,
            max_bytes: config.stream_buffer_bytes,
        },
        first_stream_id,
    ));
    let commands = Arc::new(Commands::new(
        store.clone(),
        hub.clone(),
        QueueLimits {
            ttl: config.command_ttl,
            keep: config.ttl,
            max_output: config.max_command_output,
            max_open: config.max_open_commands,
            max_settled: config.max_command_rows,
        },
    ));
    commands.load(now_ms()).await.map_err(StartError::Load)?;
    let state = Arc::new(api::AppState {
        reader,
        memory: memory.clone(),
        store: store.clone(),
        tokens,
        hub: hub.clone(),
        telemetry: telemetry.clone(),
        limits: Limits {
            max_compressed_bytes: config.max_body_bytes,
            max_decompressed_bytes: config.max_decompressed_bytes,
            ..Limits::default()
        },
        body_timeout: config.body_timeout,
        shutdown: shutdown.clone(),
        commands: commands.clone(),
        poll_timeout: config.poll_timeout,
        clock_skew_warning: config.clock_skew_warning,
        skewed: Default::default(),
        command_rate: api::CommandRate::new(config.command_rate, config.command_burst),
        decodes: tokio::sync::Semaphore::new(config.concurrent_decodes()),
        received: datasource::ReceiveClock::new(latest_receipt),
    });
    let app = api::router(state);
    let server = tokio::spawn(server::serve(
        listener,
        app,
        server::ConnectionLimits {
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
        },
        telemetry,
        shutdown.clone(),
        Duration::from_secs(1),
    ));
    let expiry = tokio::spawn(expire_commands(commands.clone(), shutdown.clone()));
    let maintenance = tokio::spawn(maintain(
        memory.clone(),
        commands,
        hub.clone(),
        store.clone(),
        config.clone(),
        shutdown.clone(),
    ));
    tracing::info!(%addr, store = %store.location(), "master listening");
    Ok(Running {
        addr,
        url: format!("http://{addr}"),
        new_admin_token,
        memory,
        shutdown,
        tasks: vec![server, maintenance, expiry],
        store,
    })
}
