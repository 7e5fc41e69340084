//! Provisioning from manifests, idempotent apply, suspension, bad manifests (issue #2).

use std::path::PathBuf;

use afterschool::tenancy::manifest::{self, Manifest, SchoolStage};
use afterschool::tenancy::provision::ApplyOutcome;

use crate::helpers::{demo_manifest_files, small_school_manifest, spawn_app};

#[tokio::test]
async fn applying_the_demo_street_creates_each_tenant_with_its_own_role_and_schema() {
    let app = spawn_app().await;

    let results = app.apply_demo().await;

    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r.outcome == ApplyOutcome::Created));
    let rows: Vec<(String, String, String, String, i32)> = sqlx::query_as(
        "select t.code, t.kind, t.schema_name, n.nspowner::regrole::text, t.schema_version
         from platform.tenants t join pg_namespace n on n.nspname = t.schema_name
         order by t.code",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(rows.len(), 5);
    for (code, kind, schema, owner, version) in &rows {
        assert_eq!(schema, &format!("{kind}_{code}"));
        assert_eq!(
            owner,
            &app.db.roles.tenant(schema),
            "schema owned by the tenant's role"
        );
        let kind = afterschool::tenancy::model::TenantKind::parse(kind).unwrap();
        assert_eq!(
            *version,
            app.sets().for_kind(kind).latest(),
            "{code} fully migrated"
        );
    }
    // Seed data landed in the tenant's own schema (R-S02 classes with aliases).
    let (classes, aliases): (i64, i64) =
        sqlx::query_as("select count(*), count(alias) from school_sqsf.classes")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!((classes, aliases), (18, 18));
    let holidays: i64 = sqlx::query_scalar(
        "select count(*) from school_sqsf.calendar_exceptions where kind = 'holiday'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(holidays, 3 + 7 + 3, "中秋 3 days, 国庆 7 days, 元旦 3 days");
}

#[tokio::test]
async fn applying_the_same_manifests_twice_changes_nothing_and_says_so() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let before: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("select code, updated_at from platform.tenants order by code")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();

    let again = app.apply_demo().await;

    assert!(again.iter().all(|r| r.outcome == ApplyOutcome::Unchanged));
    let after: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("select code, updated_at from platform.tenants order by code")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_changed_manifest_updates_the_seed_in_place() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.toml");
    std::fs::write(&path, small_school_manifest("upd")).unwrap();
    app.apply_files(std::slice::from_ref(&path)).await;

    std::fs::write(
        &path,
        small_school_manifest("upd").replace("upd-向日葵班", "upd-木棉班"),
    )
    .unwrap();
    let results = app.apply_files(&[path]).await;

    assert_eq!(results[0].outcome, ApplyOutcome::Updated);
    let aliases: Vec<String> =
        sqlx::query_scalar("select alias from school_upd.classes order by code")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        aliases,
        vec!["upd-木棉班".to_string(), "upd-小太阳班".to_string()]
    );
}

fn errors_for(files: &[(&str, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, body)| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            p
        })
        .collect();
    match manifest::load_all(&paths) {
        Ok(_) => vec![],
        Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
    }
}

