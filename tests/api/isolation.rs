//! Tenant isolation (issue #2 item 5; R-X05): a tenant role cannot read another tenant's
//! schema even when the SQL names it, the app login role reads nothing without SET ROLE,
//! and interleaved requests over a small pool never see another tenant's rows.

use std::collections::HashSet;

use afterschool::config::DatabaseSettings;
use afterschool::kernel::tx::TenantTx;
use futures::StreamExt;

use crate::helpers::{spawn_app, spawn_app_with, test_db_settings};

#[tokio::test]
async fn code_running_as_tenant_a_gets_permission_denied_on_school_b() {
    let app = spawn_app().await;
    app.provision_schools(&["aaa".into(), "bbb".into()]).await;
    let a = app.tenant("aaa").await;

    let mut tx = TenantTx::begin(&app.db.app, &a).await.unwrap();
    let own: i64 = sqlx::query_scalar("select count(*) from classes")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(own, 2, "tenant A reads its own classes");
    let err = sqlx::query("select * from school_bbb.classes")
        .fetch_all(tx.conn())
        .await
        .expect_err("another tenant's schema must be out of reach");

    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(
        code.as_deref(),
        Some("42501"),
        "permission denied, got {err}"
    );
    assert!(err.to_string().contains("permission denied"));
}

#[tokio::test]
async fn the_app_login_role_reads_no_tenant_schema_without_set_role() {
    let app = spawn_app().await;
    app.provision_schools(&["ccc".into()]).await;

    let err = sqlx::query("select * from school_ccc.classes")
        .fetch_all(&app.db.app)
        .await
        .expect_err("NOINHERIT login role must not read tenant data");

    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("42501"));
}

#[tokio::test]
async fn tenant_settings_do_not_leak_to_the_next_user_of_a_pooled_connection() {
    let app = spawn_app_with(DatabaseSettings {
        max_connections: 1,
        ..test_db_settings()
    })
    .await;
    app.provision_schools(&["ddd".into()]).await;
    let d = app.tenant("ddd").await;

    let tx = TenantTx::begin(&app.db.app, &d).await.unwrap();
    tx.commit().await.unwrap();
    // Same (only) connection again, outside any tenant transaction.
    let (role, path): (String, String) =
        sqlx::query_as("select current_user::text, current_setting('search_path')")
            .fetch_one(&app.db.app)
            .await
            .unwrap();

    assert_eq!(role, app.db.roles.app());
    assert!(!path.contains("school_ddd"), "search_path leaked: {path}");
}

#[tokio::test]
async fn a_thousand_interleaved_requests_for_ten_tenants_never_see_another_tenants_rows() {
    // A pool much smaller than the concurrency, so connections are reused across tenants.
    let app = spawn_app_with(DatabaseSettings {
        max_connections: 3,
        ..test_db_settings()
    })
    .await;
    let codes: Vec<String> = (0..10).map(|i| format!("iso{i}")).collect();
    app.provision_schools(&codes).await;
    let mut tokens = std::collections::HashMap::new();
    for c in &codes {
        tokens.insert(c.clone(), app.admin_token(c).await);
    }
    let tokens = &tokens;

    let requests: Vec<(usize, String)> = (0..1000)
        .map(|i| {
            let code = codes[i % codes.len()].clone();
            // Alternate the three ways of naming a tenant.
            (i % 3, code)
        })
        .collect();
    let results: Vec<(String, u16, serde_json::Value)> = futures::stream::iter(requests)
        .map(|(how, code)| {
            let client = app.client.clone();
            let base = app.address.clone();
            let port = app.port;
            async move {
                let token = tokens[&code].clone();
                let req = match how {
                    0 => client.get(format!("{base}/t/{code}/api/v1/school/classes")),
                    1 => client
                        .get(format!("{base}/api/v1/school/classes"))
                        .header("X-Tenant", &code),
                    _ => client
                        .get(format!("{base}/api/v1/school/classes"))
                        .header("Host", format!("{code}.afterschool.test:{port}")),
                };
                let resp = req.bearer_auth(token).send().await.unwrap();
                let status = resp.status().as_u16();
                (code, status, resp.json().await.unwrap())
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;

    assert_eq!(results.len(), 1000);
    let mut seen_tenants = HashSet::new();
    for (code, status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        let grades = body.as_array().unwrap();
        let classes: Vec<&serde_json::Value> = grades
            .iter()
            .flat_map(|g| g["classes"].as_array().unwrap())
            .collect();
        assert_eq!(classes.len(), 2);
        for c in classes {
            let name = c["name"].as_str().unwrap();
            let alias = c["alias"].as_str().unwrap();
            assert!(name.starts_with(&format!("{code}-")), "{code} got {name}");
            assert!(alias.starts_with(&format!("{code}-")), "{code} got {alias}");
        }
        seen_tenants.insert(code.clone());
    }
    assert_eq!(seen_tenants.len(), 10);
}
