//! Editing a school's organisation and calendar (R-S02 grades, classes, aliases and the
//! yearly promotion; R-S05 venues, periods and the term calendar): every change audited,
//! every refusal a specific code that leaves the data as it was.

use afterschool::auth::model::Role;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const BASE: &str = "/t/sqsf/api/v1/school";

/// The demo street with a signed-in school admin of 石岐示范小学 (sqsf).
async fn demo() -> (TestApp, String) {
    let app = spawn_app().await;
    app.apply_demo().await;
    let token = app.admin_token("sqsf").await;
    (app, token)
}

async fn send(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{BASE}{path}", app.address);
    let mut req = match method {
        "get" => app.client.get(url),
        "post" => app.client.post(url),
        "put" => app.client.put(url),
        "patch" => app.client.patch(url),
        "delete" => app.client.delete(url),
        other => panic!("method {other}"),
    };
    req = req.bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = send(app, "get", token, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// Asserts the answer is `status` with error `code`.
fn refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(
        (answer.0, answer.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        answer.1
    );
}

/// Success records of `action` in sqsf, by the given account.
async fn audit_records(app: &TestApp, action: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "select a.object, a.details from platform.audit_log a
         join platform.tenants t on t.id = a.tenant_id
         where a.action = $1 and a.outcome = 'success' and t.code = 'sqsf' and a.actor_account_id is not null
         order by a.id",
    )
    .bind(action)
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

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

fn class_in<'a>(list: &'a Value, code: &str) -> Option<&'a Value> {
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
    let (app, token) = demo().await;

    let (status, g) = send(
        &app,
        "post",
        &token,
        "/grades",
        Some(json!({ "code": "g7", "name": " 初一 ", "level": 7 })),
    )
    .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        (g["code"].as_str(), g["name"].as_str()),
        (Some("g7"), Some("初一"))
    );
    let id = g["id"].as_i64().unwrap();
    let (status, g) = send(
        &app,
        "patch",
        &token,
        &format!("/grades/{id}"),
        Some(json!({ "name": "七年级" })),
    )
    .await;
    assert_eq!((status, g["name"].as_str()), (200, Some("七年级")));
    assert_eq!(
        grade_in(&get(&app, &token, "/classes").await, "g7")["name"],
        "七年级"
    );
    let (status, _) = send(&app, "delete", &token, &format!("/grades/{id}"), None).await;
    assert_eq!(status, 200);

    let list = get(&app, &token, "/classes").await;
    assert!(list.as_array().unwrap().iter().all(|g| g["code"] != "g7"));
    let created = audit_records(&app, "school.grade.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, format!("grade:{id}"));
    assert_eq!(created[0].1["level"], 7);
    let renamed = audit_records(&app, "school.grade.update").await;
    assert_eq!(
        renamed[0].1["name"],
        json!({ "from": "初一", "to": "七年级" })
    );
    assert_eq!(audit_records(&app, "school.grade.delete").await.len(), 1);
}