#[tokio::test]
async fn bad_manifests_are_rejected_with_file_line_and_reason_and_nothing_is_created() {
    let app = spawn_app().await;
    let good = small_school_manifest("okay");

    let unknown_key = errors_for(&[(
        "a.toml",
        good.replace(
            "stage = \"primary\"",
            "stage = \"primary\"\ncolour = \"red\"",
        ),
    )]);
    assert_eq!(unknown_key.len(), 1);
    assert!(unknown_key[0].contains("a.toml:5:"), "{unknown_key:?}");
    assert!(unknown_key[0].contains("colour"), "{unknown_key:?}");

    let bad_code = errors_for(&[(
        "b.toml",
        good.replace("code = \"okay\"", "code = \"Bad-Code\""),
    )]);
    assert!(
        bad_code[0].contains("b.toml:1:") && bad_code[0].contains("不合法"),
        "{bad_code:?}"
    );

    let bad_date = errors_for(&[("c.toml", good.replace("2026-10-07", "2026-02-30"))]);
    assert!(
        bad_date[0].contains("c.toml:") && bad_date[0].contains("2026-02-30"),
        "{bad_date:?}"
    );

    let dup = errors_for(&[("d1.toml", good.clone()), ("d2.toml", good.clone())]);
    assert_eq!(dup.len(), 1);
    assert!(
        dup[0].contains("d2.toml:1:") && dup[0].contains("重复") && dup[0].contains("d1.toml:1"),
        "{dup:?}"
    );

    let reversed = errors_for(&[("e.toml", good.replace("end = \"14:00\"", "end = \"11:00\""))]);
    assert!(
        reversed[0].contains("e.toml:") && reversed[0].contains("晚于"),
        "{reversed:?}"
    );

    let weekday_makeup = errors_for(&[("f.toml", good.replace("2026-10-10", "2026-10-12"))]);
    assert!(
        weekday_makeup[0].contains("本来就是上课日"),
        "{weekday_makeup:?}"
    );

    // Validation happens before anything is written.
    let tenants: i64 = sqlx::query_scalar("select count(*) from platform.tenants")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    let schemas: i64 = sqlx::query_scalar(
        "select count(*) from pg_namespace where nspname like 'school_%' or nspname like 'agency_%'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!((tenants, schemas), (0, 0));
}

#[tokio::test]
async fn demo_manifests_are_valid_and_name_three_schools_and_two_agencies() {
    let loaded = manifest::load_all(&demo_manifest_files()).expect("demo manifests are valid");

    // Each file is named for its tenant: <kind>_<code>.toml.
    let names: Vec<(String, String, String, String)> = loaded
        .iter()
        .map(|m| {
            (
                m.path.file_name().unwrap().to_string_lossy().into_owned(),
                m.manifest.kind().as_str().to_string(),
                m.manifest.code().as_str().to_string(),
                m.manifest.name().to_string(),
            )
        })
        .collect();
    let expected = [
        (
            "agency_qzty.toml",
            "agency",
            "qzty",
            "中山市青竹体育文化发展有限公司",
        ),
        (
            "agency_ycys.toml",
            "agency",
            "ycys",
            "中山市悦彩艺术培训有限公司",
        ),
        ("school_sqhb.toml", "school", "sqhb", "石岐湖滨小学"),
        ("school_sqqh.toml", "school", "sqqh", "石岐启航初级中学"),
        ("school_sqsf.toml", "school", "sqsf", "石岐示范小学"),
    ];
    assert_eq!(
        names,
        expected.map(|(f, k, c, n)| (f.into(), k.into(), c.into(), n.into()))
    );

    // The schools: stage, grade levels with their classes (every class with an alias),
    // venues, periods and one autumn term with its holidays and make-up days.
    let mut schools = Vec::new();
    let mut agencies = Vec::new();
    for m in &loaded {
        match &m.manifest {
            Manifest::School(s) => {
                let classes: Vec<(i16, usize)> = s
                    .grades
                    .iter()
                    .map(|g| (*g.level.get_ref(), g.classes.len()))
                    .collect();
                assert!(
                    s.grades
                        .iter()
                        .flat_map(|g| &g.classes)
                        .all(|c| c.alias.as_deref().is_some_and(|a| !a.is_empty())),
                    "{}: every class has an alias",
                    s.code.get_ref().as_str()
                );
                let terms: Vec<(&str, usize, usize, usize)> = s
                    .terms
                    .iter()
                    .map(|t| {
                        (
                            t.code.get_ref().as_str(),
                            t.holidays.len(),
                            t.closures.len(),
                            t.makeup_days.len(),
                        )
                    })
                    .collect();
                schools.push((
                    s.code.get_ref().as_str().to_string(),
                    s.stage,
                    classes,
                    s.venues.len(),
                    s.periods.len(),
                    format!("{terms:?}"),
                ));
            }
            Manifest::Agency(a) => agencies.push((
                a.code.get_ref().as_str().to_string(),
                a.credit_code.get_ref().clone(),
                a.categories.clone(),
            )),
        }
    }
    let autumn = r#"[("2026-autumn", 3, 0, 2)]"#.to_string();
    let levels = |from: i16, to: i16, per: usize| (from..=to).map(|l| (l, per)).collect::<Vec<_>>();
    assert_eq!(
        schools,
        vec![
            (
                "sqhb".into(),
                SchoolStage::Primary,
                levels(1, 6, 2),
                7,
                4,
                autumn.clone()
            ),
            (
                "sqqh".into(),
                SchoolStage::Junior,
                levels(7, 9, 4),
                7,
                3,
                autumn.clone()
            ),
            (
                "sqsf".into(),
                SchoolStage::Primary,
                levels(1, 6, 3),
                7,
                4,
                autumn
            ),
        ]
    );
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        agencies,
        vec![
            (
                "qzty".into(),
                "91442000MA53ABCD7M".into(),
                strings(&["篮球", "足球", "跆拳道"])
            ),
            (
                "ycys".into(),
                "91442000MA4W12345N".into(),
                strings(&["美术", "书法", "舞蹈"])
            ),
        ]
    );
}
