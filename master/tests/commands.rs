//! The command queue over HTTP: checked before queued, idempotent, delivered by the long poll
//! (woken at once by a new command), settled by exactly its own ack, expired when nobody takes
//! it, kept across a restart, and audited at every step.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use common::{ADMIN, C1_TOKEN, C2_TOKEN, Master, fixture, start_with};

/// A master holding c1's pods, deployments and nodes.
async fn with_cluster(tweak: impl FnOnce(&mut atlhyper_master::Config)) -> Master {
    let master = start_with(tweak).await;
    for source in [
        "pod_list_snapshot",
        "deployment_list_snapshot",
        "node_list_snapshot",
    ] {
        let (status, body) = master.push(C1_TOKEN, &fixture(source, "c1")).await;
        assert_eq!(status, 202, "{body}");
    }
    master
}

const RESTART: &str =
    r#"{"kind":"restart_pod","args":{"namespace":"shop","name":"frontend-7c6d5b4a3f-9wzrt"}}"#;

impl Master {
    async fn command(
        &self,
        token: &str,
        cluster: &str,
        body: &str,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/v1/clusters/{cluster}/commands", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn poll(&self, token: &str, cluster: &str, rv: u64) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/control/watch", self.url))
            .bearer_auth(token)
            .json(&json!({"cluster_id": cluster, "rv": rv}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ack(&self, token: &str, cluster: &str, id: &str, status: &str) -> (u16, Value) {
        let body = json!({"cluster_id": cluster, "results": [{
            "command_id": id, "status": status, "message": "done", "finished_ms": common::now_ms(),
            "output": "line 1\nline 2"
        }]});
        self.send(Method::POST, token, "/control/ack", Some(body))
            .await
    }
}

#[tokio::test]
async fn bad_commands_are_refused_with_the_reason_and_audited() {
    let master = with_cluster(|_| {}).await;
    let cases = [
        (r#"{"kind":"reboot_everything","args":{}}"#, "c1", 400),
        (
            r#"{"kind":"scale","args":{"namespace":"shop","name":"checkout"}}"#,
            "c1",
            400,
        ),
        (
            r#"{"kind":"scale","args":{"namespace":"shop","name":"checkout","replicas":99999}}"#,
            "c1",
            422,
        ),
        (
            r#"{"kind":"update_image","args":{"namespace":"shop","name":"checkout","container":"checkout","image":"a b"}}"#,
            "c1",
            422,
        ),
        (
            r#"{"kind":"restart_pod","args":{"namespace":"shop","name":"no-such-pod"}}"#,
            "c1",
            404,
        ),
        (
            r#"{"kind":"cordon","args":{"node":"no-such-node"}}"#,
            "c1",
            404,
        ),
        (RESTART, "c9", 404),
        ("{not json", "c1", 400),
    ];
    for (body, cluster, want) in cases {
        let (status, answer) = master.command(ADMIN, cluster, body, None).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    // An agent token is not a user.
    let (status, _) = master.command(C1_TOKEN, "c1", RESTART, None).await;
    assert_eq!(status, 403);
    let (_, audit) = master.get(ADMIN, "/api/v1/audit?limit=100").await;
    let failed = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "command.create" && r["outcome"] == "failed")
        .count();
    assert!(failed >= 7, "{audit}");
    let (_, list) = master.get(ADMIN, "/api/v1/clusters/c1/commands").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing was queued"
    );
}

#[tokio::test]
async fn a_viewer_may_read_logs_but_not_restart_and_only_admin_drains() {
    let master = with_cluster(|_| {}).await;
    let mut tokens = Vec::new();
    for (name, role) in [("vera", "viewer"), ("otto", "operator")] {
        let (_, made) = master
            .send(
                Method::POST,
                ADMIN,
                "/api/v1/admin/tokens",
                Some(json!({"name": name, "role": role})),
            )
            .await;
        tokens.push(made["token"].as_str().unwrap().to_owned());
    }
    let (viewer, operator) = (&tokens[0], &tokens[1]);
    let logs = r#"{"kind":"pod_logs","args":{"namespace":"shop","name":"frontend-7c6d5b4a3f-9wzrt","tail_lines":10}}"#;
    let drain = r#"{"kind":"drain","args":{"node":"worker-3","ignore_daemonsets":true,"timeout_seconds":60}}"#;
    assert_eq!(master.command(viewer, "c1", logs, None).await.0, 201);
    let (status, denied) = master.command(viewer, "c1", RESTART, None).await;
    assert_eq!(status, 403);
    assert!(
        denied["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator"),
        "{denied}"
    );
    assert_eq!(master.command(operator, "c1", RESTART, None).await.0, 201);
    assert_eq!(master.command(operator, "c1", drain, None).await.0, 403);
    assert_eq!(master.command(ADMIN, "c1", drain, None).await.0, 201);
    let (_, audit) = master.get(ADMIN, "/api/v1/audit?limit=100").await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "command.create"
                && r["outcome"] == "denied"
                && r["actor"] == "vera")
    );
}

