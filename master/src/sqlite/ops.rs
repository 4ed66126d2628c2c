//! Every statement master runs: writes (called inside [`super::Sqlite::write`] jobs) and reads.

use atlhyper_model::api::{AuditRecord, MetricPoint, Resolution, Role, TokenInfo};
use atlhyper_model::resources::Event;
use atlhyper_model::{NodeMetricsSnapshot, Sequence, Source};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, WriterCtx};
use crate::store::{
    AuditFilter, ClusterRow, MetricRange, PushRow, Retention, Revoked, StoredDelta, StoredSnapshot,
    TokenRow,
};

/// Stores a list's snapshot and drops the deltas before it — unless it is stale: numbered at
/// or before what its epoch already sent (memory's rule, `held::numbering`), or, unnumbered,
/// received before the stored one (master's clock).
pub fn save_snapshot(ctx: &mut WriterCtx, s: &StoredSnapshot) -> Result<(), StoreError> {
    let conn = &ctx.conn;
    if let Some(sequence) = &s.sequence {
        let stale: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM snapshots
                    WHERE cluster_id = ?1 AND source = ?2 AND epoch = ?3
                      AND (seq >= ?4 OR EXISTS (SELECT 1 FROM deltas
                            WHERE cluster_id = ?1 AND source = ?2 AND epoch = ?3 AND seq >= ?4)))",
            )?
            .query_row(
                params![
                    s.cluster_id,
                    s.source.as_str(),
                    sequence.epoch,
                    sequence.seq as i64
                ],
                |r| r.get(0),
            )?;
        if stale {
            return Ok(());
        }
    }
    let changed = conn
        .prepare_cached(
            "INSERT INTO snapshots
                (cluster_id, source, ts_ms, received_ms, items, envelope_gz, epoch, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (cluster_id, source) DO UPDATE SET
                ts_ms = excluded.ts_ms, received_ms = excluded.received_ms,
                items = excluded.items, envelope_gz = excluded.envelope_gz,
                epoch = excluded.epoch, seq = excluded.seq
             WHERE excluded.epoch IS NOT NULL OR excluded.received_ms >= snapshots.received_ms",
        )?
        .execute(params![
            s.cluster_id,
            s.source.as_str(),
            s.ts_ms,
            s.received_ms,
            s.items as i64,
            s.envelope_gz,
            s.sequence.as_ref().map(|q| q.epoch.as_str()),
            s.sequence.as_ref().map(|q| q.seq as i64),
        ])?;
    if changed > 0 {
        conn.prepare_cached("DELETE FROM deltas WHERE cluster_id = ?1 AND source = ?2")?
            .execute(params![s.cluster_id, s.source.as_str()])?;
    }
    Ok(())
}

/// Keeps a delta until its list's next snapshot.
pub fn save_delta(ctx: &mut WriterCtx, d: &StoredDelta) -> Result<(), StoreError> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO deltas (cluster_id, source, epoch, seq, ts_ms, received_ms, envelope_gz)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            d.cluster_id,
            d.list.as_str(),
            d.sequence.epoch,
            d.sequence.seq as i64,
            d.ts_ms,
            d.received_ms,
            d.envelope_gz
        ])?;
    Ok(())
}

/// Every delta kept, in commit order.
pub fn deltas(conn: &Connection) -> Result<Vec<StoredDelta>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT cluster_id, source, epoch, seq, ts_ms, received_ms, envelope_gz
         FROM deltas ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(1)?,
                StoredDelta {
                    cluster_id: r.get(0)?,
                    list: Source::PodListSnapshot,
                    sequence: Sequence {
                        epoch: r.get(2)?,
                        seq: r.get::<_, i64>(3)? as u64,
                    },
                    ts_ms: r.get(4)?,
                    received_ms: r.get(5)?,
                    envelope_gz: r.get(6)?,
                },
            ))
        })?
        .filter_map(|row| match row {
            Ok((source, mut d)) => source.parse().ok().map(|source| {
                d.list = source;
                Ok(d)
            }),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records the last push of a (cluster, source).
pub fn stamp(
    ctx: &mut WriterCtx,
    cluster_id: &str,
    source: Source,
    received_ms: i64,
    ts_ms: i64,
    items: Option<u64>,
) -> Result<(), StoreError> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO pushes (cluster_id, source, received_ms, ts_ms, items)
             VALUES (?1, ?2, ?3, ?4, COALESCE(?5, 0))
             ON CONFLICT (cluster_id, source) DO UPDATE SET
                received_ms = excluded.received_ms, ts_ms = excluded.ts_ms,
                items = COALESCE(?5, pushes.items)
             WHERE excluded.received_ms >= pushes.received_ms",
        )?
        .execute(params![
            cluster_id,
            source.as_str(),
            received_ms,
            ts_ms,
            items.map(|n| n as i64)
        ])?;
    Ok(())
}

