//! A school's organisation (R-S02): grades, classes with their aliases and home
//! classrooms, the yearly promotion, and who may change them. Every change is audited and
//! every refusal is a specific code that leaves the data as it was.

use afterschool::auth::model::Role;
use serde_json::{json, Value};

use crate::client::{refused, spawn_demo};
use crate::helpers::TestApp;
use crate::school_terms_calendar::day;

/// Every class row of sqsf, for before/after comparisons.
async fn class_rows(app: &TestApp) -> Vec<(i64, i64, String, String, Option<String>, String)> {
    sqlx::query_as(
        "select id, grade_id, code, name, alias, status from school_sqsf.classes order by id",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

/// A student row in class `class_code` (only the columns the schema requires).
async fn insert_student(app: &TestApp, class_code: &str, status: &str) -> i64 {
    sqlx::query_scalar(
        "insert into school_sqsf.students
             (name, id_number_enc, id_number_hash, id_number_masked, birth_date, sex, class_id, status)
         select '测试学生', '\\x01'::bytea, $1, '442000********0011', date '2015-03-01', 'M', id, $2
         from school_sqsf.classes where code = $3
         returning id",
    )
    .bind(uuid::Uuid::new_v4().as_bytes().to_vec())
    .bind(status)
    .bind(class_code)
    .fetch_one(&app.db.admin)
    .await
    .unwrap()
}

pub fn class_in<'a>(list: &'a Value, code: &str) -> Option<&'a Value> {
    list.as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["classes"].as_array().unwrap())
        .find(|c| c["code"] == code)
}

fn grade_in<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == code)
        .unwrap_or_else(|| panic!("grade {code} in {list}"))
}

// --- grades -----------------------------------------------------------------------------

#[tokio::test]
async fn a_grade_is_created_renamed_and_deleted_with_an_audit_record_each() {
    let (app, token) = spawn_demo().await;

    let (status, g) = app
        .school_post(
            &token,
            "/grades",
            json!({ "code": "g7", "name": " 初一 ", "level": 7 }),
        )
        .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        (g["code"].as_str(), g["name"].as_str()),
        (Some("g7"), Some("初一"))
    );
    let id = g["id"].as_i64().unwrap();
    let (status, g) = app
        .school_patch(
            &token,
            &format!("/grades/{id}"),
            json!({ "name": "七年级" }),
        )
        .await;
    assert_eq!((status, g["name"].as_str()), (200, Some("七年级")));
    assert_eq!(
        grade_in(&app.school_ok(&token, "/classes").await, "g7")["name"],
        "七年级"
    );
    let (status, _) = app.school_delete(&token, &format!("/grades/{id}")).await;
    assert_eq!(status, 200);

    let list = app.school_ok(&token, "/classes").await;
    assert!(list.as_array().unwrap().iter().all(|g| g["code"] != "g7"));
    let created = app.audit_records("school.grade.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, format!("grade:{id}"));
    assert_eq!(created[0].1["level"], 7);
    let renamed = app.audit_records("school.grade.update").await;
    assert_eq!(
        renamed[0].1["name"],
        json!({ "from": "初一", "to": "七年级" })
    );
    assert_eq!(app.audit_records("school.grade.delete").await.len(), 1);
}

