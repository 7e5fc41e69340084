//! The audit trail (issue #3 item 6 / R-X04, 等保 2.0): append-only in the product,
//! tamper-evident outside it, linear under concurrency, searchable and exportable.

use afterschool::audit::{
    append, append_standalone, seal, search, to_csv, verify, AuditEvent, AuditFilter, AuditKey,
    AuditRecord, Outcome, APP_GRANTS,
};
use afterschool::db::ident;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{spawn_app, TestApp};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0)
        .single()
        .unwrap()
}

fn login(account: i64) -> AuditEvent {
    AuditEvent::new("auth.login", format!("account:{account}"), Outcome::Success)
        .actor(account, "parent")
        .ip("203.0.113.7")
}

/// Appends `n` login events one second apart, starting at `t0()`; returns their ids.
async fn append_logins(pool: &PgPool, key: &AuditKey, n: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let at = t0() + Duration::seconds(i);
        ids.push(
            append_standalone(pool, key, &login(100 + i), at)
                .await
                .unwrap(),
        );
    }
    ids
}

/// Simulates a DBA working outside the product: triggers off, raw SQL, triggers back on.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.db.admin.begin().await.unwrap();
    sqlx::raw_sql(&format!(
        "alter table platform.audit_log disable trigger user;
         alter table platform.audit_seal disable trigger user;
         {sql};
         alter table platform.audit_log enable trigger user;
         alter table platform.audit_seal enable trigger user;"
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn grant_app_roles(app: &TestApp) {
    let sql = APP_GRANTS
        .replace("{app}", &ident(&app.db.roles.app()))
        .replace("{group}", &ident(&app.db.roles.tenant_group()));
    sqlx::raw_sql(&sql).execute(&app.db.admin).await.unwrap();
}

async fn count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from platform.audit_log")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn appended_records_form_a_chain_that_verifies() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();

    // Act
    let ids = append_logins(&app.db.admin, &key, 5).await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(report.checked, 5);
    assert_eq!(report.first_broken, None, "{report:?}");
    assert!(report.is_intact());
    let seals: Vec<(i64, i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as("select seq, log_id, prev_mac, mac from platform.audit_seal order by seq")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        seals.iter().map(|s| s.1).collect::<Vec<_>>(),
        ids,
        "sealed in id order"
    );
    assert_eq!(
        seals[0].2,
        vec![0u8; 32],
        "the first record links to genesis"
    );
    for w in seals.windows(2) {
        assert_eq!(w[1].2, w[0].3, "each record links to the previous MAC");
        assert_eq!(w[1].0, w[0].0 + 1, "sequence numbers have no gaps");
    }
    let head: (Option<i64>, Vec<u8>) =
        sqlx::query_as("select last_seq, last_mac from platform.audit_head")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(head, (Some(seals[4].0), seals[4].3.clone()));
    let queued: i64 = sqlx::query_scalar("select count(*) from platform.audit_pending")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(queued, 0, "verify seals what is queued before it checks");
}

#[tokio::test]
async fn records_wait_in_the_queue_until_sealed_and_seal_in_id_order() {
    let app = spawn_app().await;
    let key = AuditKey::generate();

    let ids = append_logins(&app.db.admin, &key, 3).await;
    let queued: Vec<i64> =
        sqlx::query_scalar("select log_id from platform.audit_pending order by log_id")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    let sealed = seal(&app.db.admin, &key).await.unwrap();
    let again = seal(&app.db.admin, &key).await.unwrap();

    assert_eq!(queued, ids, "each committed append is queued");
    assert_eq!(sealed, 3);
    assert_eq!(again, 0, "nothing is sealed twice");
    let report = verify(&app.db.admin, &key).await.unwrap();
    assert_eq!((report.checked, report.pending), (3, 0), "{report:?}");
}

#[tokio::test]
async fn an_empty_trail_verifies_and_a_wrong_key_does_not() {
    let app = spawn_app().await;
    let key = AuditKey::generate();

    let empty = verify(&app.db.admin, &key).await.unwrap();
    let ids = append_logins(&app.db.admin, &key, 2).await;
    let other_key = verify(&app.db.admin, &AuditKey::generate()).await.unwrap();

    assert_eq!(empty.checked, 0);
    assert!(empty.is_intact());
    assert_eq!(other_key.first_broken, Some(ids[0]));
}

#[tokio::test]
async fn fifty_concurrent_appends_from_ten_tasks_keep_the_chain_linear() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();

    // Act: 10 tasks × 5 standalone appends, all racing for the head.
    let mut tasks = Vec::new();
    for t in 0..10i64 {
        let admin = app.db.admin.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..5i64 {
                let ev = AuditEvent::new("authz.denied", format!("task:{t}/{i}"), Outcome::Denied)
                    .actor(t, "teacher")
                    .details(json!({"task": t, "i": i}));
                ids.push(append_standalone(&admin, &key, &ev, t0()).await.unwrap());
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "every append got its own id");
    assert_eq!(count(&app.db.admin).await, 50);
    assert_eq!(report.checked, 50, "{report:?}");
    assert!(report.is_intact(), "{report:?}");
}

#[tokio::test]
async fn editing_a_record_outside_the_product_is_reported_at_that_record() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 5).await;
    seal(&app.db.admin, &key).await.unwrap();

    // Act: a DBA rewrites the object of the third record after it was sealed.
    tamper(
        &app,
        &format!(
            "update platform.audit_log set object = 'account:999' where id = {}",
            ids[2]
        ),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    assert_eq!(report.first_broken, Some(ids[2]), "{report:?}");
    assert_eq!(report.checked, 2);
    assert!(report.reason.unwrap().contains("MAC"));
}