#[tokio::test]
async fn a_duplicate_grade_code_or_level_is_a_conflict() {
    let (app, token) = demo().await;

    let dup_code = send(
        &app,
        "post",
        &token,
        "/grades",
        Some(json!({ "code": "g1", "name": "另一个一年级", "level": 9 })),
    )
    .await;
    let dup_level = send(
        &app,
        "post",
        &token,
        "/grades",
        Some(json!({ "code": "g1b", "name": "一年级B", "level": 1 })),
    )
    .await;

    refused(&dup_code, 409, "GRADE_CODE_TAKEN");
    refused(&dup_level, 409, "GRADE_LEVEL_TAKEN");
    assert_eq!(
        get(&app, &token, "/classes")
            .await
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn invalid_grade_input_is_refused_with_its_code_and_changes_nothing() {
    let (app, token) = demo().await;
    let before = get(&app, &token, "/classes").await;

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
        let answer = send(&app, "post", &token, "/grades", Some(body)).await;
        refused(&answer, 422, code);
        assert!(answer.1["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}'));
    }
    let g1 = grade_in(&before, "g1")["id"].as_i64().unwrap();
    let answer = send(
        &app,
        "patch",
        &token,
        &format!("/grades/{g1}"),
        Some(json!({ "name": "" })),
    )
    .await;
    refused(&answer, 422, "NAME_INVALID");
    refused(
        &send(
            &app,
            "patch",
            &token,
            "/grades/999999",
            Some(json!({ "name": "x" })),
        )
        .await,
        404,
        "GRADE_NOT_FOUND",
    );

    assert_eq!(get(&app, &token, "/classes").await, before);
    assert!(audit_records(&app, "school.grade.create").await.is_empty());
}

#[tokio::test]
async fn a_grade_with_classes_cannot_be_deleted() {
    let (app, token) = demo().await;
    let list = get(&app, &token, "/classes").await;
    let g3 = grade_in(&list, "g3")["id"].as_i64().unwrap();

    let answer = send(&app, "delete", &token, &format!("/grades/{g3}"), None).await;

    refused(&answer, 409, "GRADE_HAS_CLASSES");
    assert_eq!(answer.1["details"]["classes"], 3);
    assert_eq!(get(&app, &token, "/classes").await, list);
}

// --- classes (R-S02) --------------------------------------------------------------------

#[tokio::test]
async fn a_class_is_created_with_alias_and_classroom_then_edited_and_deleted() {
    let (app, token) = demo().await;
    let list = get(&app, &token, "/classes").await;
    let g1 = grade_in(&list, "g1")["id"].as_i64().unwrap();
    let venues = get(&app, &token, "/venues").await;
    let c101 = venues
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "c101")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let (status, c) = send(
        &app,
        "post",
        &token,
        "/classes",
        Some(json!({
            "grade_id": g1, "code": "g1c4", "name": "一年级4班", "alias": "小星星班",
            "venue_id": c101,
        })),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["alias"], "小星星班");
    assert_eq!(c["status"], "active");
    assert_eq!(c["venue_name"], "一楼多功能教室");
    let listed = get(&app, &token, "/classes").await;
    assert_eq!(class_in(&listed, "g1c4").unwrap()["venue_id"], c101);

    let (status, c) = send(
        &app,
        "patch",
        &token,
        &format!("/classes/{id}"),
        Some(json!({ "name": "一年级4班（新）", "alias": null })),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["name"], "一年级4班（新）");
    assert!(c["alias"].is_null(), "null clears the alias: {c}");
    assert_eq!(c["venue_id"], c101, "a field not sent stays");
    let (_, c) = send(
        &app,
        "patch",
        &token,
        &format!("/classes/{id}"),
        Some(json!({ "venue_id": null, "alias": "萤火虫二班" })),
    )
    .await;
    assert!(c["venue_id"].is_null() && c["venue_name"].is_null(), "{c}");
    assert_eq!(c["alias"], "萤火虫二班");
    let (status, _) = send(&app, "delete", &token, &format!("/classes/{id}"), None).await;
    assert_eq!(status, 200);

    assert!(class_in(&get(&app, &token, "/classes").await, "g1c4").is_none());
    assert_eq!(audit_records(&app, "school.class.create").await.len(), 1);
    let updates = audit_records(&app, "school.class.update").await;
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].0, format!("class:{id}"));
    assert_eq!(
        updates[0].1["alias"],
        json!({ "from": "小星星班", "to": null })
    );
    assert_eq!(audit_records(&app, "school.class.delete").await.len(), 1);
}

#[tokio::test]
async fn class_codes_are_unique_and_invalid_class_input_changes_nothing() {
    let (app, token) = demo().await;
    let list = get(&app, &token, "/classes").await;
    let g1 = grade_in(&list, "g1")["id"].as_i64().unwrap();
    let g1c1 = class_in(&list, "g1c1").unwrap()["id"].as_i64().unwrap();
    let before = class_rows(&app).await;

    refused(
        &send(
            &app,
            "post",
            &token,
            "/classes",
            Some(json!({ "grade_id": g1, "code": "g2c1", "name": "一年级9班" })),
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
            &send(&app, "post", &token, "/classes", Some(body)).await,
            status,
            code,
        );
    }
    refused(
        &send(
            &app,
            "patch",
            &token,
            &format!("/classes/{g1c1}"),
            Some(json!({ "venue_id": 999999 })),
        )
        .await,
        422,
        "VENUE_NOT_FOUND",
    );
    refused(
        &send(
            &app,
            "patch",
            &token,
            "/classes/999999",
            Some(json!({ "name": "x" })),
        )
        .await,
        404,
        "CLASS_NOT_FOUND",
    );

    assert_eq!(class_rows(&app).await, before);
    assert!(audit_records(&app, "school.class.create").await.is_empty());
}

