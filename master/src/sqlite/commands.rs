//! The command queue's rows: written when a command is queued (before the `201`), delivered,
//! settled or expired; read back whole when master starts.

use atlhyper_model::api::CommandInfo;
use atlhyper_model::{Command, CommandStatus};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, WriterCtx};
use crate::store::LoadedCommands;

fn status_from(text: &str) -> CommandStatus {
    match text {
        "queued" => CommandStatus::Queued,
        "delivered" => CommandStatus::Delivered,
        "succeeded" => CommandStatus::Succeeded,
        "failed" => CommandStatus::Failed,
        "rejected" => CommandStatus::Rejected,
        "unknown" => CommandStatus::Unknown,
        _ => CommandStatus::Expired,
    }
}

/// Inserts a new command at queue version `seq`.
pub fn insert(ctx: &mut WriterCtx, info: &CommandInfo, seq: u64) -> Result<(), StoreError> {
    let c = &info.command;
    let json = serde_json::to_string(c).map_err(|e| StoreError::Other(e.to_string()))?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO commands (id, cluster_id, requested_by, idempotency_key, seq, command,
                                   status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            c.id,
            c.cluster_id,
            c.requested_by,
            c.idempotency_key,
            seq as i64,
            json,
            info.status.as_str()
        ])?;
    Ok(())
}

/// Moves a command on from `from` (delivery, result, expiry); `false`, writing nothing, when
/// it is no longer in `from`: another change won the race, and that one stands.
pub fn advance(
    ctx: &mut WriterCtx,
    info: &CommandInfo,
    from: CommandStatus,
) -> Result<bool, StoreError> {
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE commands SET status = ?2, delivered_ms = ?3, finished_ms = ?4, message = ?5,
             output = ?6, delivered_to = ?8 WHERE id = ?1 AND status = ?7",
        )?
        .execute(params![
            info.command.id,
            info.status.as_str(),
            info.delivered_ms,
            info.finished_ms,
            info.message,
            info.output,
            from.as_str(),
            info.delivered_to
        ])?;
    Ok(changed == 1)
}

/// Every command of a registered cluster created at or after `since_ms`, and every one not yet
/// final, with its queue version; and each cluster's queue version.
pub fn load(conn: &Connection, since_ms: i64) -> Result<LoadedCommands, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, command, status, delivered_ms, finished_ms, message, output, delivered_to
         FROM commands
         WHERE (status IN ('queued', 'delivered')
                OR CAST(json_extract(command, '$.created_ms') AS INTEGER) >= ?1)
           AND cluster_id IN (SELECT id FROM clusters)
         ORDER BY cluster_id, seq",
    )?;
    let rows = stmt
        .query_map(params![since_ms], row)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut commands = Vec::with_capacity(rows.len());
    for (seq, info) in rows {
        commands.push((seq, info?));
    }
    let mut stmt = conn.prepare("SELECT cluster_id, MAX(seq) FROM commands GROUP BY cluster_id")?;
    let versions = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok((commands, versions))
}

type Row = (u64, Result<CommandInfo, StoreError>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let seq: i64 = r.get(0)?;
    let json: String = r.get(1)?;
    let status: String = r.get(2)?;
    let info = serde_json::from_str::<Command>(&json)
        .map_err(|e| StoreError::Other(format!("a stored command does not read back: {e}")))
        .map(|command| -> rusqlite::Result<CommandInfo> {
            Ok(CommandInfo {
                command,
                status: status_from(&status),
                delivered_ms: r.get(3)?,
                finished_ms: r.get(4)?,
                message: r.get(5)?,
                output: r.get(6)?,
                delivered_to: r.get(7)?,
            })
        });
    Ok(match info {
        Ok(Ok(info)) => (seq as u64, Ok(info)),
        Ok(Err(e)) => return Err(e),
        Err(e) => (seq as u64, Err(e)),
    })
}

/// One command by id (older ones than master keeps in memory).
pub fn get(conn: &Connection, id: &str) -> Result<Option<CommandInfo>, StoreError> {
    conn.query_row(
        "SELECT seq, command, status, delivered_ms, finished_ms, message, output, delivered_to
         FROM commands
         WHERE id = ?1",
        params![id],
        row,
    )
    .optional()?
    .map(|(_, info)| info)
    .transpose()
}

/// The command `user` queued in `cluster_id` under idempotency key `key`, if it is still kept.
pub fn by_key(
    conn: &Connection,
    cluster_id: &str,
    user: &str,
    key: &str,
) -> Result<Option<CommandInfo>, StoreError> {
    conn.query_row(
        "SELECT seq, command, status, delivered_ms, finished_ms, message, output, delivered_to
         FROM commands
         WHERE cluster_id = ?1 AND requested_by = ?2 AND idempotency_key = ?3",
        params![cluster_id, user, key],
        row,
    )
    .optional()?
    .map(|(_, info)| info)
    .transpose()
}
