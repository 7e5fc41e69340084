//! `migrate` across tenants (issue #2 item 4): skip the current ones, bounded jobs, one
//! transaction per tenant, failures isolated and resumable, interruption-safe.

use std::time::Duration;

use afterschool::tenancy::migrate::{migrate_all, CatalogError, Outcome, TenantSets};
use afterschool::tenancy::model::TenantKind;

use crate::helpers::{spawn_app, TestApp};

const ADD_COLUMN: &str = "alter table classes add column motto text;
create index classes_motto on classes (motto);";

fn next_release(app: &TestApp, extra_sql: &str) -> TenantSets {
    let mut sets = app.sets();
    sets.school = sets.school.with_extra("add_motto", extra_sql);
    sets
}

async fn versions(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as("select code, schema_version from platform.tenants order by code")
        .fetch_all(&app.db.admin)
        .await
        .unwrap()
}

async fn has_motto(app: &TestApp, code: &str) -> bool {
    sqlx::query_scalar(
        "select exists(select 1 from information_schema.columns
                       where table_schema = $1 and table_name = 'classes' and column_name = 'motto')",
    )
    .bind(format!("school_{code}"))
    .fetch_one(&app.db.admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn migrate_with_nothing_to_do_touches_no_tenant() {
    let app = spawn_app().await;
    app.apply_demo().await;

    let report = migrate_all(&app.db.admin, &app.sets(), 4).await.unwrap();

    assert_eq!(report.total_tenants, 5);
    assert!(report.results.is_empty(), "{}", report.table());
    assert!(report.table().contains("原已最新 5"));
}

#[tokio::test]
async fn an_additive_migration_reaches_every_tenant_of_its_kind_only() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let sets = next_release(&app, ADD_COLUMN);

    let report = migrate_all(&app.db.admin, &sets, 3).await.unwrap();

    assert_eq!(report.failed(), 0, "{}", report.table());
    assert_eq!(report.results.len(), 3, "three schools, agencies untouched");
    for code in ["sqsf", "sqhb", "sqqh"] {
        assert!(has_motto(&app, code).await);
    }
    let v = versions(&app).await;
    assert!(
        v.iter()
            .filter(|(c, _)| c.starts_with("sq"))
            .all(|(_, v)| *v == sets.school.latest()),
        "{v:?}"
    );
    assert!(
        v.iter()
            .filter(|(c, _)| !c.starts_with("sq"))
            .all(|(_, v)| *v == sets.agency.latest()),
        "{v:?}"
    );
    // And a second run has nothing left to do.
    let again = migrate_all(&app.db.admin, &sets, 3).await.unwrap();
    assert!(again.results.is_empty());
}