#[tokio::test]
async fn describe_namespace_finds_the_namespace() {
    let master = with_cluster(|_| {}).await;
    let (status, body) = master
        .push(C1_TOKEN, &fixture("namespace_list_snapshot", "c1"))
        .await;
    assert_eq!(status, 202, "{body}");
    let describe = r#"{"kind":"describe","args":{"object":"pod","namespace":"shop","name":"frontend-7c6d5b4a3f-9wzrt"}}"#;
    let (status, body) = master.command(ADMIN, "c1", describe, None).await;
    assert_eq!(status, 201, "{body}");
    let missing = r#"{"kind":"describe","args":{"object":"namespace","name":"nope"}}"#;
    assert_eq!(master.command(ADMIN, "c1", missing, None).await.0, 404);
}

#[tokio::test]
async fn the_same_idempotency_key_is_the_same_command() {
    let master = with_cluster(|_| {}).await;
    let (first, a) = master.command(ADMIN, "c1", RESTART, Some("retry-1")).await;
    let (again, b) = master.command(ADMIN, "c1", RESTART, Some("retry-1")).await;
    let (other, c) = master.command(ADMIN, "c1", RESTART, Some("retry-2")).await;
    assert_eq!((first, again, other), (201, 200, 201));
    assert_eq!(a["command"]["id"], b["command"]["id"]);
    assert_ne!(a["command"]["id"], c["command"]["id"]);
    assert_eq!(a["kind"], "Command");
    assert_eq!(a["command"]["kind"], "restart_pod");
    assert_eq!(a["status"], "queued");
    let (_, list) = master.get(ADMIN, "/api/v1/clusters/c1/commands").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn settled_commands_and_audit_rows_are_forgotten_by_age_and_count_in_memory_and_sqlite() {
    let master = with_cluster(|c| {
        c.command_ttl = Duration::from_millis(300);
        c.ttl = Duration::from_secs(2);
        c.cleanup_interval = Duration::from_millis(300);
        c.audit_ttl = Duration::from_secs(3_600);
        c.max_audit_rows = 50;
    })
    .await;
    let describe = |name: &str| {
        json!({"kind": "describe", "args": {"object": "node", "name": name}}).to_string()
    };
    let node = fixture("node_list_snapshot", "c1")["payload"]["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, made) = master
        .command(ADMIN, "c1", &describe(&node), Some("k1"))
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["command"]["id"].as_str().unwrap().to_owned();
    // It expires (nobody polls), then ages out of memory and SQLite alike.
    let rows = |db: &std::path::Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM commands", [], |r| r.get(0))
            .unwrap()
    };
    let gone =
        common::wait_until(Duration::from_secs(10), || async { rows(&master.db) == 0 }).await;
    assert!(gone, "the settled command's row is deleted after --ttl");
    let (status, _) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{id}"))
        .await;
    assert_eq!(status, 404, "forgotten in memory too");
    // Its key is free again.
    let (status, body) = master.command(ADMIN, "c1", RESTART, Some("k1")).await;
    assert_eq!(status, 201, "{body}");

    // Audit rows stay within their count.
    for i in 0..80 {
        master
            .send(
                Method::POST,
                ADMIN,
                "/api/v1/admin/tokens",
                Some(json!({"name": format!("u{i}"), "role": "viewer"})),
            )
            .await;
    }
    let audit_rows = |db: &std::path::Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .unwrap()
    };
    let trimmed = common::wait_until(Duration::from_secs(10), || async {
        audit_rows(&master.db) <= 50
    })
    .await;
    assert!(trimmed, "{} audit rows", audit_rows(&master.db));
}