#[tokio::test]
async fn a_duplicate_grade_code_or_level_is_a_conflict() {
    let (app, token) = spawn_demo().await;

    let dup_code = app
        .school_post(
            &token,
            "/grades",
            json!({ "code": "g1", "name": "另一个一年级", "level": 9 }),
        )
        .await;
    let dup_level = app
        .school_post(
            &token,
            "/grades",
            json!({ "code": "g1b", "name": "一年级B", "level": 1 }),
        )
        .await;

    refused(&dup_code, 409, "GRADE_CODE_TAKEN");
    refused(&dup_level, 409, "GRADE_LEVEL_TAKEN");
    assert_eq!(
        app.school_ok(&token, "/classes")
            .await
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn invalid_grade_input_is_refused_with_its_code_and_changes_nothing() {
    let (app, token) = spawn_demo().await;
    let before = app.school_ok(&token, "/classes").await;

    for (body, code) in [
        (
            json!({ "code": "G7", "name": "初一", "level": 7 }),
            "CODE_INVALID",
        ),
        (
            json!({ "code": "g 7", "name": "初一", "level": 7 }),
            "CODE_INVALID",
        ),
        (
            json!({ "code": "g7", "name": "  ", "level": 7 }),
            "NAME_INVALID",
        ),
        (
            json!({ "code": "g7", "name": "级".repeat(51), "level": 7 }),
            "NAME_INVALID",
        ),
        (
            json!({ "code": "g7", "name": "初一", "level": 13 }),
            "LEVEL_INVALID",
        ),
        (
            json!({ "code": "g7", "name": "初一", "level": 0 }),
            "LEVEL_INVALID",
        ),
    ] {
        let answer = app.school_post(&token, "/grades", body).await;
        refused(&answer, 422, code);
        assert!(answer.1["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}'));
    }
    let g1 = grade_in(&before, "g1")["id"].as_i64().unwrap();
    let answer = app
        .school_patch(&token, &format!("/grades/{g1}"), json!({ "name": "" }))
        .await;
    refused(&answer, 422, "NAME_INVALID");
    refused(
        &app.school_patch(&token, "/grades/999999", json!({ "name": "x" }))
            .await,
        404,
        "GRADE_NOT_FOUND",
    );

    assert_eq!(app.school_ok(&token, "/classes").await, before);
    assert!(app.audit_records("school.grade.create").await.is_empty());
}

#[tokio::test]
async fn a_grade_with_classes_cannot_be_deleted() {
    let (app, token) = spawn_demo().await;
    let list = app.school_ok(&token, "/classes").await;
    let g3 = grade_in(&list, "g3")["id"].as_i64().unwrap();

    let answer = app.school_delete(&token, &format!("/grades/{g3}")).await;

    refused(&answer, 409, "GRADE_HAS_CLASSES");
    assert_eq!(answer.1["details"]["classes"], 3);
    assert_eq!(app.school_ok(&token, "/classes").await, list);
}

// --- classes (R-S02) --------------------------------------------------------------------

#[tokio::test]
async fn a_class_is_created_with_alias_and_classroom_then_edited_and_deleted() {
    let (app, token) = spawn_demo().await;
    let list = app.school_ok(&token, "/classes").await;
    let g1 = grade_in(&list, "g1")["id"].as_i64().unwrap();
    let venues = app.school_ok(&token, "/venues").await;
    let c101 = venues
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "c101")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let (status, c) = app
        .school_post(
            &token,
            "/classes",
            json!({
                "grade_id": g1, "code": "g1c4", "name": "一年级4班", "alias": "小星星班",
                "venue_id": c101,
            }),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["alias"], "小星星班");
    assert_eq!(c["status"], "active");
    assert_eq!(c["venue_name"], "一楼多功能教室");
    let listed = app.school_ok(&token, "/classes").await;
    assert_eq!(class_in(&listed, "g1c4").unwrap()["venue_id"], c101);

    let (status, c) = app
        .school_patch(
            &token,
            &format!("/classes/{id}"),
            json!({ "name": "一年级4班（新）", "alias": null }),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["name"], "一年级4班（新）");
    assert!(c["alias"].is_null(), "null clears the alias: {c}");
    assert_eq!(c["venue_id"], c101, "a field not sent stays");
    let (_, c) = app
        .school_patch(
            &token,
            &format!("/classes/{id}"),
            json!({ "venue_id": null, "alias": "萤火虫二班" }),
        )
        .await;
    assert!(c["venue_id"].is_null() && c["venue_name"].is_null(), "{c}");
    assert_eq!(c["alias"], "萤火虫二班");
    let (status, _) = app.school_delete(&token, &format!("/classes/{id}")).await;
    assert_eq!(status, 200);

    assert!(class_in(&app.school_ok(&token, "/classes").await, "g1c4").is_none());
    assert_eq!(app.audit_records("school.class.create").await.len(), 1);
    let updates = app.audit_records("school.class.update").await;
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].0, format!("class:{id}"));
    assert_eq!(
        updates[0].1["alias"],
        json!({ "from": "小星星班", "to": null })
    );
    assert_eq!(app.audit_records("school.class.delete").await.len(), 1);
}

#[tokio::test]
async fn class_codes_are_unique_and_invalid_class_input_changes_nothing() {
    let (app, token) = spawn_demo().await;
    let list = app.school_ok(&token, "/classes").await;
    let g1 = grade_in(&list, "g1")["id"].as_i64().unwrap();
    let g1c1 = class_in(&list, "g1c1").unwrap()["id"].as_i64().unwrap();
    let before = class_rows(&app).await;

    refused(
        &app.school_post(
            &token,
            "/classes",
            json!({ "grade_id": g1, "code": "g2c1", "name": "一年级9班" }),
        )
        .await,
        409,
        "CLASS_CODE_TAKEN",
    );
    for (body, status, code) in [
        (
            json!({ "grade_id": g1, "code": "一班", "name": "一年级9班" }),
            422,
            "CODE_INVALID",
        ),
        (
            json!({ "grade_id": g1, "code": "g1c9", "name": "" }),
            422,
            "NAME_INVALID",
        ),
        (
            json!({ "grade_id": g1, "code": "g1c9", "name": "一年级9班", "alias": "班".repeat(51) }),
            422,
            "NAME_INVALID",
        ),
        (
            json!({ "grade_id": 999999, "code": "g1c9", "name": "一年级9班" }),
            422,
            "GRADE_NOT_FOUND",
        ),
        (
            json!({ "grade_id": g1, "code": "g1c9", "name": "一年级9班", "venue_id": 999999 }),
            422,
            "VENUE_NOT_FOUND",
        ),
    ] {
        refused(
            &app.school_post(&token, "/classes", body).await,
            status,
            code,
        );
    }
    refused(
        &app.school_patch(
            &token,
            &format!("/classes/{g1c1}"),
            json!({ "venue_id": 999999 }),
        )
        .await,
        422,
        "VENUE_NOT_FOUND",
    );
    refused(
        &app.school_patch(&token, "/classes/999999", json!({ "name": "x" }))
            .await,
        404,
        "CLASS_NOT_FOUND",
    );

    assert_eq!(class_rows(&app).await, before);
    assert!(app.audit_records("school.class.create").await.is_empty());
}

#[tokio::test]
async fn a_class_with_a_student_cannot_be_deleted() {
    let (app, token) = spawn_demo().await;
    insert_student(&app, "g2c3", "left").await;
    let list = app.school_ok(&token, "/classes").await;
    let id = class_in(&list, "g2c3").unwrap()["id"].as_i64().unwrap();

    let answer = app.school_delete(&token, &format!("/classes/{id}")).await;

    refused(&answer, 409, "CLASS_HAS_STUDENTS");
    assert_eq!(answer.1["details"]["students"], 1);
    assert!(class_in(&app.school_ok(&token, "/classes").await, "g2c3").is_some());
    assert!(app.audit_records("school.class.delete").await.is_empty());
}

#[tokio::test]
async fn the_class_list_shows_the_homeroom_teacher_and_hides_graduated_classes() {
    let (app, token) = spawn_demo().await;
    let staff_id: i64 = sqlx::query_scalar(
        "insert into school_sqsf.staff (staff_no, name, id_number_enc, id_number_hash,
             id_number_masked, birth_date, sex, phone_enc, phone_hash, phone_masked)
         values ('T001', '李老师', '\\x01', $1, '442000********0022', date '1985-01-01', 'F',
             '\\x01', $2, '139****0000')
         returning id",
    )
    .bind(uuid::Uuid::new_v4().as_bytes().to_vec())
    .bind(uuid::Uuid::new_v4().as_bytes().to_vec())
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    sqlx::query(
        "insert into school_sqsf.class_homeroom (class_id, staff_id)
         select id, $1 from school_sqsf.classes where code = 'g3c2'",
    )
    .bind(staff_id)
    .execute(&app.db.admin)
    .await
    .unwrap();
    sqlx::query(
        "update school_sqsf.classes set status = 'graduated', graduated_on = date '2026-07-01',
             code = 'g6c3@2026' where code = 'g6c3'",
    )
    .execute(&app.db.admin)
    .await
    .unwrap();

    let list = app.school_ok(&token, "/classes").await;
    let all = app
        .school_ok(&token, "/classes?include_graduated=true")
        .await;

    let g3c2 = class_in(&list, "g3c2").unwrap();
    assert_eq!(g3c2["homeroom_teacher"], "李老师");
    assert_eq!(g3c2["alias"], "雏鹰班");
    assert_eq!(g3c2["status"], "active");
    assert!(class_in(&list, "g3c1").unwrap()["homeroom_teacher"].is_null());
    assert!(class_in(&list, "g6c3@2026").is_none());
    assert_eq!(
        grade_in(&list, "g6")["classes"].as_array().unwrap().len(),
        2
    );
    assert_eq!(class_in(&all, "g6c3@2026").unwrap()["status"], "graduated");
}