#[tokio::test]
async fn a_failing_tenant_is_reported_without_stopping_the_others_and_a_rerun_resumes() {
    let app = spawn_app().await;
    let codes: Vec<String> = (1..=4).map(|i| format!("mig{i}")).collect();
    app.provision_schools(&codes).await;
    // Data the migration cannot cope with, in one tenant only.
    sqlx::query("insert into school_mig3.classes (grade_id, code, name) select id, 'poison', 'x' from school_mig3.grades limit 1")
        .execute(&app.db.admin)
        .await
        .unwrap();
    let sql = format!(
        "do $$ begin
             if exists (select 1 from classes where code = 'poison') then
                 raise exception 'cannot migrate a poisoned class';
             end if;
         end $$;
         {ADD_COLUMN}"
    );
    let sets = next_release(&app, &sql);

    let report = migrate_all(&app.db.admin, &sets, 2).await.unwrap();

    assert_eq!(report.failed(), 1, "{}", report.table());
    let failed = report.results.iter().find(|r| r.code == "mig3").unwrap();
    assert!(matches!(&failed.outcome, Outcome::Failed(m) if m.contains("poisoned")));
    assert!(report.table().contains("失败"));
    assert!(
        !has_motto(&app, "mig3").await,
        "the failed tenant is fully at the old version"
    );
    for c in ["mig1", "mig2", "mig4"] {
        assert!(has_motto(&app, c).await);
    }
    let err: Option<String> =
        sqlx::query_scalar("select last_migration_error from platform.tenants where code = 'mig3'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert!(err.unwrap_or_default().contains("poisoned"));

    // The operator fixes the data; the rerun only has the failed tenant left.
    sqlx::query("delete from school_mig3.classes where code = 'poison'")
        .execute(&app.db.admin)
        .await
        .unwrap();
    let rerun = migrate_all(&app.db.admin, &sets, 2).await.unwrap();
    assert_eq!(rerun.results.len(), 1);
    assert_eq!(rerun.results[0].code, "mig3");
    assert_eq!(rerun.results[0].outcome, Outcome::Migrated);
    assert!(has_motto(&app, "mig3").await);
}

#[tokio::test]
async fn interrupting_migrate_leaves_each_tenant_fully_old_or_fully_new() {
    let app = spawn_app().await;
    let codes: Vec<String> = (1..=6).map(|i| format!("cut{i}")).collect();
    app.provision_schools(&codes).await;
    // Slow enough that the run is cut in the middle of a tenant's transaction.
    let sql = "alter table classes add column motto text; select pg_sleep(0.3);
               create index classes_motto on classes (motto);";
    let sets = next_release(&app, sql);

    let cut = tokio::time::timeout(
        Duration::from_millis(700),
        migrate_all(&app.db.admin, &sets, 2),
    )
    .await;
    assert!(cut.is_err(), "the run was meant to be interrupted");
    // Let the server notice the abandoned transactions.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let mut migrated = 0;
    for (code, version) in versions(&app).await {
        let column = has_motto(&app, &code).await;
        assert_eq!(
            column,
            version == sets.school.latest(),
            "{code}: version {version} but column present = {column}"
        );
        if version == sets.school.latest() {
            migrated += 1;
        }
    }
    assert!(
        migrated < 6,
        "some tenants must still be at the old version"
    );

    let rerun = migrate_all(&app.db.admin, &sets, 2).await.unwrap();
    assert_eq!(rerun.failed(), 0, "{}", rerun.table());
    assert_eq!(rerun.results.len(), 6 - migrated);
    for c in &codes {
        assert!(has_motto(&app, c).await);
    }
}

/// (kind, version, name, checksum) of every migration file the registry has recorded.
async fn catalog(app: &TestApp) -> Vec<(String, i32, String, String)> {
    sqlx::query_as(
        "select kind, version, name, checksum from platform.tenant_migrations
         order by kind, version",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_edited_tenant_migration_is_refused() {
    let app = spawn_app().await;
    app.provision_schools(&["edit1".into()]).await;
    let catalog_before = catalog(&app).await;
    let versions_before = versions(&app).await;
    let mut sets = app.sets();
    let edited = sets.school.migrations[0].clone();
    sets.school.migrations[0].checksum = "0".repeat(64);
    let is_the_edit = |e: &anyhow::Error| {
        matches!(
            e.downcast_ref::<CatalogError>(),
            Some(CatalogError::Edited { kind: TenantKind::School, version, name })
                if *version == edited.version && *name == edited.name
        )
    };
    let err = migrate_all(&app.db.admin, &sets, 1).await.unwrap_err();

    // The refusal names the edited file; the registry keeps the checksum it recorded
    // first and no tenant moved.
    assert!(is_the_edit(&err), "{err:#}");
    assert!(err.to_string().contains(&edited.name), "{err}");
    assert_eq!(catalog(&app).await, catalog_before);
    assert!(catalog_before
        .iter()
        .any(|(k, v, _, c)| k == "school" && *v == edited.version && *c == edited.checksum));
    assert_eq!(versions(&app).await, versions_before);

    // With a new migration waiting as well, the edit still stops the run before any tenant
    // is touched: nothing of the new release is applied.
    let mut sets = next_release(&app, ADD_COLUMN);
    sets.school.migrations[0].checksum = "0".repeat(64);

    let err = migrate_all(&app.db.admin, &sets, 1).await.unwrap_err();

    assert!(is_the_edit(&err), "{err:#}");
    assert!(!has_motto(&app, "edit1").await, "nothing was applied");
    assert_eq!(versions(&app).await, versions_before);
    assert!(catalog(&app)
        .await
        .iter()
        .any(|(k, v, _, c)| k == "school" && *v == edited.version && *c == edited.checksum));
    let error: Option<String> = sqlx::query_scalar(
        "select last_migration_error from platform.tenants where code = 'edit1'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(error, None, "no tenant was attempted");
}