#[tokio::test]
async fn a_class_with_a_student_cannot_be_deleted() {
    let (app, token) = demo().await;
    insert_student(&app, "g2c3", "left").await;
    let list = get(&app, &token, "/classes").await;
    let id = class_in(&list, "g2c3").unwrap()["id"].as_i64().unwrap();

    let answer = send(&app, "delete", &token, &format!("/classes/{id}"), None).await;

    refused(&answer, 409, "CLASS_HAS_STUDENTS");
    assert_eq!(answer.1["details"]["students"], 1);
    assert!(class_in(&get(&app, &token, "/classes").await, "g2c3").is_some());
    assert!(audit_records(&app, "school.class.delete").await.is_empty());
}

#[tokio::test]
async fn the_class_list_shows_the_homeroom_teacher_and_hides_graduated_classes() {
    let (app, token) = demo().await;
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

    let list = get(&app, &token, "/classes").await;
    let all = get(&app, &token, "/classes?include_graduated=true").await;

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
    let (app, token) = demo().await;
    let graduate = insert_student(&app, "g6c1", "active").await;
    let already_left = insert_student(&app, "g6c2", "left").await;
    let stays = insert_student(&app, "g3c2", "active").await;
    let ids_before: Vec<(String, i64)> =
        sqlx::query_as("select code, id from school_sqsf.classes order by id")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    let id_of = |code: &str| ids_before.iter().find(|(c, _)| c == code).unwrap().1;

    let (status, out) = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027, "graduation_date": "2027-07-10" })),
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
    let list = get(&app, &token, "/classes").await;
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
    let audit = audit_records(&app, "school.class.promote").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "promotion:2027");
    assert_eq!(audit[0].1["promoted"], 15);
}

#[tokio::test]
async fn a_school_year_is_promoted_only_once() {
    let (app, token) = demo().await;
    let first = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027 })),
    )
    .await;
    assert_eq!(first.0, 200, "{}", first.1);
    let after_first = class_rows(&app).await;

    let again = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027 })),
    )
    .await;
    let earlier = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2026 })),
    )
    .await;

    refused(&again, 409, "ALREADY_PROMOTED");
    refused(&earlier, 409, "PROMOTION_OUT_OF_ORDER");
    assert_eq!(class_rows(&app).await, after_first);
    assert_eq!(audit_records(&app, "school.class.promote").await.len(), 1);
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
    let (app, token) = demo().await;
    let student = insert_student(&app, "g6c3", "active").await;
    let before = class_rows(&app).await;

    let (status, out) = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027, "dry_run": true })),
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
    assert!(audit_records(&app, "school.class.promote").await.is_empty());
    // The real promotion is still possible afterwards.
    let real = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027 })),
    )
    .await;
    assert_eq!(real.0, 200, "{}", real.1);
}

// --- venues (R-S05) ---------------------------------------------------------------------

#[tokio::test]
async fn a_venue_is_created_updated_and_deleted_with_audit_records() {
    let (app, token) = demo().await;

    let (status, v) = send(
        &app,
        "post",
        &token,
        "/venues",
        Some(json!({ "code": "lib", "name": "图书馆", "kind": "hall", "capacity": 120 })),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (status, v) = send(
        &app,
        "patch",
        &token,
        &format!("/venues/{id}"),
        Some(json!({ "capacity": 150, "kind": "other" })),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["capacity"].as_i64(),
            v["kind"].as_str(),
            v["name"].as_str()
        ),
        (Some(150), Some("other"), Some("图书馆"))
    );
    let listed = get(&app, &token, "/venues").await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "lib" && x["capacity"] == 150));
    let (status, _) = send(&app, "delete", &token, &format!("/venues/{id}"), None).await;
    assert_eq!(status, 200);

    assert!(get(&app, &token, "/venues")
        .await
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["code"] != "lib"));
    assert_eq!(
        audit_records(&app, "school.venue.create").await[0].0,
        format!("venue:{id}")
    );
    let upd = audit_records(&app, "school.venue.update").await;
    assert_eq!(upd[0].1["capacity"], json!({ "from": 120, "to": 150 }));
    assert_eq!(audit_records(&app, "school.venue.delete").await.len(), 1);
}

