//! Config-map values are the cluster's to show: by default a `describe` shows them to
//! operators and admins and names only their keys and sizes to viewers.

mod common;

use std::time::Duration;

use serde_json::json;

use common::ADMIN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_s_describe_of_a_config_map_shows_keys_not_values() {
    let stack = common::start().await;
    let master = stack.master_url();
    let http = &stack.http;
    let token = async |name: &str, role: &str| -> String {
        let made = atlhyper_testkit::json(
            http.post(format!("{master}/api/v1/admin/tokens"))
                .bearer_auth(ADMIN)
                .json(&json!({"name": name, "role": role})),
        )
        .await;
        made["token"].as_str().unwrap().to_owned()
    };
    let (viewer, operator) = (
        token("vic", "viewer").await,
        token("opal", "operator").await,
    );
    // The agent has pushed the config maps master checks the target against.
    assert!(
        common::wait_for(Duration::from_secs(10), async || {
            let list = stack.get("/api/v1/configmaps?cluster=demo").await;
            list["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|c| c["name"] == "checkout-config"))
        })
        .await
    );
    let describe = async |who: &str| -> String {
        let made = atlhyper_testkit::json(
            http.post(format!("{master}/api/v1/clusters/demo/commands"))
                .bearer_auth(who)
                .json(&json!({"kind": "describe", "args": {"object": "config_map",
                "namespace": "shop", "name": "checkout-config"}})),
        )
        .await;
        let id = made["command"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{made}"));
        let settled = atlhyper_testkit::json(
            http.get(format!(
                "{master}/api/v1/clusters/demo/commands/{id}?wait=20s"
            ))
            .bearer_auth(who),
        )
        .await;
        assert_eq!(settled["status"], "succeeded", "{settled}");
        settled["output"].as_str().unwrap().to_owned()
    };
    let shown = describe(&operator).await;
    assert!(
        shown.contains("postgres.data"),
        "an operator sees values:\n{shown}"
    );
    let hidden = describe(&viewer).await;
    assert!(
        hidden.contains("application.yaml"),
        "a viewer sees the keys:\n{hidden}"
    );
    assert!(
        !hidden.contains("postgres.data"),
        "but not the values:\n{hidden}"
    );
    stack.stop().await;
}
