//! [`Store`] over SQLite: each write is one job of the writer's group commit (its own savepoint),
//! each read runs on a pooled read connection. After-commit steps go through the
//! [`super::sequencer`] keyed by cluster id, so they run in commit order.

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{AuditRecord, CommandInfo, MetricPoint};
use atlhyper_model::resources::Event;
use futures::future::BoxFuture;

use super::{Sqlite, commands as rows, ops};
use crate::store::{
    AfterCommit, AuditFilter, AuditOf, ClusterRow, CommandTransition, IngestWrite, LoadedCommands,
    MetricRange, NewToken, PushRow, Retention, Revoked, Store, StoreFuture, StoredDelta,
    StoredSnapshot, TokenRow,
};

impl Store for Sqlite {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn clusters(&self) -> StoreFuture<'_, Vec<ClusterRow>> {
        Box::pin(self.read(ops::clusters))
    }

    fn tokens(&self) -> StoreFuture<'_, Vec<TokenRow>> {
        Box::pin(self.read(ops::tokens))
    }

    fn snapshots(&self) -> StoreFuture<'_, Vec<StoredSnapshot>> {
        Box::pin(self.read(ops::snapshots))
    }

    fn deltas(&self) -> StoreFuture<'_, Vec<StoredDelta>> {
        Box::pin(self.read(ops::deltas))
    }

    fn pushes(&self) -> StoreFuture<'_, Vec<PushRow>> {
        Box::pin(self.read(ops::pushes))
    }

    fn events(&self, since_ms: i64, limit: usize) -> StoreFuture<'_, Vec<(String, Event)>> {
        Box::pin(self.read(move |conn| ops::events(conn, since_ms, limit)))
    }

    fn latest_metrics(&self) -> StoreFuture<'_, Vec<(String, NodeMetricsSnapshot)>> {
        Box::pin(self.read(ops::latest_metrics))
    }

    fn raw_points(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<(String, String, MetricPoint)>> {
        Box::pin(self.read(move |conn| ops::raw_points(conn, since_ms, limit)))
    }

    fn commands(&self, since_ms: i64) -> StoreFuture<'_, LoadedCommands> {
        Box::pin(self.read(move |conn| rows::load(conn, since_ms)))
    }

    fn stream_reservation(&self) -> StoreFuture<'_, u64> {
        Box::pin(self.read(ops::stream_reservation))
    }

    fn latest_receipt(&self) -> StoreFuture<'_, i64> {
        Box::pin(self.read(ops::latest_receipt))
    }

    fn metric_range(&self, range: MetricRange) -> StoreFuture<'_, Vec<MetricPoint>> {
        Box::pin(self.read(move |conn| ops::metric_range(conn, &range)))
    }

    fn audit_records(
        &self,
        limit: usize,
        before_id: Option<i64>,
        filter: AuditFilter,
    ) -> StoreFuture<'_, Vec<AuditRecord>> {
        Box::pin(self.read(move |conn| ops::audit_records(conn, limit, before_id, &filter)))
    }

    fn command(&self, id: String) -> StoreFuture<'_, Option<CommandInfo>> {
        Box::pin(self.read(move |conn| rows::get(conn, &id)))
    }

    fn command_by_key(
        &self,
        cluster_id: String,
        user: String,
        key: String,
    ) -> StoreFuture<'_, Option<CommandInfo>> {
        Box::pin(self.read(move |conn| rows::by_key(conn, &cluster_id, &user, &key)))
    }

    fn ingest(
        &self,
        cluster_id: String,
        writes: Vec<IngestWrite>,
        after: AfterCommit<()>,
    ) -> StoreFuture<'_, ()> {
        let key = cluster_id.clone();
        Box::pin(async move {
            self.write_then(
                &key,
                move |ctx| {
                    ops::require_cluster(ctx, &cluster_id)?;
                    for write in &writes {
                        match write {
                            IngestWrite::Stamp {
                                cluster_id,
                                source,
                                received_ms,
                                ts_ms,
                                items,
                            } => {
                                ops::stamp(ctx, cluster_id, *source, *received_ms, *ts_ms, *items)?
                            }
                            IngestWrite::Snapshot(s) => ops::save_snapshot(ctx, s)?,
                            IngestWrite::Delta(d) => ops::save_delta(ctx, d)?,
                            IngestWrite::Events { cluster_id, events } => {
                                ops::upsert_events(ctx, cluster_id, events)?
                            }
                            IngestWrite::Metrics {
                                cluster_id,
                                samples,
                            } => ops::save_metrics(ctx, cluster_id, samples)?,
                        }
                    }
                    Ok(())
                },
                after,
            )
            .await
        })
    }

    fn create_cluster(&self, row: ClusterRow, audit: AuditRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.write(move |ctx| {
            ops::insert_cluster(ctx, &row)?;
            ops::audit(ctx, &audit)?;
            Ok(())
        }))
    }

    fn upsert_cluster(&self, row: ClusterRow) -> StoreFuture<'_, ()> {
        Box::pin(self.write(move |ctx| ops::upsert_cluster(ctx, &row)))
    }

    fn delete_cluster(
        &self,
        id: String,
        audit: AuditOf<bool>,
        after: AfterCommit<bool>,
    ) -> StoreFuture<'_, bool> {
        let key = id.clone();
        Box::pin(async move {
            self.write_then(
                &key,
                move |ctx| {
                    let existed = ops::delete_cluster(ctx, &id)?;
                    if let Some(record) = audit(&existed) {
                        ops::audit(ctx, &record)?;
                    }
                    Ok(existed)
                },
                move |existed| {
                    after(existed);
                    existed
                },
            )
            .await
        })
    }

    fn create_token(&self, token: NewToken, audit: AuditOf<i64>) -> StoreFuture<'_, i64> {
        Box::pin(self.write(move |ctx| {
            let id = ops::insert_token(
                ctx,
                &token.name,
                token.role,
                &token.token_hash,
                token.created_ms,
            )?;
            if let Some(record) = audit(&id) {
                ops::audit(ctx, &record)?;
            }
            Ok(id)
        }))
    }

    fn revoke_token(
        &self,
        id: i64,
        now_ms: i64,
        audit: AuditOf<Revoked>,
    ) -> StoreFuture<'_, Revoked> {
        Box::pin(self.write(move |ctx| {
            let revoked = ops::revoke_token(ctx, id, now_ms)?;
            if let Some(record) = audit(&revoked) {
                ops::audit(ctx, &record)?;
            }
            Ok(revoked)
        }))
    }

    fn audit(&self, record: AuditRecord) -> StoreFuture<'_, i64> {
        Box::pin(self.write(move |ctx| ops::audit(ctx, &record)))
    }

    fn queue_command(
        &self,
        info: CommandInfo,
        seq: u64,
        audit: AuditRecord,
        after: AfterCommit<()>,
    ) -> StoreFuture<'_, ()> {
        let key = info.command.cluster_id.clone();
        Box::pin(async move {
            self.write_then(
                &key,
                move |ctx| {
                    ops::require_cluster(ctx, &info.command.cluster_id)?;
                    rows::insert(ctx, &info, seq)?;
                    ops::audit(ctx, &audit)?;
                    Ok(())
                },
                after,
            )
            .await
        })
    }

    fn advance_commands(
        &self,
        cluster_id: String,
        moves: Vec<CommandTransition>,
        after: AfterCommit<Vec<CommandInfo>>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.write_then(
                &cluster_id,
                move |ctx| {
                    let mut moved = Vec::with_capacity(moves.len());
                    for m in moves {
                        if rows::advance(ctx, &m.info, m.from)? {
                            ops::audit(ctx, &m.audit)?;
                            moved.push(m.info);
                        }
                    }
                    Ok(moved)
                },
                after,
            )
            .await
        })
    }

    fn purge(&self, now_ms: i64, keep: Retention) -> StoreFuture<'_, usize> {
        Box::pin(self.write(move |ctx| ops::purge(ctx, now_ms, keep)))
    }

    fn rollup(&self, now_ms: i64) -> StoreFuture<'_, usize> {
        Box::pin(self.write(move |ctx| ops::rollup(ctx, now_ms)))
    }

    fn stream_ids_from(&self, now_us: u64, block: u64) -> StoreFuture<'_, u64> {
        Box::pin(self.write(move |ctx| ops::stream_ids_from(ctx, now_us, block)))
    }

    fn reserve_stream_ids_through(&self, until: u64) -> StoreFuture<'_, ()> {
        Box::pin(self.write(move |ctx| ops::reserve_stream_ids_through(ctx, until)))
    }

    fn probe(&self) -> StoreFuture<'_, ()> {
        Box::pin(Sqlite::probe(self))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(Sqlite::close(self))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use atlhyper_model::api::{AuditRecord, Role};

    use super::*;
    use crate::store::{StoreError, after_commit};

    fn record(action: &str, target: &str) -> AuditRecord {
        AuditRecord {
            id: 0,
            ts_ms: 1,
            actor: "admin".to_owned(),
            actor_id: None,
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: "ok".to_owned(),
            detail: None,
        }
    }

    fn cluster(id: &str) -> ClusterRow {
        ClusterRow {
            id: id.to_owned(),
            name: id.to_owned(),
            token_hash: format!("hash-{id}"),
            created_ms: 1,
        }
    }

    /// The contract callers rely on, through `dyn Store`: a refused write runs no step and adds
    /// no audit record; a write that finds nothing to change audits nothing.
    #[tokio::test]
    async fn writes_and_their_audit_records_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(Sqlite::open(&dir.path().join("s.db"), 0, |_, _| {}).unwrap());
        store
            .create_cluster(cluster("c1"), record("create_cluster", "c1"))
            .await
            .unwrap();
        let again = store
            .create_cluster(cluster("c1"), record("create_cluster", "c1"))
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        let (after, applied) = after_commit(|()| "applied");
        let refused = store.ingest("gone".to_owned(), Vec::new(), after).await;
        assert!(
            matches!(refused, Err(StoreError::NoCluster(_))),
            "{refused:?}"
        );
        assert!(matches!(applied.value().await, Err(StoreError::Closed)));

        let (after, applied) = after_commit(|()| "applied");
        store
            .ingest("c1".to_owned(), Vec::new(), after)
            .await
            .unwrap();
        assert_eq!(applied.value().await.unwrap(), "applied");

        for (id, existed) in [("nope", false), ("c1", true)] {
            let (after, seen) = after_commit(|existed: bool| existed);
            let audit = record("delete_cluster", id);
            let deleted = store
                .delete_cluster(id.to_owned(), Box::new(move |e| e.then_some(audit)), after)
                .await
                .unwrap();
            assert_eq!((deleted, seen.value().await.unwrap()), (existed, existed));
        }

        let admin = NewToken {
            name: "only-admin".to_owned(),
            role: Role::Admin,
            token_hash: "h".to_owned(),
            created_ms: 1,
        };
        let id = store
            .create_token(
                admin,
                Box::new(|id| Some(record("create_token", &id.to_string()))),
            )
            .await
            .unwrap();
        let audit = record("revoke_token", &id.to_string());
        let revoked = store
            .revoke_token(id, 2, Box::new(move |_| Some(audit)))
            .await
            .unwrap();
        assert_eq!(revoked, Revoked::LastAdmin);

        let actions: Vec<(String, String)> = store
            .audit_records(10, None, AuditFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.action, r.target))
            .collect();
        assert_eq!(
            actions,
            [
                ("revoke_token".to_owned(), id.to_string()),
                ("create_token".to_owned(), id.to_string()),
                ("delete_cluster".to_owned(), "c1".to_owned()),
                ("create_cluster".to_owned(), "c1".to_owned()),
            ]
        );
        store.close().await;
    }
}
