//! Admin tokens over their whole life: rotating the configured bootstrap token, revoking
//! under concurrency, and the offline way back in when every admin token is gone.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use common::ADMIN;
use reqwest::Method;
use serde_json::{Value, json};

async fn create_admin(master: &common::Master, by: &str, name: &str) -> (String, i64) {
    let (status, created) = master
        .send(
            Method::POST,
            by,
            "/api/v1/admin/tokens",
            Some(json!({"name": name, "role": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (
        created["token"].as_str().unwrap().to_owned(),
        created["id"].as_i64().unwrap(),
    )
}

async fn revoke(master: &common::Master, by: &str, id: i64) -> (u16, Value) {
    master
        .send(
            Method::DELETE,
            by,
            &format!("/api/v1/admin/tokens/{id}"),
            None,
        )
        .await
}

async fn token_id(master: &common::Master, by: &str, name: &str) -> i64 {
    let (_, tokens) = master.get(by, "/api/v1/admin/tokens").await;
    tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name && t["revoked_ms"].is_null())
        .unwrap_or_else(|| panic!("no live token `{name}` in {tokens}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_revoked_configured_admin_token_stays_revoked_and_master_still_starts() {
    let mut master = common::start().await;
    let (second, _) = create_admin(&master, ADMIN, "second-admin").await;
    let configured = token_id(&master, &second, "admin").await;
    let (status, body) = revoke(&master, &second, configured).await;
    assert_eq!(status, 200, "{body}");

    // The documented rotation: the setting still names the old token at the next start.
    master.restart().await;
    let (status, _) = master.get(ADMIN, "/api/v1/whoami").await;
    assert_eq!(status, 401, "a revoked configured token stays revoked");
    let (status, who) = master.get(&second, "/api/v1/whoami").await;
    assert_eq!((status, who["role"].as_str()), (200, Some("admin")));
    master.restart().await;
    let (status, _) = master.get(&second, "/api/v1/whoami").await;
    assert_eq!(status, 200, "and again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_revoking_each_other_at_once_leave_one() {
    let master = common::start().await;
    let mut keeper = ADMIN.to_owned();
    for round in 0..6 {
        // Exactly two live admins: `a` and `b`.
        let (a, a_id) = create_admin(&master, &keeper, &format!("a{round}")).await;
        let (b, b_id) = create_admin(&master, &keeper, &format!("b{round}")).await;
        let keeper_id = token_id(&master, &a, if round == 0 { "admin" } else { "keeper" }).await;
        let (status, body) = revoke(&master, &a, keeper_id).await;
        assert_eq!(status, 200, "{body}");

        let (first, second) = tokio::join!(revoke(&master, &a, b_id), revoke(&master, &b, a_id));
        let (_, tokens) = master.get(&a, "/api/v1/admin/tokens").await;
        let (_, tokens_b) = master.get(&b, "/api/v1/admin/tokens").await;
        let list = if tokens["items"].is_array() {
            tokens
        } else {
            tokens_b
        };
        let live_admins = list["items"]
            .as_array()
            .unwrap_or_else(|| {
                panic!("round {round}: nobody can list tokens: {first:?} {second:?}")
            })
            .iter()
            .filter(|t| t["role"] == "admin" && t["revoked_ms"].is_null())
            .count();
        assert_eq!(
            live_admins, 1,
            "round {round}: {first:?} and {second:?} left {live_admins} admins"
        );
        assert!(
            !(first.0 == 200 && second.0 == 200),
            "round {round}: both revokes answered 200"
        );
        // The survivor makes the next round's keeper.
        let survivor = if first.0 == 200 { a } else { b };
        let (next, _) = create_admin(&master, &survivor, "keeper").await;
        let survivor_id = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["role"] == "admin" && t["revoked_ms"].is_null())
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let (status, body) = revoke(&master, &next, survivor_id).await;
        assert_eq!(status, 200, "{body}");
        keeper = next;
    }
}

/// `atlhyper-master ARGS`: exit code, stdout, stderr.
fn run_master(args: &[&str], db: &std::path::Path) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atlhyper-master"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("ATLHYPER_MASTER_ADMIN_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn reset_admin_token_lets_an_operator_back_in_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.db");

    // No database there yet: a typo in the path must not make a new, empty one.
    let (code, _, err) = run_master(&["reset-admin-token"], &db);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no database"), "{err}");
    assert!(!db.exists());

    // A master whose admin token was lost: started once, token printed and forgotten.
    let mut master = common::start().await;
    let (second, _) = create_admin(&master, ADMIN, "second-admin").await;
    let configured = token_id(&master, &second, "admin").await;
    assert_eq!(revoke(&master, &second, configured).await.0, 200);
    master.running.take().unwrap().stop().await;

    let (code, out, err) = run_master(&["reset-admin-token"], &master.db);
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert!(token.starts_with("atl_") && token.len() > 40, "{out}");
    assert!(
        !err.contains(token),
        "the token goes to stdout only, never to the log"
    );

    let log = master.dir.path().join("master.log");
    let (child, url) = common::spawn_binary(&master.db, &log, &[], None).await;
    let client = common::client();
    let get = async |path: &str| -> Value {
        client
            .get(format!("{url}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let who = get("/api/v1/whoami").await;
    assert_eq!(who["role"], "admin", "{who}");
    let audit = get("/api/v1/audit?action=reset_admin_token").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["outcome"], "ok", "{audit}");
    child.stop();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains(token), "no token in the log");
}

#[tokio::test]
async fn token_and_cluster_names_cannot_pass_for_another_and_audit_names_the_token_id() {
    let master = common::start().await;
    let create = |name: String| {
        let master = &master;
        async move {
            master
                .send(
                    Method::POST,
                    ADMIN,
                    "/api/v1/admin/tokens",
                    Some(json!({"name": name, "role": "viewer"})),
                )
                .await
        }
    };
    for bad in [
        "cluster:c1".to_owned(),
        "local:reset-admin-token".to_owned(),
        "ad\u{200b}min".to_owned(),
        "\u{202e}nimda".to_owned(),
        "tab\there".to_owned(),
        "x".repeat(65),
    ] {
        let (status, body) = create(bad.clone()).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
    }
    let (status, body) = create("alice".to_owned()).await;
    assert_eq!(status, 201, "{body}");
    let alice_id = body["id"].as_i64().unwrap();
    let (status, body) = create("alice".to_owned()).await;
    assert_eq!(status, 409, "a live name is taken: {body}");
    let (status, body) = create("admin".to_owned()).await;
    assert_eq!(status, 409, "the bootstrap admin's name is taken: {body}");

    for bad in ["x".repeat(60_000), "prod\u{1b}[2J".to_owned()] {
        let (status, body) = master
            .send(
                Method::POST,
                ADMIN,
                "/api/v1/admin/clusters",
                Some(json!({"id": "c9", "name": bad})),
            )
            .await;
        assert_eq!(
            status,
            400,
            "cluster name {:?}: {body}",
            &bad[..10.min(bad.len())]
        );
    }

    // The audit says which token acted, not only its (display) name.
    let (_, tokens) = master.get(ADMIN, "/api/v1/admin/tokens").await;
    let admin_id = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "admin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, audit) = master
        .get(ADMIN, "/api/v1/audit?action=create_token&outcome=ok")
        .await;
    let record = &audit["items"][0];
    assert_eq!(record["actor_id"], admin_id, "{record}");
    assert_eq!(record["target"], "alice", "{record}");
    let _ = alice_id;
}