#[tokio::test]
async fn invalid_or_duplicate_venues_are_refused_and_change_nothing() {
    let (app, token) = demo().await;
    let before = get(&app, &token, "/venues").await;
    let gym = before
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "gym")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    refused(
        &send(
            &app,
            "post",
            &token,
            "/venues",
            Some(json!({ "code": "gym", "name": "新体育馆", "kind": "gym", "capacity": 10 })),
        )
        .await,
        409,
        "VENUE_CODE_TAKEN",
    );
    refused(
        &send(
            &app,
            "patch",
            &token,
            &format!("/venues/{gym}"),
            Some(json!({ "code": "hall" })),
        )
        .await,
        409,
        "VENUE_CODE_TAKEN",
    );
    for (body, code) in [
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "pool", "capacity": 10 }),
            "KIND_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "gym", "capacity": 0 }),
            "CAPACITY_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "gym", "capacity": 10001 }),
            "CAPACITY_INVALID",
        ),
        (
            json!({ "code": "Pool", "name": "游泳馆", "kind": "gym", "capacity": 10 }),
            "CODE_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "", "kind": "gym", "capacity": 10 }),
            "NAME_INVALID",
        ),
    ] {
        refused(
            &send(&app, "post", &token, "/venues", Some(body)).await,
            422,
            code,
        );
    }
    refused(
        &send(
            &app,
            "patch",
            &token,
            &format!("/venues/{gym}"),
            Some(json!({ "capacity": -1 })),
        )
        .await,
        422,
        "CAPACITY_INVALID",
    );
    refused(
        &send(&app, "delete", &token, "/venues/999999", None).await,
        404,
        "VENUE_NOT_FOUND",
    );

    assert_eq!(get(&app, &token, "/venues").await, before);
    assert!(audit_records(&app, "school.venue.create").await.is_empty());
}

#[tokio::test]
async fn a_venue_used_as_a_home_classroom_cannot_be_deleted() {
    let (app, token) = demo().await;
    let venues = get(&app, &token, "/venues").await;
    let art = venues
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "art")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let list = get(&app, &token, "/classes").await;
    let g4c2 = class_in(&list, "g4c2").unwrap()["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        "patch",
        &token,
        &format!("/classes/{g4c2}"),
        Some(json!({ "venue_id": art })),
    )
    .await;
    assert_eq!(status, 200);

    let answer = send(&app, "delete", &token, &format!("/venues/{art}"), None).await;

    refused(&answer, 409, "VENUE_IN_USE");
    assert_eq!(answer.1["details"]["classes"], json!(["四年级2班"]));
    assert_eq!(get(&app, &token, "/venues").await, venues);
}

// --- periods (R-S05) --------------------------------------------------------------------

#[tokio::test]
async fn a_period_is_created_updated_and_deleted_with_audit_records() {
    let (app, token) = demo().await;

    let (status, p) = send(
        &app,
        "post",
        &token,
        "/periods",
        Some(json!({
            "code": "morning", "name": "早托", "kind": "after_school",
            "starts_at": "07:00", "ends_at": "07:50", "weekdays": [5, 1, 3],
        })),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["weekdays"], json!([1, 3, 5]));
    assert_eq!(p["starts_at"], "07:00:00");
    let id = p["id"].as_i64().unwrap();
    let (status, p) = send(
        &app,
        "patch",
        &token,
        &format!("/periods/{id}"),
        Some(json!({ "ends_at": "08:00", "weekdays": [1, 2, 3, 4, 5] })),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["ends_at"].as_str(), p["name"].as_str()),
        (Some("08:00:00"), Some("早托"))
    );
    let (status, _) = send(&app, "delete", &token, &format!("/periods/{id}"), None).await;
    assert_eq!(status, 200);

    assert!(get(&app, &token, "/periods")
        .await
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["code"] != "morning"));
    assert_eq!(audit_records(&app, "school.period.create").await.len(), 1);
    let upd = audit_records(&app, "school.period.update").await;
    assert_eq!(
        upd[0].1["ends_at"],
        json!({ "from": "07:50", "to": "08:00" })
    );
    assert_eq!(
        audit_records(&app, "school.period.delete").await[0].0,
        format!("period:{id}")
    );
}