#[tokio::test]
async fn editing_details_outside_the_product_is_reported_at_that_record() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 4).await;

    tamper(
        &app,
        &format!(
            "update platform.audit_log set details = '{{\"note\": \"nothing happened\"}}' where id = {}",
            ids[1]
        ),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.first_broken, Some(ids[1]), "{report:?}");
}

#[tokio::test]
async fn editing_a_record_before_it_is_sealed_is_caught_by_its_row_mac() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 3).await;

    // Still queued: the sealer would chain the edited content as if it were genuine.
    tamper(
        &app,
        &format!(
            "update platform.audit_log set actor_account_id = 999 where id = {}",
            ids[1]
        ),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.first_broken, Some(ids[1]), "{report:?}");
    assert!(report.reason.unwrap().contains("写入 MAC"));
}

#[tokio::test]
async fn a_record_inserted_without_the_key_is_reported() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 2).await;

    // A DBA forges a login record; the enqueue trigger even queues it for sealing.
    sqlx::query(
        "insert into platform.audit_log
             (uid, at, actor_account_id, action, object, outcome, details, row_mac)
         values (gen_random_uuid(), now(), 5, 'auth.login', 'account:5', 'success', '{}',
                 decode(repeat('ab', 32), 'hex'))",
    )
    .execute(&app.db.admin)
    .await
    .unwrap();
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.checked, 2, "{report:?}");
    assert!(report.first_broken > Some(ids[1]), "{report:?}");
    assert!(report.reason.unwrap().contains("不是由本系统写入"));
}

#[tokio::test]
async fn deleting_a_sealed_record_outside_the_product_is_reported_at_that_record() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 5).await;
    seal(&app.db.admin, &key).await.unwrap();

    // Act
    tamper(
        &app,
        &format!("delete from platform.audit_log where id = {}", ids[2]),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    assert_eq!(report.first_broken, Some(ids[2]), "{report:?}");
    assert_eq!(report.checked, 2);
    assert!(report.reason.unwrap().contains("被删除"));
}

#[tokio::test]
async fn deleting_a_record_still_queued_is_reported_by_its_queue_entry() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 3).await;

    tamper(
        &app,
        &format!("delete from platform.audit_log where id = {}", ids[1]),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.first_broken, Some(ids[1]), "{report:?}");
    assert!(report.reason.unwrap().contains("待封存的记录不存在"));
}

#[tokio::test]
async fn removing_a_queue_entry_so_a_record_is_never_sealed_is_reported() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 3).await;

    sqlx::query("delete from platform.audit_pending where log_id = $1")
        .bind(ids[0])
        .execute(&app.db.admin)
        .await
        .unwrap();
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.first_broken, Some(ids[0]), "{report:?}");
    assert!(report.reason.unwrap().contains("既未封存"));
}

#[tokio::test]
async fn deleting_a_middle_seal_is_reported_at_the_next_record() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 5).await;
    seal(&app.db.admin, &key).await.unwrap();

    tamper(
        &app,
        &format!("delete from platform.audit_seal where log_id = {}", ids[2]),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.first_broken, Some(ids[3]), "{report:?}");
    assert_eq!(report.checked, 2);
    assert!(report.reason.unwrap().contains("链接断开"));
}

#[tokio::test]
async fn deleting_the_newest_seal_is_caught_by_the_head() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 3).await;
    seal(&app.db.admin, &key).await.unwrap();

    tamper(
        &app,
        &format!("delete from platform.audit_seal where log_id = {}", ids[2]),
    )
    .await;
    let report = verify(&app.db.admin, &key).await.unwrap();

    assert_eq!(report.checked, 2, "{report:?}");
    assert!(report.reason.unwrap().contains("链头"));
}