/// The last push of every (cluster, source).
pub fn pushes(conn: &Connection) -> Result<Vec<PushRow>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT cluster_id, source, received_ms, ts_ms, items FROM pushes")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .filter_map(|row| match row {
            Ok((cluster, source, received, ts, items)) => source.parse().ok().map(|source| {
                Ok(PushRow {
                    cluster_id: cluster,
                    source,
                    received_ms: received,
                    ts_ms: ts,
                    items: items.max(0) as u64,
                })
            }),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Merges events by uid: a newer sighting (later last-seen, or as late with a higher count)
/// replaces the stored one.
pub fn upsert_events(
    ctx: &mut WriterCtx,
    cluster_id: &str,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut stmt = ctx.conn.prepare_cached(
        "INSERT INTO events (cluster_id, uid, last_seen_ms, count, json) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (cluster_id, uid) DO UPDATE SET
            last_seen_ms = excluded.last_seen_ms, count = excluded.count, json = excluded.json
         WHERE excluded.last_seen_ms > events.last_seen_ms
            OR (excluded.last_seen_ms = events.last_seen_ms AND excluded.count >= events.count)",
    )?;
    for event in events {
        let json = serde_json::to_string(event).expect("events serialize");
        stmt.execute(params![
            cluster_id,
            event.uid,
            event.last_seen_ms,
            event.count,
            json
        ])?;
    }
    Ok(())
}

fn series_id(ctx: &mut WriterCtx, cluster_id: &str, node: &str) -> Result<i64, StoreError> {
    let key = (cluster_id.to_owned(), node.to_owned());
    if let Some(id) = ctx.series.get(&key) {
        return Ok(*id);
    }
    ctx.conn
        .prepare_cached("INSERT OR IGNORE INTO series (cluster_id, node) VALUES (?1, ?2)")?
        .execute(params![cluster_id, node])?;
    let id: i64 = ctx
        .conn
        .prepare_cached("SELECT id FROM series WHERE cluster_id = ?1 AND node = ?2")?
        .query_row(params![cluster_id, node], |r| r.get(0))?;
    ctx.series.insert(key, id);
    Ok(id)
}

/// Stores node samples: the full sample as the node's latest, its history numbers as a raw row.
pub fn save_metrics(
    ctx: &mut WriterCtx,
    cluster_id: &str,
    samples: &[NodeMetricsSnapshot],
) -> Result<(), StoreError> {
    for sample in samples {
        let id = series_id(ctx, cluster_id, &sample.node)?;
        let json = serde_json::to_string(sample).expect("samples serialize");
        ctx.conn
            .prepare_cached(
                "INSERT INTO metrics_latest (series_id, ts_ms, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (series_id) DO UPDATE SET ts_ms = excluded.ts_ms, json = excluded.json
                 WHERE excluded.ts_ms >= metrics_latest.ts_ms",
            )?
            .execute(params![id, sample.ts_ms, json])?;
        insert_points(ctx, id, &[MetricPoint::from_snapshot(sample)])?;
    }
    Ok(())
}

