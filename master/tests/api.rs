//! The real master over loopback: pushes become lists, survive a restart, filter and page;
//! tokens and roles are enforced; admin actions are audited.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN, C1_TOKEN, C2_TOKEN, fixture, pods};
use reqwest::Method;
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pushes_are_listed_and_survive_a_restart() {
    let mut master = common::start().await;
    let sources = [
        "pod_list_snapshot",
        "node_list_snapshot",
        "deployment_list_snapshot",
        "service_list_snapshot",
        "namespace_list_snapshot",
        "ingress_list_snapshot",
        "configmap_list_snapshot",
        "events",
        "metrics_snapshot",
    ];
    // One source plain, the rest gzip; c2 gets the whole set as one batch.
    for (i, source) in sources.iter().enumerate() {
        let envelope = fixture(source, "c1");
        let (status, body) = if i == 0 {
            master.push(C1_TOKEN, &envelope).await
        } else {
            master.push_gzip(C1_TOKEN, &envelope).await
        };
        assert_eq!(status, 202, "{source}: {body}");
        assert_eq!(body["accepted"][0]["source"], json!(source));
        assert_eq!(body["accepted"][0]["cluster_id"], json!("c1"));
    }
    let batch: Vec<Value> = sources.iter().map(|s| fixture(s, "c2")).collect();
    let (status, body) = master.push_gzip(C2_TOKEN, &json!(batch)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"].as_array().unwrap().len(), 9);

    let (status, list) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["api_version"], "atlhyper.io/v1");
    let fixture_pods = fixture("pod_list_snapshot", "c1")["payload"]["items"].clone();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        fixture_pods.as_array().unwrap().len()
    );
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["cluster_id"] == "c1")
    );
    let (_, all) = master.get(ADMIN, "/api/v1/pods").await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2 * fixture_pods.as_array().unwrap().len()
    );

    let (_, clusters) = master.get(ADMIN, "/api/v1/clusters").await;
    let c1 = &clusters["items"][0];
    assert_eq!(c1["id"], "c1");
    assert_eq!(c1["stale"], false);
    assert_eq!(c1["sources"].as_array().unwrap().len(), 9);
    assert_eq!(
        c1["counts"]["pods"],
        json!(fixture_pods.as_array().unwrap().len())
    );
    assert!(c1["sources"][0]["age_ms"].as_i64().unwrap() >= 0);

    let before = master.everything().await;
    master.restart().await;
    let after = master.everything().await;
    for (key, value) in before.as_object().unwrap() {
        assert_eq!(
            value, &after[key],
            "a restarted master serves the same {key}"
        );
    }
    let (_, clusters) = master.get(ADMIN, "/api/v1/clusters/c1").await;
    assert_eq!(clusters["sources"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn lists_filter_search_sort_and_page() {
    let master = common::start().await;
    let (status, body) = master.push_gzip(C1_TOKEN, &pods("c1", 25)).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = master
        .push_gzip(C2_TOKEN, &fixture("pod_list_snapshot", "c2"))
        .await;
    assert_eq!(status, 202, "{body}");

    let get = |q: &str| {
        let path = format!("/api/v1/pods?{q}");
        let master = &master;
        async move { master.get(ADMIN, &path).await }
    };
    let (_, list) = get("cluster=c1&sort=-restarts&limit=3").await;
    let restarts: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["restarts"].as_i64().unwrap())
        .collect();
    assert_eq!(restarts, [6, 6, 6]);
    let cursor = list["next_cursor"].as_str().unwrap().to_owned();

    // Paging through everything gives each pod once.
    let mut seen = Vec::new();
    let mut cursor_param = String::new();
    loop {
        let (status, page) = get(&format!("cluster=c1&limit=10{cursor_param}")).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor_param = format!("&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    let (status, _) = get(&format!("cluster=c1&limit=3&cursor={cursor}")).await;
    assert_eq!(status, 200);

    let (_, list) = get("q=WEB-1").await;
    assert_eq!(names(&list).len(), 11, "web-1, web-10..19: {list}");
    let (_, list) = get("cluster=c2&status=CrashLoopBackOff").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "CrashLoopBackOff")
    );
    let (_, phase) = get("cluster=c2&phase=running").await;
    assert!(!phase["items"].as_array().unwrap().is_empty());
    let (_, list) = get("label=app%3Dnope").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let template = &fixture("pod_list_snapshot", "c1")["payload"]["items"][0];
    let (key, value) = template["labels"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let (_, list) = get(&format!(
        "cluster=c1&label={key}%3D{}",
        value.as_str().unwrap()
    ))
    .await;
    assert_eq!(names(&list).len(), 25);
    let node = template["node"].as_str().unwrap();
    let (_, list) = get(&format!("cluster=c1&node={node}&namespace=shop")).await;
    assert_eq!(names(&list).len(), 25);
    let (_, list) = get("cluster=c1&node=nowhere").await;
    assert!(names(&list).is_empty());

    let (status, pod) = master
        .get(ADMIN, "/api/v1/clusters/c1/pods/shop/web-3")
        .await;
    assert_eq!(status, 200, "{pod}");
    assert_eq!(pod["name"], "web-3");
    assert_eq!(pod["cluster_id"], "c1");
    let (status, err) = master
        .get(ADMIN, "/api/v1/clusters/c1/pods/shop/web-99")
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    let (status, err) = master.get(ADMIN, "/api/v1/pods?cluster=nope").await;
    assert_eq!(status, 404, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("nope"));
    let (status, _) = master.get(ADMIN, "/api/v1/clusters/nope").await;
    assert_eq!(status, 404);
    let (status, err) = master.get(ADMIN, "/api/v1/teapots").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found");
    let (status, err) = master
        .send(Method::DELETE, ADMIN, "/api/v1/pods", None)
        .await;
    assert_eq!(status, 405, "{err}");
}

#[tokio::test]
async fn tokens_and_roles_are_enforced_and_audited() {
    let master = common::start().await;
    // No token, a bad token, a user token on ingest, an agent token on the API.
    let (status, err) = master.get("", "/api/v1/pods").await;
    assert_eq!(status, 401, "{err}");
    let (status, _) = master.get("not-a-token", "/api/v1/pods").await;
    assert_eq!(status, 401);
    let (status, err) = master
        .push(ADMIN, &fixture("pod_list_snapshot", "c1"))
        .await;
    assert_eq!(status, 403, "{err}");
    let (status, err) = master.get(C1_TOKEN, "/api/v1/pods").await;
    assert_eq!(status, 403, "{err}");
    // An agent pushing for another cluster.
    let (status, err) = master
        .push(C1_TOKEN, &fixture("pod_list_snapshot", "c2"))
        .await;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("c2"));

    // Admin makes a viewer and an operator.
    let mut made = Vec::new();
    for (name, role) in [("vera", "viewer"), ("otto", "operator")] {
        let (status, token) = master
            .send(
                Method::POST,
                ADMIN,
                "/api/v1/admin/tokens",
                Some(json!({"name": name, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{token}");
        assert_eq!(token["role"], role);
        made.push((
            token["id"].as_i64().unwrap(),
            token["token"].as_str().unwrap().to_owned(),
        ));
    }
    let (viewer_id, viewer) = made[0].clone();
    let (status, me) = master.get(&viewer, "/api/v1/whoami").await;
    assert_eq!((status, me["role"].as_str()), (200, Some("viewer")));
    let (status, _) = master.get(&viewer, "/api/v1/pods").await;
    assert_eq!(status, 200);
    let (status, err) = master
        .send(
            Method::POST,
            &viewer,
            "/api/v1/admin/clusters",
            Some(json!({"id": "c3"})),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("admin"));
    let (status, _) = master.get(&made[1].1, "/api/v1/admin/tokens").await;
    assert_eq!(status, 403);

    // A new cluster: its token pushes for it; deleting it kills the token and the data.
    let (status, created) = master
        .send(
            Method::POST,
            ADMIN,
            "/api/v1/admin/clusters",
            Some(json!({"id": "c3", "name": "Third"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let c3 = created["token"].as_str().unwrap().to_owned();
    let (status, body) = master
        .push_gzip(&c3, &fixture("node_list_snapshot", "c3"))
        .await;
    assert_eq!(status, 202, "{body}");
    let (_, nodes) = master.get(&viewer, "/api/v1/nodes?cluster=c3").await;
    assert!(!nodes["items"].as_array().unwrap().is_empty());
    let (status, _) = master
        .send(
            Method::POST,
            ADMIN,
            "/api/v1/admin/clusters",
            Some(json!({"id": "c3"})),
        )
        .await;
    assert_eq!(status, 409);
    let (status, err) = master
        .send(
            Method::POST,
            ADMIN,
            "/api/v1/admin/clusters",
            Some(json!({"id": "Not_Valid"})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = master
        .send(
            Method::POST,
            ADMIN,
            "/api/v1/admin/clusters",
            Some(json!({"name": 3})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, _) = master
        .send(Method::DELETE, ADMIN, "/api/v1/admin/clusters/c3", None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = master
        .push_gzip(&c3, &fixture("node_list_snapshot", "c3"))
        .await;
    assert_eq!(status, 401);
    let (status, _) = master.get(&viewer, "/api/v1/nodes?cluster=c3").await;
    assert_eq!(status, 404);

    // Revoking: the token stops working at once; the last admin cannot be revoked.
    let (status, _) = master
        .send(
            Method::DELETE,
            ADMIN,
            &format!("/api/v1/admin/tokens/{viewer_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = master.get(&viewer, "/api/v1/pods").await;
    assert_eq!(status, 401);
    let (_, tokens) = master.get(ADMIN, "/api/v1/admin/tokens").await;
    let listed = tokens.to_string();
    assert!(
        !listed.contains(&viewer) && !listed.contains("token\""),
        "no secrets: {listed}"
    );
    let admin_id = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "admin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, err) = master
        .send(
            Method::DELETE,
            ADMIN,
            &format!("/api/v1/admin/tokens/{admin_id}"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{err}");

    // Everything above is in the audit log, refusals included; secrets are not.
    let (status, audit) = master.get(ADMIN, "/api/v1/audit?limit=100").await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<(String, String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("admin", "create_token", "ok"),
        ("vera", "create_cluster", "denied"),
        ("otto", "list_tokens", "denied"),
        ("admin", "create_cluster", "ok"),
        ("admin", "create_cluster", "failed"),
        ("admin", "delete_cluster", "ok"),
        ("admin", "revoke_token", "ok"),
        ("admin", "revoke_token", "failed"),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(
            actions.contains(&expected),
            "{expected:?} missing from {actions:?}"
        );
    }
    let text = audit.to_string();
    assert!(!text.contains(&c3) && !text.contains(&viewer));
}

#[tokio::test]
async fn node_metrics_latest_and_range() {
    let mut master = common::start().await;
    let now = common::now_ms();
    let template = fixture("metrics_snapshot", "c1")["payload"]["items"][0].clone();
    let node = template["node"].as_str().unwrap().to_owned();
    // Ten minutes of samples every 5 s, cpu rising 0.1 per sample.
    let samples: Vec<Value> = (0..120)
        .map(|i| {
            let mut s = template.clone();
            s["ts_ms"] = json!(now - (119 - i) * 5_000);
            s["cpu"]["usage_percent"] = json!(i as f64 * 0.1);
            let mut envelope = fixture("metrics_snapshot", "c1");
            envelope["ts_ms"] = s["ts_ms"].clone();
            envelope["payload"]["items"] = json!([s]);
            envelope
        })
        .collect();
    let (status, body) = master.push_gzip(C1_TOKEN, &json!(samples)).await;
    assert_eq!(status, 202, "{body}");

    let (status, latest) = master.get(ADMIN, "/api/v1/node-metrics?cluster=c1").await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["items"].as_array().unwrap().len(), 1);
    assert!((latest["items"][0]["cpu"]["usage_percent"].as_f64().unwrap() - 11.9).abs() < 1e-9);
    let (status, one) = master
        .get(ADMIN, &format!("/api/v1/clusters/c1/node-metrics/{node}"))
        .await;
    assert_eq!(status, 200, "{one}");

    let path = format!("/api/v1/clusters/c1/node-metrics/{node}/range?from=-10m&step=1m");
    let (status, series) = master.get(ADMIN, &path).await;
    assert_eq!(status, 200, "{series}");
    assert_eq!(series["resolution"], "raw");
    assert_eq!(series["step_ms"], 60_000);
    let points = series["points"].as_array().unwrap();
    assert!((10..=11).contains(&points.len()), "{}", points.len());
    let total: f64 = points
        .iter()
        .map(|p| p["cpu_percent"].as_f64().unwrap())
        .sum();
    assert!(total > 0.0);

    // After a restart the same range comes back (memory reloaded from the raw rows).
    let path_abs = format!(
        "/api/v1/clusters/c1/node-metrics/{node}/range?from={}&to={}&step=60000",
        now - 600_000,
        now + 1
    );
    let (_, before) = master.get(ADMIN, &path_abs).await;
    master.restart().await;
    let (_, after) = master.get(ADMIN, &path_abs).await;
    assert_eq!(before["points"], after["points"]);

    // Older than the raw window: minute rollups (none yet), an empty answer, not an error.
    let (status, old) = master
        .get(
            ADMIN,
            &format!("/api/v1/clusters/c1/node-metrics/{node}/range?from=-3h&to=-2h"),
        )
        .await;
    assert_eq!(status, 200, "{old}");
    assert_eq!(old["resolution"], "minute");
    for (query, code) in [
        ("from=-1m&to=-2m", 400),
        ("from=yesterday", 400),
        ("step=0", 400),
        ("from=-1000d&step=1h", 400),
        ("colour=red", 400),
    ] {
        let (status, err) = master
            .get(
                ADMIN,
                &format!("/api/v1/clusters/c1/node-metrics/{node}/range?{query}"),
            )
            .await;
        assert_eq!(status, code, "{query}: {err}");
    }
    let (status, _) = master
        .get(ADMIN, "/api/v1/clusters/c1/node-metrics/ghost/range")
        .await;
    assert_eq!(status, 404);
}