#[tokio::test]
async fn idempotency_keys_are_visible_ascii_and_images_are_references() {
    let master = with_cluster(|_| {}).await;
    let (status, body) = master
        .command(ADMIN, "c1", RESTART, Some("has space"))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = master
        .command(ADMIN, "c1", RESTART, Some("tab\there"))
        .await;
    assert_eq!(status, 400, "{body}");
    for image in ["UPPER/CASE::@@bad", "nginx\u{0}", "nginx:"] {
        let body = json!({"kind": "update_image", "args": {"namespace": "shop",
            "name": "checkout", "container": "checkout", "image": image}});
        let (status, answer) = master.command(ADMIN, "c1", &body.to_string(), None).await;
        assert_eq!(status, 422, "{image:?}: {answer}");
    }
}

#[tokio::test]
async fn a_reused_idempotency_key_is_a_conflict_and_keys_belong_to_their_user() {
    let master = with_cluster(|_| {}).await;
    let (olga, _) = master.new_token("olga", "operator").await;
    let (oscar, _) = master.new_token("oscar", "operator").await;
    let scale = |n: u32| {
        format!(
            r#"{{"kind":"scale","args":{{"namespace":"shop","name":"checkout","replicas":{n}}}}}"#
        )
    };
    let (status, first) = master
        .command(&olga, "c1", &scale(3), Some("deploy-42"))
        .await;
    assert_eq!(status, 201, "{first}");

    // The same key with another request: refused, and the first stays the one queued.
    let (status, body) = master
        .command(&olga, "c1", &scale(5), Some("deploy-42"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused", "{body}");

    // Another user's same key is another command: keys do not cross users.
    let (status, theirs) = master
        .command(&oscar, "c1", &scale(4), Some("deploy-42"))
        .await;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["command"]["id"], first["command"]["id"]);

    // A retry of the very request is the same command, even once its target is gone.
    let empty = {
        let mut envelope = fixture("deployment_list_snapshot", "c1");
        envelope["payload"]["items"] = json!([]);
        envelope
    };
    assert_eq!(master.push(C1_TOKEN, &empty).await.0, 202);
    let (status, again) = master
        .command(&olga, "c1", &scale(3), Some("deploy-42"))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["command"]["id"], first["command"]["id"]);
}