// --- promotion (R-S02) ------------------------------------------------------------------

#[tokio::test]
async fn promotion_moves_every_class_up_and_graduates_the_top_grade_in_one_action() {
    let (app, token) = spawn_demo().await;
    let graduate = insert_student(&app, "g6c1", "active").await;
    let already_left = insert_student(&app, "g6c2", "left").await;
    let stays = insert_student(&app, "g3c2", "active").await;
    let ids_before: Vec<(String, i64)> =
        sqlx::query_as("select code, id from school_sqsf.classes order by id")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    let id_of = |code: &str| ids_before.iter().find(|(c, _)| c == code).unwrap().1;

    let (status, out) = app
        .school_post(
            &token,
            "/classes/promote",
            json!({ "school_year": 2027, "graduation_date": "2027-07-10" }),
        )
        .await;

    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["summary"],
        json!({ "school_year": 2027, "promoted": 15, "graduated_classes": 3, "graduated_students": 1 })
    );
    let row = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_as::<
                _,
                (
                    String,
                    String,
                    Option<String>,
                    String,
                    Option<chrono::NaiveDate>,
                    String,
                ),
            >(
                "select c.code, c.name, c.alias, c.status, c.graduated_on, g.code
                 from school_sqsf.classes c join school_sqsf.grades g on g.id = c.grade_id
                 where c.id = $1",
            )
            .bind(id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap()
        }
    };
    let july10 = chrono::NaiveDate::from_ymd_opt(2027, 7, 10);
    assert_eq!(
        row(id_of("g6c1")).await,
        (
            "g6c1@2027".into(),
            "六年级1班".into(),
            Some("追梦班".into()),
            "graduated".into(),
            july10,
            "g6".into()
        )
    );
    assert_eq!(
        row(id_of("g5c1")).await,
        (
            "g6c1".into(),
            "六年级1班".into(),
            Some("红棉班".into()),
            "active".into(),
            None,
            "g6".into()
        )
    );
    assert_eq!(
        row(id_of("g3c2")).await,
        (
            "g4c2".into(),
            "四年级2班".into(),
            Some("雏鹰班".into()),
            "active".into(),
            None,
            "g4".into()
        )
    );
    assert_eq!(
        row(id_of("g1c3")).await,
        (
            "g2c3".into(),
            "二年级3班".into(),
            Some("蒲公英班".into()),
            "active".into(),
            None,
            "g2".into()
        )
    );
    let student_status = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_scalar::<_, String>("select status from school_sqsf.students where id = $1")
                .bind(id)
                .fetch_one(&app.db.admin)
                .await
                .unwrap()
        }
    };
    assert_eq!(student_status(graduate).await, "graduated");
    assert_eq!(student_status(already_left).await, "left");
    assert_eq!(student_status(stays).await, "active");
    let list = app.school_ok(&token, "/classes").await;
    assert!(grade_in(&list, "g1")["classes"]
        .as_array()
        .unwrap()
        .is_empty());
    let g6: Vec<&str> = grade_in(&list, "g6")["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alias"].as_str().unwrap())
        .collect();
    assert_eq!(g6, ["红棉班", "扬帆班", "远航班"]);
    let (summary,): (Value,) =
        sqlx::query_as("select summary from school_sqsf.promotions where school_year = 2027")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(summary["graduated_classes"], 3);
    let audit = app.audit_records("school.class.promote").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "promotion:2027");
    assert_eq!(audit[0].1["promoted"], 15);
}