/// Inserts raw history rows of one series (a repeated timestamp replaces the row).
pub fn insert_points(
    ctx: &mut WriterCtx,
    series_id: i64,
    points: &[MetricPoint],
) -> Result<(), StoreError> {
    let mut stmt = ctx.conn.prepare_cached(
        "INSERT OR REPLACE INTO metrics_raw
            (series_id, ts_ms, cpu, memory, load1, disk, rx, tx, temperature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for p in points {
        stmt.execute(params![
            series_id,
            p.ts_ms,
            p.cpu_percent,
            p.memory_percent,
            p.load1,
            p.disk_percent,
            p.net_rx_bytes_per_sec,
            p.net_tx_bytes_per_sec,
            p.temperature_celsius
        ])?;
    }
    Ok(())
}

/// The series id of (cluster, node), creating it (for benchmarks and tests of raw writes).
pub fn ensure_series(ctx: &mut WriterCtx, cluster_id: &str, node: &str) -> Result<i64, StoreError> {
    series_id(ctx, cluster_id, node)
}

/// Registers a cluster; [`StoreError::Conflict`] if the id exists.
pub fn insert_cluster(ctx: &mut WriterCtx, row: &ClusterRow) -> Result<(), StoreError> {
    ctx.conn.execute(
        "INSERT INTO clusters (id, name, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![row.id, row.name, row.token_hash, row.created_ms],
    )?;
    Ok(())
}

/// Registers a cluster or gives an existing one this token (configuration at start-up).
pub fn upsert_cluster(ctx: &mut WriterCtx, row: &ClusterRow) -> Result<(), StoreError> {
    ctx.conn.execute(
        "INSERT INTO clusters (id, name, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash",
        params![row.id, row.name, row.token_hash, row.created_ms],
    )?;
    Ok(())
}

/// Fails with [`StoreError::NoCluster`] unless `id` is registered: checked inside the transaction
/// of a write for that cluster, so no write lands for a cluster deleted before it.
pub fn require_cluster(ctx: &mut WriterCtx, id: &str) -> Result<(), StoreError> {
    let known = ctx
        .conn
        .prepare_cached("SELECT 1 FROM clusters WHERE id = ?1")?
        .exists([id])?;
    if known {
        Ok(())
    } else {
        Err(StoreError::NoCluster(id.to_owned()))
    }
}

/// Removes a cluster and everything stored for it (its commands too, so a cluster made again
/// under the id starts with an empty queue; the audit keeps their history); whether it existed.
pub fn delete_cluster(ctx: &mut WriterCtx, id: &str) -> Result<bool, StoreError> {
    let conn = &ctx.conn;
    let existed = conn.execute("DELETE FROM clusters WHERE id = ?1", [id])? > 0;
    conn.execute("DELETE FROM snapshots WHERE cluster_id = ?1", [id])?;
    conn.execute("DELETE FROM deltas WHERE cluster_id = ?1", [id])?;
    conn.execute("DELETE FROM pushes WHERE cluster_id = ?1", [id])?;
    conn.execute("DELETE FROM events WHERE cluster_id = ?1", [id])?;
    conn.execute("DELETE FROM commands WHERE cluster_id = ?1", [id])?;
    for table in [
        "metrics_latest",
        "metrics_raw",
        "metrics_minute",
        "metrics_hour",
    ] {
        conn.execute(
            &format!(
                "DELETE FROM {table} WHERE series_id IN (SELECT id FROM series WHERE cluster_id = ?1)"
            ),
            [id],
        )?;
    }
    conn.execute("DELETE FROM series WHERE cluster_id = ?1", [id])?;
    ctx.series.retain(|(cluster, _), _| cluster != id);
    Ok(existed)
}

/// Stores a user token (hashed); its id.
pub fn insert_token(
    ctx: &mut WriterCtx,
    name: &str,
    role: Role,
    token_hash: &str,
    created_ms: i64,
) -> Result<i64, StoreError> {
    ctx.conn.execute(
        "INSERT INTO tokens (name, role, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![name, role.as_str(), token_hash, created_ms],
    )?;
    Ok(ctx.conn.last_insert_rowid())
}

/// Revokes a live token unless it is the last live admin token. The check and the change run
/// in one transaction (the writer's), so two admins revoking each other cannot both win.
pub fn revoke_token(ctx: &mut WriterCtx, id: i64, now_ms: i64) -> Result<Revoked, StoreError> {
    let target: Option<(String, String)> = ctx
        .conn
        .query_row(
            "SELECT role, name FROM tokens WHERE id = ?1 AND revoked_ms IS NULL",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((role, name)) = target else {
        return Ok(Revoked::NotFound);
    };
    if role == Role::Admin.as_str() {
        let live_admins: i64 = ctx.conn.query_row(
            "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_ms IS NULL",
            [],
            |r| r.get(0),
        )?;
        if live_admins <= 1 {
            return Ok(Revoked::LastAdmin);
        }
    }
    let token_hash: String = ctx.conn.query_row(
        "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 RETURNING token_hash",
        params![id, now_ms],
        |r| r.get(0),
    )?;
    Ok(Revoked::Done { token_hash, name })
}

/// Appends an audit record; its id.
pub fn audit(ctx: &mut WriterCtx, r: &AuditRecord) -> Result<i64, StoreError> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO audit (ts_ms, actor, action, target, outcome, detail, actor_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            r.ts_ms, r.actor, r.action, r.target, r.outcome, r.detail, r.actor_id
        ])?;
    Ok(ctx.conn.last_insert_rowid())
}

/// Every cluster.
pub fn clusters(conn: &Connection) -> Result<Vec<ClusterRow>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id, name, token_hash, created_ms FROM clusters ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ClusterRow {
                id: r.get(0)?,
                name: r.get(1)?,
                token_hash: r.get(2)?,
                created_ms: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every user token, revoked ones included.
pub fn tokens(conn: &Connection) -> Result<Vec<TokenRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, name, role, created_ms, revoked_ms, token_hash FROM tokens ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let role: String = r.get(2)?;
            Ok(TokenRow {
                info: TokenInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    role: role.parse().unwrap_or(Role::Viewer),
                    created_ms: r.get(3)?,
                    revoked_ms: r.get(4)?,
                },
                token_hash: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Audit records, newest first, older than `before_id` when given.
pub fn audit_records(
    conn: &Connection,
    limit: usize,
    before_id: Option<i64>,
    filter: &AuditFilter,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, ts_ms, actor, action, target, outcome, detail, actor_id FROM audit
         WHERE id < ?1
           AND (?3 IS NULL OR actor = ?3)
           AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4)
           AND (?5 IS NULL OR substr(target, 1, length(?5)) = ?5)
           AND (?6 IS NULL OR outcome = ?6)
         ORDER BY id DESC LIMIT ?2",
    )?;
    let args = params![
        before_id.unwrap_or(i64::MAX),
        limit as i64,
        filter.actor,
        filter.action,
        filter.target,
        filter.outcome
    ];
    let rows = stmt
        .query_map(args, |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                ts_ms: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                outcome: r.get(5)?,
                detail: r.get(6)?,
                actor_id: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every stored snapshot (a restarted master serves these at once).
pub fn snapshots(conn: &Connection) -> Result<Vec<StoredSnapshot>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT cluster_id, source, ts_ms, received_ms, items, envelope_gz, epoch, seq
         FROM snapshots",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let source: String = r.get(1)?;
            Ok((
                source,
                StoredSnapshot {
                    cluster_id: r.get(0)?,
                    source: Source::Events,
                    ts_ms: r.get(2)?,
                    received_ms: r.get(3)?,
                    items: r.get::<_, i64>(4)? as u64,
                    envelope_gz: r.get(5)?,
                    sequence: match (r.get::<_, Option<String>>(6)?, r.get::<_, Option<i64>>(7)?) {
                        (Some(epoch), Some(seq)) => Some(Sequence {
                            epoch,
                            seq: seq as u64,
                        }),
                        _ => None,
                    },
                },
            ))
        })?
        .filter_map(|row| match row {
            Ok((source, mut s)) => source.parse().ok().map(|source| {
                s.source = source;
                Ok(s)
            }),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The newest `limit` events seen since `since_ms`, oldest first, with their cluster.
pub fn events(
    conn: &Connection,
    since_ms: i64,
    limit: usize,
) -> Result<Vec<(String, Event)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT cluster_id, json FROM (
            SELECT cluster_id, json, last_seen_ms FROM events WHERE last_seen_ms >= ?1
            ORDER BY last_seen_ms DESC LIMIT ?2)
         ORDER BY last_seen_ms",
    )?;
    let rows = stmt
        .query_map(params![since_ms, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .filter_map(|row| match row {
            Ok((cluster, json)) => serde_json::from_str(&json).ok().map(|e| Ok((cluster, e))),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Each node's latest full sample, with its cluster.
pub fn latest_metrics(conn: &Connection) -> Result<Vec<(String, NodeMetricsSnapshot)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.cluster_id, m.json FROM metrics_latest m JOIN series s ON s.id = m.series_id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .filter_map(|row| match row {
            Ok((cluster, json)) => serde_json::from_str(&json).ok().map(|m| Ok((cluster, m))),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn point(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<MetricPoint> {
    Ok(MetricPoint {
        ts_ms: r.get(at)?,
        cpu_percent: r.get(at + 1)?,
        memory_percent: r.get(at + 2)?,
        load1: r.get(at + 3)?,
        disk_percent: r.get(at + 4)?,
        net_rx_bytes_per_sec: r.get(at + 5)?,
        net_tx_bytes_per_sec: r.get(at + 6)?,
        temperature_celsius: r.get(at + 7)?,
    })
}

/// Raw history rows since `since_ms`, oldest first, with their cluster and node.
pub fn raw_points(
    conn: &Connection,
    since_ms: i64,
    limit: usize,
) -> Result<Vec<(String, String, MetricPoint)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.cluster_id, s.node, r.ts_ms, r.cpu, r.memory, r.load1, r.disk, r.rx, r.tx,
                r.temperature
         FROM (SELECT * FROM metrics_raw WHERE ts_ms >= ?1 ORDER BY ts_ms DESC LIMIT ?2) r
         JOIN series s ON s.id = r.series_id ORDER BY r.ts_ms",
    )?;
    let rows = stmt
        .query_map(params![since_ms, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, point(r, 2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A node's history in `[from_ms, to_ms)` at `resolution`, averaged per `step_ms` (weighted by
/// the samples each rollup row holds), oldest first.
pub fn metric_range(
    conn: &Connection,
    range: &MetricRange,
) -> Result<Vec<MetricPoint>, StoreError> {
    let MetricRange {
        cluster_id,
        node,
        from_ms,
        to_ms,
        step_ms,
        resolution,
    } = range;
    let (table, weight) = match resolution {
        Resolution::Raw => ("metrics_raw", "1"),
        Resolution::Minute => ("metrics_minute", "samples"),
        Resolution::Hour => ("metrics_hour", "samples"),
    };
    let sql = format!(
        "SELECT ?3 + ((t.ts_ms - ?3) / ?5) * ?5 AS bucket,
                sum(cpu * {weight}) / sum({weight}), sum(memory * {weight}) / sum({weight}),
                sum(load1 * {weight}) / sum({weight}), sum(disk * {weight}) / sum({weight}),
                sum(rx * {weight}) / sum({weight}), sum(tx * {weight}) / sum({weight}),
                max(temperature)
         FROM {table} t JOIN series s ON s.id = t.series_id
         WHERE s.cluster_id = ?1 AND s.node = ?2 AND t.ts_ms >= ?3 AND t.ts_ms < ?4
         GROUP BY bucket ORDER BY bucket"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            params![cluster_id, node, from_ms, to_ms, (*step_ms).max(1)],
            |r| point(r, 0),
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Samples may arrive this late and still count in their minute's rollup.
const ROLLUP_GRACE_MS: i64 = 2 * MINUTE_MS;

fn meta_i64(conn: &Connection, key: &str) -> Result<i64, StoreError> {
    let value: String =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?;
    Ok(value.parse().unwrap_or(0))
}

/// Stream ids this master may hand out are reserved in the database ahead of use, so ids only
/// grow across restarts even when the wall clock steps back: the first id of a new run is
/// past every id reserved by earlier runs. Returns that first id (`now_us` when the clock is
/// ahead of every reservation) and reserves `block` ids from it.
pub fn stream_ids_from(ctx: &mut WriterCtx, now_us: u64, block: u64) -> Result<u64, StoreError> {
    let reserved = stream_reservation(&ctx.conn)?;
    let first = now_us.max(reserved);
    reserve_stream_ids_through(ctx, first.saturating_add(block))?;
    Ok(first)
}

/// Extends the reservation of stream ids through `until` (never shrinks it).
pub fn reserve_stream_ids_through(ctx: &mut WriterCtx, until: u64) -> Result<(), StoreError> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO meta (key, value) VALUES ('stream_ids_reserved', ?1)
             ON CONFLICT (key) DO UPDATE SET value = CAST(MAX(CAST(value AS INTEGER),
                                                          CAST(excluded.value AS INTEGER)) AS TEXT)",
        )?
        .execute([until.min(i64::MAX as u64).to_string()])?;
    Ok(())
}

/// How far stream ids are reserved.
pub fn stream_reservation(conn: &Connection) -> Result<u64, StoreError> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'stream_ids_reserved'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The latest receive time of any push: master's receive clock never runs behind it, even if
/// the wall clock stepped back across a restart.
pub fn latest_receipt(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .query_row("SELECT MAX(received_ms) FROM pushes", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?
        .unwrap_or(0))
}

fn set_meta(conn: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE meta SET value = ?2 WHERE key = ?1",
        params![key, value.to_string()],
    )?;
    Ok(())
}

/// Rolls the complete minutes of raw rows into one-minute rows and the complete hours of those
/// into one-hour rows, each exactly once (watermarks in `meta`). Returns the rows written.
pub fn rollup(ctx: &mut WriterCtx, now_ms: i64) -> Result<usize, StoreError> {
    const COLUMNS: &str = "cpu, memory, load1, disk, rx, tx, temperature";
    let merge = "ON CONFLICT (series_id, ts_ms) DO UPDATE SET
        samples = samples + excluded.samples,
        cpu = (cpu * samples + excluded.cpu * excluded.samples) / (samples + excluded.samples),
        memory = (memory * samples + excluded.memory * excluded.samples) / (samples + excluded.samples),
        load1 = (load1 * samples + excluded.load1 * excluded.samples) / (samples + excluded.samples),
        disk = (disk * samples + excluded.disk * excluded.samples) / (samples + excluded.samples),
        rx = (rx * samples + excluded.rx * excluded.samples) / (samples + excluded.samples),
        tx = (tx * samples + excluded.tx * excluded.samples) / (samples + excluded.samples),
        temperature = max(coalesce(temperature, excluded.temperature),
                          coalesce(excluded.temperature, temperature))";
    let conn = &ctx.conn;
    let mut written = 0;

    let minute_from = meta_i64(conn, "rolled_minute_ms")?;
    let minute_to = (now_ms - ROLLUP_GRACE_MS).div_euclid(MINUTE_MS) * MINUTE_MS;
    if minute_to > minute_from {
        written += conn.execute(
            &format!(
                "INSERT INTO metrics_minute (series_id, ts_ms, samples, {COLUMNS})
                 SELECT series_id, (ts_ms / {MINUTE_MS}) * {MINUTE_MS} AS m, count(*),
                        avg(cpu), avg(memory), avg(load1), avg(disk), avg(rx), avg(tx),
                        max(temperature)
                 FROM metrics_raw WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY series_id, m
                 {merge}"
            ),
            params![minute_from, minute_to],
        )?;
        set_meta(conn, "rolled_minute_ms", minute_to)?;
    }

    let hour_from = meta_i64(conn, "rolled_hour_ms")?;
    let hour_to = minute_to.max(minute_from).div_euclid(HOUR_MS) * HOUR_MS;
    if hour_to > hour_from {
        written += conn.execute(
            &format!(
                "INSERT INTO metrics_hour (series_id, ts_ms, samples, {COLUMNS})
                 SELECT series_id, (ts_ms / {HOUR_MS}) * {HOUR_MS} AS h, sum(samples),
                        sum(cpu * samples) / sum(samples), sum(memory * samples) / sum(samples),
                        sum(load1 * samples) / sum(samples), sum(disk * samples) / sum(samples),
                        sum(rx * samples) / sum(samples), sum(tx * samples) / sum(samples),
                        max(temperature)
                 FROM metrics_minute WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY series_id, h
                 {merge}"
            ),
            params![hour_from, hour_to],
        )?;
        set_meta(conn, "rolled_hour_ms", hour_to)?;
    }
    Ok(written)
}

/// Deletes what has outlived its retention; the rows deleted.
pub fn purge(ctx: &mut WriterCtx, now_ms: i64, keep: Retention) -> Result<usize, StoreError> {
    let conn = &ctx.conn;
    let mut deleted = conn.execute(
        "DELETE FROM events WHERE last_seen_ms < ?1",
        [now_ms - keep.events_ms],
    )?;
    for (table, ms) in [
        ("metrics_raw", keep.raw_ms),
        ("metrics_minute", keep.minute_ms),
        ("metrics_hour", keep.hour_ms),
    ] {
        deleted += conn.execute(
            &format!("DELETE FROM {table} WHERE ts_ms < ?1"),
            [now_ms - ms],
        )?;
    }
    // Settled commands past their age, then the oldest past the count (insertion order).
    deleted += conn.execute(
        "DELETE FROM commands WHERE status NOT IN ('queued', 'delivered')
           AND CAST(json_extract(command, '$.created_ms') AS INTEGER) < ?1",
        [now_ms - keep.commands_ms],
    )?;
    deleted += conn.execute(
        "DELETE FROM commands WHERE rowid IN (
           SELECT rowid FROM commands WHERE status NOT IN ('queued', 'delivered')
           ORDER BY rowid DESC LIMIT -1 OFFSET ?1)",
        [keep.max_commands as i64],
    )?;
    deleted += conn.execute(
        "DELETE FROM audit WHERE ts_ms < ?1",
        [now_ms - keep.audit_ms],
    )?;
    deleted += conn.execute(
        "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id DESC LIMIT -1 OFFSET ?1)",
        [keep.max_audit as i64],
    )?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::Sqlite;

    fn sample_point(ts_ms: i64, cpu: f64) -> MetricPoint {
        MetricPoint {
            ts_ms,
            cpu_percent: cpu,
            memory_percent: 50.0,
            load1: 1.0,
            disk_percent: 10.0,
            net_rx_bytes_per_sec: 100.0,
            net_tx_bytes_per_sec: 10.0,
            temperature_celsius: Some(40.0 + cpu / 10.0),
        }
    }

    #[tokio::test]
    async fn rollups_average_each_minute_and_hour_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Sqlite::open(&dir.path().join("t.db"), 0, |_, _| {}).unwrap();
        let hour0 = 1_764_000_000_000_i64.div_euclid(HOUR_MS) * HOUR_MS;
        // Two hours of samples every 5 s; cpu is 10 in even minutes and 30 in odd ones.
        let points: Vec<MetricPoint> = (0..2 * 720)
            .map(|i| {
                let ts = hour0 + i * 5_000;
                let cpu = if (ts / MINUTE_MS) % 2 == 0 {
                    10.0
                } else {
                    30.0
                };
                sample_point(ts, cpu)
            })
            .collect();
        db.write(move |ctx| {
            let id = ensure_series(ctx, "c1", "n1")?;
            insert_points(ctx, id, &points)?;
            Ok(())
        })
        .await
        .unwrap();
        let now = hour0 + 2 * HOUR_MS + ROLLUP_GRACE_MS;
        let written = db.write(move |ctx| rollup(ctx, now)).await.unwrap();
        assert_eq!(written, 120 + 2);
        // A second run finds nothing new.
        assert_eq!(db.write(move |ctx| rollup(ctx, now)).await.unwrap(), 0);

        let range = |resolution, step| {
            db.read(move |conn| {
                metric_range(
                    conn,
                    &MetricRange {
                        cluster_id: "c1".to_owned(),
                        node: "n1".to_owned(),
                        from_ms: hour0,
                        to_ms: hour0 + 2 * HOUR_MS,
                        step_ms: step,
                        resolution,
                    },
                )
            })
        };
        let minutes = range(Resolution::Minute, MINUTE_MS).await.unwrap();
        assert_eq!(minutes.len(), 120);
        assert_eq!(
            minutes[0].cpu_percent,
            if (hour0 / MINUTE_MS) % 2 == 0 {
                10.0
            } else {
                30.0
            }
        );
        let hours = range(Resolution::Hour, HOUR_MS).await.unwrap();
        assert_eq!(hours.len(), 2);
        assert!((hours[0].cpu_percent - 20.0).abs() < 1e-9, "{hours:?}");
        assert_eq!(hours[0].temperature_celsius, Some(43.0));
        // Raw rows averaged into 10-minute steps agree with the minute rollups.
        let raw = range(Resolution::Raw, 10 * MINUTE_MS).await.unwrap();
        assert_eq!(raw.len(), 12);
        assert!((raw[0].cpu_percent - 20.0).abs() < 1e-9);

        let keep = Retention {
            events_ms: HOUR_MS,
            raw_ms: 15 * MINUTE_MS,
            minute_ms: HOUR_MS,
            hour_ms: 30 * 24 * HOUR_MS,
            commands_ms: HOUR_MS,
            max_commands: 1_000,
            audit_ms: HOUR_MS,
            max_audit: 1_000,
        };
        let deleted = db.write(move |ctx| purge(ctx, now, keep)).await.unwrap();
        assert!(deleted > 1_000, "{deleted}");
        assert_eq!(range(Resolution::Hour, HOUR_MS).await.unwrap().len(), 2);
    }
}