#[tokio::test]
async fn queued_commands_are_rate_limited_per_user_and_capped_per_cluster() {
    let master = with_cluster(|c| {
        c.command_rate = 2;
        c.command_burst = 5;
        c.max_open_commands = 8;
    })
    .await;
    let user = async |name: &str| master.new_token(name, "viewer").await.0;
    let describe = r#"{"kind":"describe","args":{"object":"pod","namespace":"shop","name":"frontend-7c6d5b4a3f-9wzrt"}}"#;
    let vera = user("vera").await;
    let mut answers = Vec::new();
    for _ in 0..12 {
        let response = master
            .client
            .post(format!("{}/api/v1/clusters/c1/commands", master.url))
            .bearer_auth(&vera)
            .header("content-type", "application/json")
            .body(describe)
            .send()
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        answers.push((status, retry_after, body));
    }
    let created = answers.iter().filter(|a| a.0 == 201).count();
    assert!(
        (5..=7).contains(&created),
        "the burst, and what refilled meanwhile: {created}"
    );
    let (_, retry_after, body) = answers.iter().find(|a| a.0 == 429).expect("a 429");
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    let seconds: u64 = retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");

    // Other users are not slowed by vera, but the cluster's queue holds at most eight open.
    let mut statuses = Vec::new();
    for name in ["walt", "xena", "yuri"] {
        let token = user(name).await;
        for _ in 0..2 {
            statuses.push(master.command(&token, "c1", describe, None).await.0);
        }
    }
    let open = created + statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(open, 8, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let (_, metrics) = master.get(ADMIN, "/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("atlhyper_limit_hits_total{limit=\"rate_limited\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("atlhyper_limit_hits_total{limit=\"queue_full\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_long_poll_delivers_at_once_holds_when_idle_and_wakes_on_a_new_command() {
    let master = with_cluster(|c| c.poll_timeout = Duration::from_secs(5)).await;
    let (_, made) = master.command(ADMIN, "c1", RESTART, None).await;
    let id = made["command"]["id"].as_str().unwrap().to_owned();

    let (status, set) = master.poll(C1_TOKEN, "c1", 0).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["commands"][0]["id"], id.as_str());
    let rv = set["rv"].as_u64().unwrap();
    let (_, got) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{id}"))
        .await;
    assert_eq!(got["status"], "delivered");
    assert!(got["delivered_ms"].as_i64().is_some());

    // Nothing new: held, then 204.
    let started = Instant::now();
    let (status, _) = master.poll(C1_TOKEN, "c1", rv).await;
    assert_eq!(status, 204);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // A new command wakes a waiting poll at once.
    let poller = {
        let url = master.url.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let response = common::client()
                .post(format!("{url}/control/watch"))
                .bearer_auth(C1_TOKEN)
                .json(&json!({"cluster_id": "c1", "rv": rv}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                started.elapsed(),
                response.json::<Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued_at = Instant::now();
    let scale = r#"{"kind":"scale","args":{"namespace":"shop","name":"checkout","replicas":5}}"#;
    let (_, second) = master.command(ADMIN, "c1", scale, None).await;
    let (status, waited, set) = poller.await.unwrap();
    assert_eq!(status, 200);
    assert!(queued_at.elapsed() < Duration::from_secs(2) && waited < Duration::from_secs(4));
    let ids: Vec<&str> = set["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // The undelivered new one, and the delivered one not yet acked (the agent skips it).
    assert!(
        ids.contains(&second["command"]["id"].as_str().unwrap()) && ids.contains(&id.as_str()),
        "{set}"
    );
}

#[tokio::test]
async fn each_ack_settles_its_own_command_and_bad_acks_are_refused() {
    let master = with_cluster(|_| {}).await;
    let (_, a) = master.command(ADMIN, "c1", RESTART, Some("a")).await;
    let (_, b) = master.command(ADMIN, "c1", RESTART, Some("b")).await;
    let (a, b) = (
        a["command"]["id"].as_str().unwrap().to_owned(),
        b["command"]["id"].as_str().unwrap().to_owned(),
    );
    // Never delivered: refused.
    let (status, _) = master.ack(C1_TOKEN, "c1", &a, "succeeded").await;
    assert_eq!(status, 409);
    master.poll(C1_TOKEN, "c1", 0).await;

    let (status, receipt) = master.ack(C1_TOKEN, "c1", &a, "succeeded").await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["settled"][0]["outcome"], "settled");
    let (_, got_a) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{a}"))
        .await;
    let (_, got_b) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{b}"))
        .await;
    assert_eq!(got_a["status"], "succeeded");
    assert_eq!(got_a["output"], "line 1\nline 2");
    assert_eq!(got_b["status"], "delivered", "acking one settled another");

    // A duplicate is harmless: the first result stands.
    let (status, receipt) = master.ack(C1_TOKEN, "c1", &a, "failed").await;
    assert_eq!(
        (status, receipt["settled"][0]["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let (_, got_a) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{a}"))
        .await;
    assert_eq!(got_a["status"], "succeeded");

    // Unknown commands, another cluster's token, another cluster's command.
    assert_eq!(
        master.ack(C1_TOKEN, "c1", "cmd-nope", "succeeded").await.0,
        404
    );
    assert_eq!(master.ack(C2_TOKEN, "c1", &b, "succeeded").await.0, 403);
    assert_eq!(master.ack(C2_TOKEN, "c2", &b, "succeeded").await.0, 403);
    assert_eq!(master.poll(C2_TOKEN, "c1", 0).await.0, 403);
    assert_eq!(master.poll(ADMIN, "c1", 0).await.0, 403);
    let (_, got_b) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{b}"))
        .await;
    assert_eq!(got_b["status"], "delivered");

    // Every step of `a` is in the audit log.
    let (_, audit) = master.get(ADMIN, "/api/v1/audit?limit=100").await;
    let steps: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["detail"].as_str().is_some_and(|d| d.starts_with(&a)))
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for step in ["command.create", "command.deliver", "command.result"] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    // The audit log filters by action (prefix), target (prefix), actor and outcome.
    let (_, results) = master
        .get(
            ADMIN,
            "/api/v1/audit?action=command.result&outcome=ok&actor=cluster:c1",
        )
        .await;
    assert_eq!(results["items"].as_array().unwrap().len(), 1, "{results}");
    let (_, by_target) = master
        .get(
            ADMIN,
            "/api/v1/audit?action=command.&target=c1/shop/frontend",
        )
        .await;
    assert!(
        by_target["items"].as_array().unwrap().len() >= 5,
        "{by_target}"
    );
    let (_, none) = master.get(ADMIN, "/api/v1/audit?target=c2/").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0, "{none}");
}

#[tokio::test]
async fn a_command_nobody_takes_expires() {
    let master = with_cluster(|c| c.command_ttl = Duration::from_secs(1)).await;
    let (_, made) = master.command(ADMIN, "c1", RESTART, None).await;
    let id = made["command"]["id"].as_str().unwrap();
    let (_, got) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/commands/{id}?wait=5s"))
        .await;
    assert_eq!(got["status"], "expired", "{got}");
    // An expired command is never delivered.
    let (status, set) = master.poll(C1_TOKEN, "c1", 0).await;
    assert_eq!(status, 200);
    assert_eq!(set["commands"].as_array().unwrap().len(), 0, "{set}");
}

#[tokio::test]
async fn queued_and_delivered_commands_survive_a_restart() {
    let mut master = with_cluster(|_| {}).await;
    let (_, a) = master.command(ADMIN, "c1", RESTART, Some("a")).await;
    let (_, set) = master.poll(C1_TOKEN, "c1", 0).await;
    let rv = set["rv"].as_u64().unwrap();
    let (_, b) = master.command(ADMIN, "c1", RESTART, Some("b")).await;
    master.restart().await;
    let (_, got_a) = master
        .get(
            ADMIN,
            &format!(
                "/api/v1/clusters/c1/commands/{}",
                a["command"]["id"].as_str().unwrap()
            ),
        )
        .await;
    let (_, got_b) = master
        .get(
            ADMIN,
            &format!(
                "/api/v1/clusters/c1/commands/{}",
                b["command"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        (got_a["status"].as_str(), got_b["status"].as_str()),
        (Some("delivered"), Some("queued"))
    );
    // The agent's version is behind (b arrived): both come again, with the same ids.
    let (status, set) = master.poll(C1_TOKEN, "c1", rv).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = set["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            a["command"]["id"].as_str().unwrap(),
            b["command"]["id"].as_str().unwrap()
        ]
    );
    // The same key after the restart is still the same command.
    let (status, again) = master.command(ADMIN, "c1", RESTART, Some("a")).await;
    assert_eq!(
        (status, &again["command"]["id"]),
        (200, &a["command"]["id"])
    );
}

#[tokio::test]
async fn results_appear_on_the_stream() {
    let master = with_cluster(|_| {}).await;
    let mut stream = common::SseClient::connect(&master, "?kind=commands", None).await;
    let (_, made) = master.command(ADMIN, "c1", RESTART, None).await;
    let id = made["command"]["id"].as_str().unwrap().to_owned();
    master.poll(C1_TOKEN, "c1", 0).await;
    master.ack(C1_TOKEN, "c1", &id, "failed").await;
    let mut statuses = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(5)).await {
        assert_eq!(event.event, "command");
        let data = event.json();
        assert_eq!(data["command"]["id"], id.as_str());
        statuses.push(data["status"].as_str().unwrap().to_owned());
        if statuses.len() == 3 {
            break;
        }
    }
    assert_eq!(statuses, ["queued", "delivered", "failed"]);
}

impl Master {
    /// The agent's long poll from one run of the agent (`session`).
    async fn poll_as(&self, session: &str, rv: u64) -> (u16, Value) {
        let body = json!({"cluster_id": "c1", "rv": rv, "session": session});
        self.send(Method::POST, C1_TOKEN, "/control/watch", Some(body))
            .await
    }
}

#[tokio::test]
async fn a_command_delivered_to_an_earlier_agent_run_is_settled_unknown_never_delivered_again() {
    let master = with_cluster(|c| c.poll_timeout = Duration::from_millis(300)).await;
    let (_, made) = master.command(ADMIN, "c1", RESTART, Some("once")).await;
    let id = made["command"]["id"].as_str().unwrap().to_owned();
    let holds = |set: &Value| {
        set["commands"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["id"] == id.as_str()))
    };
    let (status, set) = master.poll_as("run-a", 0).await;
    assert_eq!(status, 200);
    assert!(holds(&set), "run a takes it: {set}");

    // The agent restarts before it reports: the new run is not handed the command again, and
    // nobody is told it succeeded or failed.
    let (_, set) = master.poll_as("run-b", 0).await;
    assert!(!holds(&set), "run b must not run it again: {set}");
    let path = format!("/api/v1/clusters/c1/commands/{id}");
    let (_, got) = master.get(ADMIN, &path).await;
    assert_eq!(got["status"], "unknown", "{got}");
    assert!(
        got["message"].as_str().unwrap().contains("earlier run"),
        "{got}"
    );

    // Run a was alive after all (a rolling update) and reports: its result stands.
    let (status, receipt) = master.ack(C1_TOKEN, "c1", &id, "succeeded").await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["settled"][0]["outcome"], "settled");
    let (_, got) = master.get(ADMIN, &path).await;
    assert_eq!(got["status"], "succeeded", "{got}");

    // A session is a short visible-ASCII name; anything else is refused before the poll.
    for bad in [json!(""), json!("a b"), json!("x".repeat(65)), json!(7)] {
        let body = json!({"cluster_id": "c1", "rv": 0, "session": bad});
        let (status, refused) = master
            .send(Method::POST, C1_TOKEN, "/control/watch", Some(body))
            .await;
        assert_eq!(status, 400, "{bad}: {refused}");
        assert!(refused["error"]["message"].is_string(), "{refused}");
    }

    // A superseded run is handed nothing new; the current one is.
    let (_, made) = master.command(ADMIN, "c1", RESTART, Some("twice")).await;
    let next = made["command"]["id"].as_str().unwrap().to_owned();
    let rv = set["rv"].as_u64().unwrap();
    let (status, _) = master.poll_as("run-a", rv).await;
    assert_eq!(status, 204, "run a was superseded by run b");
    let (_, set) = master.poll_as("run-b", rv).await;
    assert_eq!(set["commands"][0]["id"], next.as_str(), "{set}");
}
