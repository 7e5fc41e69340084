//! Shared fixtures of the domain tests: courses made and published through the school
//! admin's API (so the course rules hold for them as for any course), families (children
//! with a guardian who can sign in) imported through the real import, and a demo school
//! with both.

use afterschool::auth::model::Role;
use afterschool::clock::Clock;
use afterschool::people::sample;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::client::spawn_demo;
use crate::helpers::TestApp;

// A real 1x1 transparent PNG.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// Guardian i of `families` signs in with this phone + i.
pub const FIRST_PHONE: u64 = 19920000000;

/// A training course of the autumn term (on the term's dates, 300.00 per course), to be
/// published with [`published_course`].
pub struct Course<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub weekdays: &'a [i16],
    pub starts_at: &'a str,
    pub ends_at: &'a str,
    pub capacity: i32,
    pub levels: &'a [i16],
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
    /// series course this is a sub-item of
    pub parent: Option<i64>,
    /// venue code
    pub venue: Option<&'a str>,
}

impl<'a> Course<'a> {
    pub fn new(app: &TestApp, code: &'a str, name: &'a str) -> Self {
        let now = app.clock.now();
        Course {
            code,
            name,
            weekdays: &[1, 3],
            starts_at: "16:30",
            ends_at: "18:00",
            capacity: 20,
            levels: &[1, 2, 3, 4, 5, 6],
            opens: now - chrono::Duration::days(1),
            closes: now + chrono::Duration::days(7),
            parent: None,
            venue: None,
        }
    }
}

/// Creates course `c` through the school admin's API and publishes it; the course id.
pub async fn published_course(app: &TestApp, c: &Course<'_>) -> i64 {
    let admin = app.admin_token("sqsf").await;
    let parent_code = match c.parent {
        Some(id) => app.school_ok(&admin, &format!("/courses/{id}")).await["code"].clone(),
        None => serde_json::Value::Null,
    };
    let venue_id = match c.venue {
        Some(code) => app
            .school_ok(&admin, "/venues")
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["code"] == code)
            .unwrap_or_else(|| panic!("venue {code}"))["id"]
            .clone(),
        None => serde_json::Value::Null,
    };
    let course = app
        .create_course(
            &admin,
            json!({
                "code": c.code, "class_type": "training", "name": c.name, "category": "体育",
                "term_code": "2026-autumn", "venue_id": venue_id, "weekdays": c.weekdays,
                "starts_at": c.starts_at, "ends_at": c.ends_at, "capacity": c.capacity,
                "price": "300", "pricing": "per_course", "eligible_levels": c.levels,
                "reg_opens_at": c.opens.to_rfc3339(), "reg_closes_at": c.closes.to_rfc3339(),
                "parent_code": parent_code,
            }),
        )
        .await;
    let id = course["id"].as_i64().expect("course id");
    app.publish_course(&admin, id).await;
    id
}

/// The demo street with `n` families and one published course, 游泳 (300.00, `capacity`
/// places): (app, families, course id).
pub async fn school_with_families(n: usize, capacity: i32) -> (TestApp, Vec<(i64, String)>, i64) {
    let (app, fam) = demo_with_families(n).await;
    let mut c = Course::new(&app, "swim", "游泳");
    c.capacity = capacity;
    let course = published_course(&app, &c).await;
    (app, fam, course)
}

/// `n` children in 一年级1班 (i even) and 三年级2班 (i odd), each with a guardian whose phone
/// is FIRST_PHONE + i; returns (student id, parent token) per child.
pub async fn families(app: &TestApp, n: usize) -> Vec<(i64, String)> {
    let admin = app.admin_token("sqsf").await;
    let (s, g) = sample::roster(n, &["一年级1班", "三年级2班"], FIRST_PHONE);
    let bytes = sample::roster_xlsx(s.clone(), g).unwrap();
    let job = app.import(&admin, "students", "r.xlsx", bytes).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let mut out = Vec::new();
    for (i, row) in s.iter().enumerate() {
        let sid: i64 = sqlx::query_scalar("select id from school_sqsf.students where name = $1")
            .bind(&row[0])
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
        let (_, token) = app
            .sign_in_as(
                &(FIRST_PHONE + i as u64).to_string(),
                Role::Parent,
                Some("sqsf"),
            )
            .await;
        out.push((sid, token));
    }
    out
}

/// A fresh session for family `i` (sessions end after 30 idle minutes of test clock).
pub async fn relogin(app: &TestApp, i: usize) -> String {
    app.sign_in_as(
        &(FIRST_PHONE + i as u64).to_string(),
        Role::Parent,
        Some("sqsf"),
    )
    .await
    .1
}

/// The demo street with `n` families (see [`families`]).
pub async fn demo_with_families(n: usize) -> (TestApp, Vec<(i64, String)>) {
    let (app, _) = spawn_demo().await;
    let fam = families(&app, n).await;
    (app, fam)
}

pub fn staff_body(no: &str, id_number: &str, phone: &str) -> Value {
    json!({
        "staff_no": no, "name": format!("老师{no}"), "id_number": id_number, "phone": phone,
        "qualification_no": "20104400000123", "education": "本科", "title": "一级教师",
        "employed_since": "2012", "duties": "课后服务", "monthly_salary": "6800.5",
        "departments": ["三年级组"], "resume": "2012年起任教"
    })
}

/// A staff member; returns the staff id.
pub async fn staff(app: &TestApp, admin: &str, no: &str, seq: u32, phone: &str) -> i64 {
    let idn = sample::id_number("442000", NaiveDate::from_ymd_opt(1988, 3, 7).unwrap(), seq);
    app.create_staff(admin, staff_body(no, &idn, phone)).await
}

/// A staff member made homeroom teacher of `class`, signed in; returns the token.
pub async fn homeroom(
    app: &TestApp,
    admin: &str,
    class: &str,
    no: &str,
    seq: u32,
    phone: &str,
) -> String {
    let sid = staff(app, admin, no, seq, phone).await;
    app.set_homeroom(admin, class, sid).await;
    app.sign_in_as(phone, Role::HomeroomTeacher, Some("sqsf"))
        .await
        .1
}
