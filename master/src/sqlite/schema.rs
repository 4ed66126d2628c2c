//! The schema, as numbered migrations: a database records the last one applied in
//! `PRAGMA user_version`, and each start applies the ones it lacks, in one transaction each.

use rusqlite::Connection;

/// Migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: everything master keeps.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('probe', '0');

    -- Clusters and their agent tokens (SHA-256, hex).
    CREATE TABLE clusters (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL
    );

    -- User tokens.
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        token_hash TEXT NOT NULL UNIQUE,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER
    );

    -- The latest snapshot per (cluster, source): the envelope, gzip JSON.
    CREATE TABLE snapshots (
        cluster_id TEXT NOT NULL,
        source TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        items INTEGER NOT NULL,
        envelope_gz BLOB NOT NULL,
        PRIMARY KEY (cluster_id, source)
    );

    -- The last push of each (cluster, source), appending sources included.
    CREATE TABLE pushes (
        cluster_id TEXT NOT NULL,
        source TEXT NOT NULL,
        received_ms INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        items INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, source)
    );

    -- Events, merged by uid.
    CREATE TABLE events (
        cluster_id TEXT NOT NULL,
        uid TEXT NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        count INTEGER NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (cluster_id, uid)
    );
    CREATE INDEX events_by_last_seen ON events (last_seen_ms);

    -- One series per (cluster, node); metric tables refer to it by id.
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        node TEXT NOT NULL,
        UNIQUE (cluster_id, node)
    );
    CREATE TABLE metrics_latest (
        series_id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        json TEXT NOT NULL
    );
    CREATE TABLE metrics_raw (
        series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,
        cpu REAL NOT NULL, memory REAL NOT NULL, load1 REAL NOT NULL, disk REAL NOT NULL,
        rx REAL NOT NULL, tx REAL NOT NULL, temperature REAL,
        PRIMARY KEY (series_id, ts_ms)
    ) WITHOUT ROWID;
    CREATE TABLE metrics_minute (
        series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, samples INTEGER NOT NULL,
        cpu REAL NOT NULL, memory REAL NOT NULL, load1 REAL NOT NULL, disk REAL NOT NULL,
        rx REAL NOT NULL, tx REAL NOT NULL, temperature REAL,
        PRIMARY KEY (series_id, ts_ms)
    ) WITHOUT ROWID;
    CREATE TABLE metrics_hour (
        series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, samples INTEGER NOT NULL,
        cpu REAL NOT NULL, memory REAL NOT NULL, load1 REAL NOT NULL, disk REAL NOT NULL,
        rx REAL NOT NULL, tx REAL NOT NULL, temperature REAL,
        PRIMARY KEY (series_id, ts_ms)
    ) WITHOUT ROWID;
    -- Rollups are computed up to these instants (exclusive), per resolution.
    INSERT INTO meta (key, value) VALUES ('rolled_minute_ms', '0'), ('rolled_hour_ms', '0');

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT
    );
    "#,
    // 2: the command queue. `seq` is the cluster queue's version when the command was added;
    // a queue's version is the largest `seq` of its cluster.
    r#"
    CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        delivered_ms INTEGER,
        finished_ms INTEGER,
        message TEXT,
        output TEXT,
        UNIQUE (cluster_id, idempotency_key)
    );
    CREATE INDEX commands_by_cluster ON commands (cluster_id, seq);
    CREATE INDEX audit_by_target ON audit (target);
    "#,
    // 3: an idempotency key belongs to its (cluster, user): one user's key never names another
    // user's command. (SQLite changes a UNIQUE constraint by copying the table.)
    r#"
    CREATE TABLE commands_v3 (
        id TEXT PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        delivered_ms INTEGER,
        finished_ms INTEGER,
        message TEXT,
        output TEXT,
        UNIQUE (cluster_id, requested_by, idempotency_key)
    );
    INSERT INTO commands_v3
        SELECT id, cluster_id, COALESCE(json_extract(command, '$.requested_by'), ''),
               idempotency_key, seq, command, status, delivered_ms, finished_ms, message, output
        FROM commands;
    DROP TABLE commands;
    ALTER TABLE commands_v3 RENAME TO commands;
    CREATE INDEX commands_by_cluster ON commands (cluster_id, seq);
    "#,
    // 4: a live token's name is its own (earlier duplicates get their id appended), and audit
    // records name the acting token's id.
    r#"
    UPDATE tokens SET name = name || '-' || id
    WHERE revoked_ms IS NULL
      AND id NOT IN (SELECT MIN(id) FROM tokens WHERE revoked_ms IS NULL GROUP BY name);
    CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_ms IS NULL;
    ALTER TABLE audit ADD COLUMN actor_id INTEGER;
    "#,
    // 5: which run (session) of the agent a command was delivered to.
    r#"
    ALTER TABLE commands ADD COLUMN delivered_to TEXT;
    "#,
    // 6: deltas. A snapshot records where it stands in its agent's numbering; the deltas of a
    // list since its snapshot are kept in commit order (`id`), for a restart to apply again.
    r#"
    ALTER TABLE snapshots ADD COLUMN epoch TEXT;
    ALTER TABLE snapshots ADD COLUMN seq INTEGER;
    CREATE TABLE deltas (
        id INTEGER PRIMARY KEY,
        cluster_id TEXT NOT NULL,
        source TEXT NOT NULL,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        envelope_gz BLOB NOT NULL
    );
    CREATE INDEX deltas_by_list ON deltas (cluster_id, source, epoch, seq);
    "#,
];

/// The schema version this build writes.
pub const VERSION: usize = MIGRATIONS.len();

/// Applies every migration the database lacks.
///
/// # Errors
/// An SQLite error, or a database newer than this build.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let current = current.max(0) as usize;
    if current > VERSION {
        return Err(MigrateError::TooNew {
            found: current,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the database has schema version {found}; this build knows up to {known}")]
    TooNew { found: usize, known: usize },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_refuse_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, VERSION);
        conn.pragma_update(None, "user_version", VERSION as i64 + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrateError::TooNew { .. })
        ));
    }
}