#[tokio::test]
async fn invalid_periods_are_refused_with_their_codes_and_change_nothing() {
    let (app, token) = demo().await;
    let before = get(&app, &token, "/periods").await;
    let noon = before
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "noon")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let period = |patch: Value| {
        let mut p = json!({
            "code": "late", "name": "延时", "kind": "evening",
            "starts_at": "18:00", "ends_at": "19:00", "weekdays": [1, 2, 3, 4, 5],
        });
        for (k, v) in patch.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };

    for (patch, status, code) in [
        (json!({ "ends_at": "18:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "ends_at": "17:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "starts_at": "25:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "weekdays": [] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [1, 8] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [0] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [2, 2] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "kind": "night" }), 422, "KIND_INVALID"),
        (json!({ "code": "noon" }), 409, "PERIOD_CODE_TAKEN"),
    ] {
        refused(
            &send(&app, "post", &token, "/periods", Some(period(patch))).await,
            status,
            code,
        );
    }
    refused(
        &send(
            &app,
            "patch",
            &token,
            &format!("/periods/{noon}"),
            Some(json!({ "starts_at": "15:00" })),
        )
        .await,
        422,
        "PERIOD_TIME_INVALID",
    );
    refused(
        &send(&app, "delete", &token, "/periods/999999", None).await,
        404,
        "PERIOD_NOT_FOUND",
    );

    assert_eq!(get(&app, &token, "/periods").await, before);
    assert!(audit_records(&app, "school.period.create").await.is_empty());
}

// --- term calendar (R-S05) --------------------------------------------------------------

fn day<'a>(cal: &'a Value, date: &str) -> &'a Value {
    cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} in calendar"))
}

fn school_days(cal: &Value) -> i64 {
    cal["term"]["school_days"].as_i64().unwrap()
}

#[tokio::test]
async fn calendar_edits_show_in_the_calendar_at_once() {
    let (app, token) = demo().await;
    let cal = get(&app, &token, "/calendar?term=2026-autumn").await;
    let base = school_days(&cal);
    assert_eq!(day(&cal, "2026-11-11")["kind"], "teaching"); // Wednesday
    assert_eq!(day(&cal, "2026-11-14")["kind"], "weekend"); // Saturday

    let (status, d) = send(
        &app,
        "put",
        &token,
        "/terms/2026-autumn/days/2026-11-11",
        Some(json!({ "kind": "holiday", "name": "校运会补休" })),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["kind"].as_str(), d["label"].as_str()),
        (Some("holiday"), Some("校运会补休"))
    );
    let cal = get(&app, &token, "/calendar?term=2026-autumn").await;
    assert_eq!(day(&cal, "2026-11-11")["kind"], "holiday");
    assert_eq!(school_days(&cal), base - 1);

    let (status, _) = send(
        &app,
        "put",
        &token,
        "/terms/2026-autumn/days/2026-11-14",
        Some(json!({ "kind": "makeup", "name": "校运会调休上课" })),
    )
    .await;
    assert_eq!(status, 200);
    let cal = get(&app, &token, "/calendar?term=2026-autumn").await;
    assert_eq!(day(&cal, "2026-11-14")["kind"], "makeup");
    assert_eq!(school_days(&cal), base);

    // Replacing a holiday with a closure keeps it off; deleting brings the weekly rule back.
    let (status, _) = send(
        &app,
        "put",
        &token,
        "/terms/2026-autumn/days/2026-11-11",
        Some(json!({ "kind": "closure", "name": "台风停课" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        day(&get(&app, &token, "/calendar").await, "2026-11-11")["kind"],
        "closure"
    );
    let (status, d) = send(
        &app,
        "delete",
        &token,
        "/terms/2026-autumn/days/2026-11-11",
        None,
    )
    .await;
    assert_eq!((status, d["kind"].as_str()), (200, Some("teaching")));
    let cal = get(&app, &token, "/calendar").await;
    assert_eq!(school_days(&cal), base + 1);

    let set = audit_records(&app, "school.term.day_set").await;
    assert_eq!(set.len(), 3);
    assert_eq!(
        set[2].1["previous"],
        json!({ "kind": "holiday", "name": "校运会补休" })
    );
    assert_eq!(audit_records(&app, "school.term.day_delete").await.len(), 1);
}

#[tokio::test]
async fn calendar_days_that_break_the_rules_are_refused_and_change_nothing() {
    let (app, token) = demo().await;
    let before = get(&app, &token, "/calendar?term=2026-autumn").await;
    let put = |date: &'static str, kind: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            send(
                app,
                "put",
                token,
                &format!("/terms/2026-autumn/days/{date}"),
                Some(json!({ "kind": kind, "name": "测试" })),
            )
            .await
        }
    };

    refused(&put("2027-02-01", "holiday").await, 422, "DAY_OUTSIDE_TERM");
    refused(&put("2026-08-31", "makeup").await, 422, "DAY_OUTSIDE_TERM");
    refused(
        &put("2026-11-12", "makeup").await,
        422,
        "MAKEUP_ON_TEACHING_DAY",
    ); // Thursday
    refused(&put("2026-11-15", "holiday").await, 422, "NOT_A_SCHOOL_DAY"); // Sunday
    refused(&put("2026-11-15", "closure").await, 422, "NOT_A_SCHOOL_DAY");
    refused(&put("2026-11-12", "vacation").await, 422, "KIND_INVALID");
    refused(&put("2026-13-01", "holiday").await, 422, "DATE_INVALID");
    refused(
        &send(
            &app,
            "put",
            &token,
            "/terms/2026-autumn/days/2026-11-12",
            Some(json!({ "kind": "holiday", "name": " " })),
        )
        .await,
        422,
        "NAME_INVALID",
    );
    refused(
        &send(
            &app,
            "put",
            &token,
            "/terms/1999-spring/days/1999-03-01",
            Some(json!({ "kind": "holiday", "name": "x" })),
        )
        .await,
        404,
        "TERM_NOT_FOUND",
    );
    refused(
        &send(
            &app,
            "delete",
            &token,
            "/terms/2026-autumn/days/2026-11-12",
            None,
        )
        .await,
        404,
        "DAY_NOT_FOUND",
    );

    assert_eq!(
        get(&app, &token, "/calendar?term=2026-autumn").await,
        before
    );
    assert!(audit_records(&app, "school.term.day_set").await.is_empty());
}

