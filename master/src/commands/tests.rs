//! The queue against a real SQLite file, with the writer's commit delay widening the races
//! between acks, expiry and deliveries.

use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::api::Role;
use atlhyper_model::{Ack, AckStatus, CommandKind, CommandStatus};

use super::*;
use crate::sqlite::Sqlite;
use crate::store::ClusterRow;
use crate::stream::{BufferLimits, Hub};

const MIN: i64 = 60_000;

struct Fixture {
    commands: Arc<Commands>,
    db: Sqlite,
    _dir: tempfile::TempDir,
}

async fn fixture(commit_delay: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Sqlite::open_with_delay(&dir.path().join("m.db"), 1 << 30, commit_delay, |_, _| {})
        .unwrap();
    let row = ClusterRow {
        id: "c1".into(),
        name: "c1".into(),
        token_hash: "unused".into(),
        created_ms: 0,
    };
    Store::upsert_cluster(&db, row).await.unwrap();
    let hub = Arc::new(Hub::new(
        BufferLimits {
            max_items: 1_000,
            max_bytes: 1 << 20,
        },
        1,
    ));
    let commands = Arc::new(Commands::new(
        Arc::new(db.clone()),
        hub,
        QueueLimits {
            ttl: Duration::from_secs(600),
            keep: Duration::from_secs(86_400),
            max_output: 1 << 20,
            max_open: 100,
            max_settled: 1_000,
        },
    ));
    Fixture {
        commands,
        db,
        _dir: dir,
    }
}

fn drain(timeout_seconds: u32) -> CommandKind {
    CommandKind::Drain {
        node: "n1".into(),
        grace_seconds: None,
        ignore_daemonsets: true,
        timeout_seconds,
    }
}

fn ack(id: &str, at: i64) -> Ack {
    Ack {
        command_id: id.into(),
        status: AckStatus::Succeeded,
        message: "18 pods evicted".into(),
        output: None,
        finished_ms: at,
    }
}

impl Fixture {
    /// Queues `kind` at `at` and delivers it in the same instant; its id.
    async fn delivered(&self, kind: CommandKind, at: i64) -> String {
        let (info, _) = self
            .commands
            .create("c1", None, kind, "ann", Role::Admin, at)
            .await
            .unwrap();
        let set = self
            .commands
            .poll("c1", 0, Some("run-1"), Duration::ZERO, move || at)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(set.commands.len(), 1);
        info.command.id
    }

    async fn stored(&self, id: &str) -> (String, Vec<String>) {
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                let status =
                    conn.query_row("SELECT status FROM commands WHERE id = ?1", [&id], |r| {
                        r.get::<_, String>(0)
                    })?;
                let mut stmt = conn
                    .prepare("SELECT action FROM audit WHERE detail LIKE ?1 || ' %' ORDER BY id")?;
                let actions = stmt
                    .query_map([&id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((status, actions))
            })
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_long_drain_is_not_expired_while_it_may_still_run_and_its_result_is_kept() {
    let f = fixture(Duration::ZERO).await;
    let id = f.delivered(drain(3_600), 0).await;
    // Past the queue TTL (10 min), well within the drain's own hour.
    f.commands.expire(30 * MIN).await.unwrap();
    let held = f.commands.get(&id).await.unwrap().unwrap();
    assert_eq!(held.status, CommandStatus::Delivered, "{held:?}");
    let receipt = f
        .commands
        .ack("c1", vec![ack(&id, 50 * MIN)], 50 * MIN)
        .await
        .unwrap();
    assert_eq!(receipt.settled[0].outcome, "settled");
    let held = f.commands.get(&id).await.unwrap().unwrap();
    assert_eq!(held.status, CommandStatus::Succeeded);
    assert_eq!(held.message.as_deref(), Some("18 pods evicted"));
}

#[tokio::test]
async fn a_delivered_command_expires_once_its_run_limit_and_the_ttl_have_passed() {
    let f = fixture(Duration::ZERO).await;
    let id = f
        .delivered(CommandKind::Cordon { node: "n1".into() }, 0)
        .await;
    // Cordon may run 2 min; then the agent has the queue TTL (10 min) to report.
    f.commands.expire(11 * MIN).await.unwrap();
    assert_eq!(
        f.commands.get(&id).await.unwrap().unwrap().status,
        CommandStatus::Delivered
    );
    f.commands.expire(12 * MIN + 1).await.unwrap();
    assert_eq!(
        f.commands.get(&id).await.unwrap().unwrap().status,
        CommandStatus::Expired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_racing_expiry_has_one_winner_in_memory_the_database_and_the_audit() {
    let f = fixture(Duration::from_millis(300)).await;
    let id = f
        .delivered(CommandKind::Cordon { node: "n1".into() }, 0)
        .await;
    let late = 13 * MIN;
    // Expiry reads the queue and waits on the writer; the ack reads the same state meanwhile.
    let expire = tokio::spawn({
        let commands = f.commands.clone();
        async move { commands.expire(late).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let receipt = f
        .commands
        .ack("c1", vec![ack(&id, late)], late)
        .await
        .unwrap();
    expire.await.unwrap().unwrap();

    let held = f.commands.get(&id).await.unwrap().unwrap();
    let (stored, actions) = f.stored(&id).await;
    assert_eq!(
        stored,
        held.status.as_str(),
        "memory and the database agree"
    );
    let settling: Vec<&String> = actions
        .iter()
        .filter(|a| *a == "command.result" || *a == "command.expire")
        .collect();
    assert_eq!(settling.len(), 1, "one settlement audited: {actions:?}");
    let expected = if held.status == CommandStatus::Succeeded {
        "settled"
    } else {
        "duplicate"
    };
    assert_eq!(receipt.settled[0].outcome, expected, "{held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_acks_of_one_command_in_flight_together_settle_it_once() {
    let f = fixture(Duration::from_millis(300)).await;
    let id = f
        .delivered(CommandKind::Cordon { node: "n1".into() }, 0)
        .await;
    let first = tokio::spawn({
        let (commands, id) = (f.commands.clone(), id.clone());
        async move { commands.ack("c1", vec![ack(&id, MIN)], MIN).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second_ack = ack(&id, MIN);
    second_ack.status = AckStatus::Failed;
    second_ack.message = "a second report".into();
    let second = f.commands.ack("c1", vec![second_ack], MIN).await.unwrap();
    let first = first.await.unwrap().unwrap();
    let outcomes = [
        first.settled[0].outcome.as_str(),
        second.settled[0].outcome.as_str(),
    ];
    assert_eq!(outcomes, ["settled", "duplicate"]);
    let held = f.commands.get(&id).await.unwrap().unwrap();
    let (stored, actions) = f.stored(&id).await;
    assert_eq!(held.status, CommandStatus::Succeeded);
    assert_eq!(stored, "succeeded");
    assert_eq!(
        actions.iter().filter(|a| *a == "command.result").count(),
        1,
        "{actions:?}"
    );
}
