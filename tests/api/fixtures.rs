//! Shared fixtures of the enrollment tests: courses as the publishing endpoints leave them,
//! families (children with a guardian who can sign in) imported through the real import.

use std::time::Duration;

use afterschool::auth::model::Role;
use afterschool::clock::Clock;
use afterschool::people::sample;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::TestApp;

const T: &str = "/t/sqsf/api/v1";
/// Guardian i of `families` signs in with this phone + i.
pub const FIRST_PHONE: u64 = 19920000000;

/// A course row as the publishing endpoints would leave it (published, seats counter).
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

pub async fn insert_course(app: &TestApp, c: &Course<'_>) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "insert into school_sqsf.courses (code, parent_id, class_type, name, category, term_id,
                venue_id, weekdays, starts_at, ends_at, starts_on, ends_on, capacity, price,
                pricing, eligible_levels, reg_opens_at, reg_closes_at, status)
         select $1, $2, 'training', $3, '体育', t.id,
                (select id from school_sqsf.venues where code = $11),
                $4, $5::time, $6::time, t.starts_on, t.ends_on, $7, 300, 'per_course', $8, $9,
                $10, 'published'
         from school_sqsf.terms t where t.code = '2026-autumn'
         returning id",
    )
    .bind(c.code)
    .bind(c.parent)
    .bind(c.name)
    .bind(c.weekdays)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(c.capacity)
    .bind(c.levels)
    .bind(c.opens)
    .bind(c.closes)
    .bind(c.venue)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    sqlx::query("insert into school_sqsf.course_seats (course_id, capacity) values ($1, $2)")
        .bind(id)
        .bind(c.capacity)
        .execute(&app.db.admin)
        .await
        .unwrap();
    id
}

/// Seats taken of a course, from its counter row.
pub async fn taken(app: &TestApp, course: i64) -> i32 {
    sqlx::query_scalar("select taken from school_sqsf.course_seats where course_id = $1")
        .bind(course)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// `n` children in 一年级1班 (i even) and 三年级2班 (i odd), each with a guardian whose phone
/// is FIRST_PHONE + i; returns (student id, parent token) per child.
pub async fn families(app: &TestApp, n: usize) -> Vec<(i64, String)> {
    let admin = app.admin_token("sqsf").await;
    let (s, g) = sample::roster(n, &["一年级1班", "三年级2班"], FIRST_PHONE);
    let bytes = sample::roster_xlsx(s.clone(), g).unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("r.xlsx"),
    );
    let job: Value = app
        .client
        .post(format!("{}{T}/school/imports?kind=students", app.address))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    for _ in 0..400 {
        let (_, j) = app
            .get_json_as(&admin, &format!("{T}/school/imports/{id}"))
            .await;
        if j["status"] == "succeeded" {
            break;
        }
        assert_ne!(j["status"], "failed", "{j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