#[tokio::test]
async fn a_school_year_is_promoted_only_once() {
    let (app, token) = spawn_demo().await;
    let first = app
        .school_post(&token, "/classes/promote", json!({ "school_year": 2027 }))
        .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let after_first = class_rows(&app).await;

    let again = app
        .school_post(&token, "/classes/promote", json!({ "school_year": 2027 }))
        .await;
    let earlier = app
        .school_post(&token, "/classes/promote", json!({ "school_year": 2026 }))
        .await;

    refused(&again, 409, "ALREADY_PROMOTED");
    refused(&earlier, 409, "PROMOTION_OUT_OF_ORDER");
    assert_eq!(class_rows(&app).await, after_first);
    assert_eq!(app.audit_records("school.class.promote").await.len(), 1);
    // Graduation defaults to today (the test clock's 2026-10-12).
    let (on,): (chrono::NaiveDate,) =
        sqlx::query_as("select graduated_on from school_sqsf.classes where code = 'g6c1@2027'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(on.to_string(), "2026-10-12");
}

#[tokio::test]
async fn a_dry_run_returns_the_plan_and_changes_nothing() {
    let (app, token) = spawn_demo().await;
    let student = insert_student(&app, "g6c3", "active").await;
    let before = class_rows(&app).await;

    let (status, out) = app
        .school_post(
            &token,
            "/classes/promote",
            json!({ "school_year": 2027, "dry_run": true }),
        )
        .await;

    assert_eq!(status, 200, "{out}");
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["summary"]["graduated_students"], 1);
    let plan = out["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 18);
    let step = plan.iter().find(|s| s["code"] == "g3c2").unwrap();
    assert_eq!(
        (
            &step["new_code"],
            &step["name"],
            &step["new_name"],
            &step["graduating"]
        ),
        (
            &json!("g4c2"),
            &json!("三年级2班"),
            &json!("四年级2班"),
            &json!(false)
        )
    );
    let top = plan.iter().find(|s| s["code"] == "g6c3").unwrap();
    assert_eq!(
        (&top["new_code"], &top["graduating"]),
        (&json!("g6c3@2027"), &json!(true))
    );
    assert_eq!(top["graduating_students"], 1);
    assert_eq!(class_rows(&app).await, before);
    let status: String =
        sqlx::query_scalar("select status from school_sqsf.students where id = $1")
            .bind(student)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(status, "active");
    let promotions: i64 = sqlx::query_scalar("select count(*) from school_sqsf.promotions")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(promotions, 0);
    assert!(app.audit_records("school.class.promote").await.is_empty());
    // The real promotion is still possible afterwards.
    let real = app
        .school_post(&token, "/classes/promote", json!({ "school_year": 2027 }))
        .await;
    assert_eq!(real.0, 200, "{}", real.1);
}

// --- permissions ------------------------------------------------------------------------

#[tokio::test]
async fn a_teacher_reads_the_organisation_but_cannot_change_it() {
    let (app, _) = spawn_demo().await;
    let (_, teacher) = app
        .sign_in_as("13700000001", Role::Teacher, Some("sqsf"))
        .await;
    let before = app.school_ok(&teacher, "/classes").await;

    let attempts = [
        app.school_post(
            &teacher,
            "/venues",
            json!({ "code": "lib", "name": "图书馆", "kind": "hall", "capacity": 10 }),
        )
        .await,
        app.school_post(&teacher, "/classes/promote", json!({ "school_year": 2027 }))
            .await,
        app.school_put(
            &teacher,
            "/terms/2026-autumn/days/2026-11-11",
            json!({ "kind": "holiday", "name": "放假" }),
        )
        .await,
    ];

    for a in &attempts {
        refused(a, 403, "PERMISSION_DENIED");
    }
    assert_eq!(app.school_ok(&teacher, "/classes").await, before);
    let cal = app.school_ok(&teacher, "/calendar").await;
    assert_eq!(day(&cal, "2026-11-11")["kind"], "teaching");
}

#[tokio::test]
async fn reapplying_a_changed_manifest_after_promotion_never_moves_classes_back() {
    let (app, token) = spawn_demo().await;
    let (status, out) = app
        .school_post(&token, "/classes/promote", json!({ "school_year": 2027 }))
        .await;
    assert_eq!(status, 200, "{out}");

    // The operator edits the manifest (a new venue) and applies it again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("school_sqsf.toml");
    let text =
        std::fs::read_to_string(crate::helpers::repo_root().join("tenants/demo/school_sqsf.toml"))
            .unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[[venues]]\ncode = \"newhall\"\nname = \"新礼堂\"\nkind = \"hall\"\ncapacity = 300\n"),
    )
    .unwrap();
    app.apply_files(&[path]).await;

    let (name, alias): (String, Option<String>) =
        sqlx::query_as("select name, alias from school_sqsf.classes where code = 'g2c1'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), alias.as_deref()),
        ("二年级1班", Some("向日葵班"))
    );
    let venue: i64 =
        sqlx::query_scalar("select count(*) from school_sqsf.venues where code = 'newhall'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(venue, 1);
}