#[tokio::test]
async fn terms_are_created_and_changed_within_the_calendar_rules() {
    let (app, token) = demo().await;
    let autumn = get(&app, &token, "/calendar?term=2026-autumn").await;

    let (status, t) = send(
        &app,
        "post",
        &token,
        "/terms",
        Some(json!({
            "code": "2027-spring", "name": "2026—2027学年第二学期",
            "starts_on": "2027-02-22", "ends_on": "2027-07-02", "teaching_weekdays": [1, 2, 3, 4, 5],
        })),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    // 19 weeks of five teaching days (Mon 22 Feb .. Fri 2 Jul).
    assert_eq!(t["school_days"], 95);
    let spring = get(&app, &token, "/calendar?term=2027-spring").await;
    assert_eq!(spring["days"].as_array().unwrap().len(), 131);

    let (status, t) = send(
        &app,
        "patch",
        &token,
        "/terms/2026-autumn",
        Some(json!({ "name": "秋季学期", "ends_on": "2027-01-29" })),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["name"], "秋季学期");
    assert_eq!(school_days(&json!({ "term": t })), school_days(&autumn) + 5);
    let upd = audit_records(&app, "school.term.update").await;
    assert_eq!(upd.len(), 1);
    assert_eq!(
        upd[0].1["ends_on"],
        json!({ "from": "2027-01-22", "to": "2027-01-29" })
    );
    assert_eq!(audit_records(&app, "school.term.create").await.len(), 1);
}

#[tokio::test]
async fn term_changes_that_break_the_calendar_are_refused_and_change_nothing() {
    let (app, token) = demo().await;
    let before = get(&app, &token, "/calendar?term=2026-autumn").await;
    let new_term = |code: &str, starts: &str, ends: &str, days: Value| json!({ "code": code, "name": "学期", "starts_on": starts, "ends_on": ends, "teaching_weekdays": days });

    for (body, status, code) in [
        (
            new_term(
                "2027-spring",
                "2027-02-22",
                "2027-02-21",
                json!([1, 2, 3, 4, 5]),
            ),
            422,
            "TERM_DATES_INVALID",
        ),
        (
            new_term(
                "2027-spring",
                "2027-02-22",
                "2027-09-10",
                json!([1, 2, 3, 4, 5]),
            ),
            422,
            "TERM_DATES_INVALID",
        ),
        (
            new_term("2027-spring", "2027-02-22", "2027-07-02", json!([])),
            422,
            "WEEKDAYS_INVALID",
        ),
        (
            new_term("2027-spring", "2027-02-30", "2027-07-02", json!([1])),
            422,
            "DATE_INVALID",
        ),
        (
            new_term("2027 spring", "2027-02-22", "2027-07-02", json!([1])),
            422,
            "CODE_INVALID",
        ),
        (
            new_term(
                "2027-spring",
                "2027-01-10",
                "2027-02-10",
                json!([1, 2, 3, 4, 5]),
            ),
            409,
            "TERM_OVERLAP",
        ),
        (
            new_term(
                "2026-autumn",
                "2028-02-21",
                "2028-07-01",
                json!([1, 2, 3, 4, 5]),
            ),
            409,
            "TERM_CODE_TAKEN",
        ),
    ] {
        refused(
            &send(&app, "post", &token, "/terms", Some(body)).await,
            status,
            code,
        );
    }
    for (body, code) in [
        // 元旦 (2027-01-01..03) would fall outside.
        (json!({ "ends_on": "2026-12-31" }), "EXCEPTION_OUTSIDE_TERM"),
        // The 调休 Sunday 2026-09-20 would fall outside.
        (
            json!({ "starts_on": "2026-09-21" }),
            "EXCEPTION_OUTSIDE_TERM",
        ),
        // Saturdays become teaching days: the 调休 Saturday 2026-10-10 would make no sense.
        (
            json!({ "teaching_weekdays": [1, 2, 3, 4, 5, 6] }),
            "MAKEUP_ON_TEACHING_DAY",
        ),
        (json!({ "ends_on": "2026-08-01" }), "TERM_DATES_INVALID"),
    ] {
        refused(
            &send(&app, "patch", &token, "/terms/2026-autumn", Some(body)).await,
            422,
            code,
        );
    }
    refused(
        &send(
            &app,
            "patch",
            &token,
            "/terms/1999-spring",
            Some(json!({ "name": "x" })),
        )
        .await,
        404,
        "TERM_NOT_FOUND",
    );

    assert_eq!(
        get(&app, &token, "/calendar?term=2026-autumn").await,
        before
    );
    let terms: i64 = sqlx::query_scalar("select count(*) from school_sqsf.terms")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(terms, 1);
    assert!(audit_records(&app, "school.term.update").await.is_empty());
}

// --- permissions ------------------------------------------------------------------------

#[tokio::test]
async fn a_teacher_reads_the_organisation_but_cannot_change_it() {
    let (app, _) = demo().await;
    let (_, teacher) = app
        .sign_in_as("13700000001", Role::Teacher, Some("sqsf"))
        .await;
    let before = get(&app, &teacher, "/classes").await;

    let attempts = [
        send(
            &app,
            "post",
            &teacher,
            "/venues",
            Some(json!({ "code": "lib", "name": "图书馆", "kind": "hall", "capacity": 10 })),
        )
        .await,
        send(
            &app,
            "post",
            &teacher,
            "/classes/promote",
            Some(json!({ "school_year": 2027 })),
        )
        .await,
        send(
            &app,
            "put",
            &teacher,
            "/terms/2026-autumn/days/2026-11-11",
            Some(json!({ "kind": "holiday", "name": "放假" })),
        )
        .await,
    ];

    for a in &attempts {
        refused(a, 403, "PERMISSION_DENIED");
    }
    assert_eq!(get(&app, &teacher, "/classes").await, before);
    let cal = get(&app, &teacher, "/calendar").await;
    assert_eq!(day(&cal, "2026-11-11")["kind"], "teaching");
}

#[tokio::test]
async fn reapplying_a_changed_manifest_after_promotion_never_moves_classes_back() {
    let (app, token) = demo().await;
    let (status, out) = send(
        &app,
        "post",
        &token,
        "/classes/promote",
        Some(json!({ "school_year": 2027 })),
    )
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