#[tokio::test]
async fn an_id_gap_from_a_rolled_back_append_is_not_a_break() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    append_logins(&app.db.admin, &key, 2).await;

    // Act: an append inside a transaction that then rolls back consumes an id.
    let mut tx = app.db.admin.begin().await.unwrap();
    let lost = append(&mut tx, &key, &login(1), t0()).await.unwrap();
    tx.rollback().await.unwrap();
    let after = append_standalone(&app.db.admin, &key, &login(2), t0())
        .await
        .unwrap();
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    assert!(after > lost, "the rolled-back id is skipped");
    assert_eq!(count(&app.db.admin).await, 3);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 3);
}

#[tokio::test]
async fn an_append_inside_a_transaction_commits_and_rolls_back_with_it() {
    let app = spawn_app().await;
    let key = AuditKey::generate();

    let mut tx = app.db.admin.begin().await.unwrap();
    let id = append(&mut tx, &key, &login(1), t0()).await.unwrap();
    // The caller's transaction is still usable after the append.
    sqlx::query("select 1").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();

    let rows = search(&app.db.admin, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert!(verify(&app.db.admin, &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn update_delete_and_truncate_are_refused_even_to_the_owner() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 2).await;

    // Act
    let update = sqlx::query("update platform.audit_log set object = 'x' where id = $1")
        .bind(ids[0])
        .execute(&app.db.admin)
        .await;
    let delete = sqlx::query("delete from platform.audit_log where id = $1")
        .bind(ids[0])
        .execute(&app.db.admin)
        .await;
    let truncate = sqlx::query("truncate platform.audit_log")
        .execute(&app.db.admin)
        .await;
    let head_delete = sqlx::query("delete from platform.audit_head")
        .execute(&app.db.admin)
        .await;

    // Assert
    for (what, r) in [
        ("update", update),
        ("delete", delete),
        ("truncate", truncate),
        ("head delete", head_delete),
    ] {
        let err = r.expect_err(what).to_string();
        assert!(err.contains("审计日志只可追加"), "{what}: {err}");
    }
    assert_eq!(count(&app.db.admin).await, 2);
    assert!(verify(&app.db.admin, &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn the_app_role_can_append_search_and_verify_but_never_change_the_trail() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    grant_app_roles(&app).await;

    // Act
    let id = append_standalone(&app.db.app, &key, &login(7), t0())
        .await
        .unwrap();
    let found = search(&app.db.app, &AuditFilter::default()).await.unwrap();
    let report = verify(&app.db.app, &key).await.unwrap();
    let update = sqlx::query("update platform.audit_log set object = 'x'")
        .execute(&app.db.app)
        .await;
    let delete = sqlx::query("delete from platform.audit_log")
        .execute(&app.db.app)
        .await;
    let truncate = sqlx::query("truncate platform.audit_log")
        .execute(&app.db.app)
        .await;

    // Assert
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id);
    assert!(report.is_intact(), "{report:?}");
    for (what, r) in [
        ("update", update),
        ("delete", delete),
        ("truncate", truncate),
    ] {
        let err = r.expect_err(what).to_string();
        assert!(err.contains("permission denied"), "{what}: {err}");
    }
    assert_eq!(count(&app.db.admin).await, 1);
}

#[tokio::test]
async fn a_tenant_role_can_append_but_not_read_the_trail() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    grant_app_roles(&app).await;
    app.provision_schools(&["aud1".into()]).await;
    let tenant = app.tenant("aud1").await;
    let tenant_role = tenant.role.clone();

    // Act: the way request code runs inside a tenant transaction.
    let mut tx = app.db.app.begin().await.unwrap();
    sqlx::raw_sql(&format!("set local role {}", ident(&tenant_role)))
        .execute(&mut *tx)
        .await
        .unwrap();
    let ev = AuditEvent::new("student.update", "student:1", Outcome::Success)
        .actor(3, "school_admin")
        .tenant(tenant.id)
        .details(json!({"fields": ["name"]}));
    let id = append(&mut tx, &key, &ev, t0()).await.unwrap();
    let read = sqlx::query("select * from platform.audit_log")
        .execute(&mut *tx)
        .await;
    drop(tx);
    let mut tx = app.db.app.begin().await.unwrap();
    sqlx::raw_sql(&format!("set local role {}", ident(&tenant_role)))
        .execute(&mut *tx)
        .await
        .unwrap();
    let id2 = append(&mut tx, &key, &ev, t0()).await.unwrap();
    tx.commit().await.unwrap();

    // Assert
    let err = read.expect_err("a tenant must not read other tenants' records");
    assert!(err.to_string().contains("permission denied"), "{err}");
    let rows = search(&app.db.admin, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the first transaction was rolled back");
    assert_eq!(rows[0].id, id2);
    assert!(id2 > id);
    assert_eq!(rows[0].tenant_id, Some(tenant.id));
    assert!(verify(&app.db.admin, &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn details_with_out_of_order_nested_keys_still_verify() {
    // Arrange: keys out of order at every depth, large integers, unicode.
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let details: serde_json::Value = serde_json::from_str(
        r#"{"zeta": {"b": [ {"y": 1, "x": -9223372036854775808} ], "a": "学生 \"张三\"",
            "longer_key": 18446744073709551615}, "alpha": [3, 2, 1], "mid": {"q": null, "p": true}}"#,
    )
    .unwrap();
    let ev = AuditEvent::new("student.update", "student:1001", Outcome::Success)
        .actor(5, "school_admin")
        .tenant(1)
        .details(details);

    // Act
    let id = append_standalone(&app.db.admin, &key, &ev, t0())
        .await
        .unwrap();
    let report = verify(&app.db.admin, &key).await.unwrap();

    // Assert
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checked, 1);
    let stored = search(&app.db.admin, &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].details["zeta"]["a"], "学生 \"张三\"");
}

#[tokio::test]
async fn the_time_is_stored_and_maced_at_microsecond_precision() {
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let at = t0() + Duration::nanoseconds(123_456_789);

    append_standalone(&app.db.admin, &key, &login(1), at)
        .await
        .unwrap();
    let stored = search(&app.db.admin, &AuditFilter::default())
        .await
        .unwrap();

    assert_eq!(stored[0].at, t0() + Duration::microseconds(123_456));
    assert!(verify(&app.db.admin, &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn an_invalid_event_is_refused_without_touching_the_chain() {
    let app = spawn_app().await;
    let key = AuditKey::generate();

    let bad_action = append_standalone(
        &app.db.admin,
        &key,
        &AuditEvent::new("Auth Login", "x", Outcome::Success),
        t0(),
    )
    .await;
    let bad_details = append_standalone(
        &app.db.admin,
        &key,
        &AuditEvent::new("auth.login", "x", Outcome::Success).details(json!("text")),
        t0(),
    )
    .await;

    let fraction = append_standalone(
        &app.db.admin,
        &key,
        &AuditEvent::new("auth.login", "x", Outcome::Success).details(json!({"amount": 12.5})),
        t0(),
    )
    .await;

    assert!(bad_action.is_err());
    assert!(bad_details.is_err());
    assert!(fraction.is_err(), "amounts go in as strings");
    assert_eq!(count(&app.db.admin).await, 0);
}

async fn seed_for_search(app: &TestApp, key: &AuditKey) -> Vec<i64> {
    let events = [
        AuditEvent::new("auth.login", "account:1", Outcome::Success).actor(1, "parent"),
        AuditEvent::new("auth.login", "account:2", Outcome::Failure).actor(2, "teacher"),
        AuditEvent::new("auth.lockout", "account:2", Outcome::Failure).actor(2, "teacher"),
        AuditEvent::new("authz.denied", "/api/students", Outcome::Denied)
            .actor(1, "parent")
            .tenant(10),
        AuditEvent::new("role.assign", "account:3", Outcome::Success)
            .actor(9, "school_admin")
            .tenant(10),
        AuditEvent::new("student.update", "student:5", Outcome::Success)
            .actor(9, "school_admin")
            .tenant(11),
    ];
    let mut ids = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let at = t0() + Duration::hours(i as i64);
        ids.push(append_standalone(&app.db.admin, key, ev, at).await.unwrap());
    }
    ids
}

fn ids_of(records: &[AuditRecord]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn search_filters_by_action_prefix_actor_time_tenant_and_outcome_newest_first() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = seed_for_search(&app, &key).await;
    let find = |f: AuditFilter| {
        let pool = app.db.admin.clone();
        async move { ids_of(&search(&pool, &f).await.unwrap()) }
    };

    // Act + Assert
    assert_eq!(
        find(AuditFilter::default()).await,
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    // `auth.` must not match `authz.denied`; `auth` (no dot) matches both families.
    assert_eq!(
        find(AuditFilter {
            action_prefix: Some("auth.".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        find(AuditFilter {
            action_prefix: Some("auth".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(
        find(AuditFilter {
            action_prefix: Some("auth.login".into()),
            ..Default::default()
        })
        .await,
        vec![ids[1], ids[0]]
    );
    // Wildcard characters in a prefix are taken literally.
    assert!(find(AuditFilter {
        action_prefix: Some("%".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        find(AuditFilter {
            actor_account_id: Some(2),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        find(AuditFilter {
            from: Some(t0() + Duration::hours(1)),
            to: Some(t0() + Duration::hours(3)),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]],
        "from inclusive, to exclusive"
    );
    assert_eq!(
        find(AuditFilter {
            tenant_id: Some(10),
            ..Default::default()
        })
        .await,
        vec![ids[4], ids[3]]
    );
    assert_eq!(
        find(AuditFilter {
            outcome: Some(Outcome::Denied),
            ..Default::default()
        })
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        find(AuditFilter {
            outcome: Some(Outcome::Failure),
            actor_account_id: Some(2),
            action_prefix: Some("auth.lock".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2]]
    );
}

#[tokio::test]
async fn search_pages_with_a_keyset_and_caps_the_page_size() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 7).await;

    // Act: walk pages of 3 using the last id of each page.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = search(
            &app.db.admin,
            &AuditFilter {
                limit: 3,
                before_id: before,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|r| r.id);
        pages.push(ids_of(&page));
    }
    let huge = search(
        &app.db.admin,
        &AuditFilter {
            limit: u32::MAX,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Assert
    assert_eq!(
        pages,
        vec![
            vec![ids[6], ids[5], ids[4]],
            vec![ids[3], ids[2], ids[1]],
            vec![ids[0]]
        ]
    );
    assert_eq!(huge.len(), 7, "an oversized limit is capped, not an error");
    assert_eq!(AuditFilter::default().limit, 200);
}

#[tokio::test]
async fn csv_export_has_bom_chinese_header_quoting_and_a_formula_guard() {
    // Arrange
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ev = AuditEvent::new(
        "student.update",
        "=HYPERLINK(\"http://evil\",\"点我\")",
        Outcome::Denied,
    )
    .actor(9, "school_admin")
    .tenant(10)
    .ip("-1+1")
    .details(json!({"b": "x,y", "a": "line1\nline2"}));
    append_standalone(&app.db.admin, &key, &ev, t0())
        .await
        .unwrap();
    let records = search(&app.db.admin, &AuditFilter::default())
        .await
        .unwrap();

    // Act
    let csv = to_csv(&records);

    // Assert
    assert!(csv.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    let mut lines = csv.trim_start_matches('\u{feff}').split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "时间,操作人,角色,租户,来源IP,操作,对象,结果,详情,操作代码,角色代码,详情原文"
    );
    let row = lines.next().unwrap();
    // Issue 13.7: the auditor reads Chinese; the stored codes follow at the end.
    assert!(
        row.starts_with("2026-10-12 10:00:00.000000 +08:00,9,学校管理员,10,'-1+1,"),
        "{row}"
    );
    assert!(row.contains(",student.update,school_admin,"), "{row}");
    assert!(
        !row.split(',')
            .nth(5)
            .unwrap_or_default()
            .contains("student"),
        "{row}"
    );
    assert!(
        row.contains(r#","'=HYPERLINK(""http://evil"",""点我"")",拒绝,"#),
        "formula guarded and quotes doubled: {row}"
    );
    assert!(
        csv.contains(r#""{""a"":""line1\nline2"",""b"":""x,y""}""#),
        "details quoted with keys sorted: {csv}"
    );
    assert!(csv.ends_with("\r\n"));
    assert_eq!(
        to_csv(&[]),
        "\u{feff}时间,操作人,角色,租户,来源IP,操作,对象,结果,详情,操作代码,角色代码,详情原文\r\n"
    );
}

#[tokio::test]
async fn sealers_running_at_once_never_fork_or_double_the_chain() {
    // Arrange: records queued, then four servers' sealers start together.
    let app = spawn_app().await;
    let key = AuditKey::generate();
    let ids = append_logins(&app.db.admin, &key, 40).await;

    // Act
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (pool, key) = (app.db.admin.clone(), key.clone());
        tasks.push(tokio::spawn(
            async move { seal(&pool, &key).await.unwrap() },
        ));
    }
    let mut sealed = 0;
    for t in tasks {
        sealed += t.await.unwrap();
    }

    // Assert
    assert_eq!(sealed, 40, "each record sealed by exactly one sealer");
    let log_ids: Vec<i64> =
        sqlx::query_scalar("select log_id from platform.audit_seal order by seq")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(log_ids, ids);
    let report = verify(&app.db.admin, &key).await.unwrap();
    assert!(report.is_intact() && report.checked == 40, "{report:?}");
}
