//! Inspections end to end (issue #17, 巡课): an inspector sees the day's sessions, records
//! what was seen at one with a photo; the admin sees every inspection, another inspector
//! only their own; bad records get their own code and change nothing.

use reqwest::multipart::Part;
use reqwest::Method;
use serde_json::json;

use crate::fixtures::{school_with_families, PNG_1X1};
use afterschool::auth::model::Role;

#[tokio::test]
async fn an_inspector_records_a_session_with_a_photo_and_the_admin_sees_it() {
    // Arrange: 游泳 on Mondays; two inspectors and a teacher
    let (app, _fam, swim) = school_with_families(1, 5).await;
    let (_, inspector) = app
        .sign_in_as("13800138581", Role::Inspector, Some("sqsf"))
        .await;
    let (_, other) = app
        .sign_in_as("13800138582", Role::Inspector, Some("sqsf"))
        .await;
    let (_, teacher) = app
        .sign_in_as("13800138583", Role::Teacher, Some("sqsf"))
        .await;
    let admin = app.admin_token("sqsf").await;
    let new = |day: &str, notes: &str| json!({ "course_id": swim, "day": day, "notes": notes });

    // Act
    let sessions = app.school_ok(&inspector, "/inspections/sessions").await;
    let (s_empty, empty) = app
        .school(
            Method::POST,
            &inspector,
            "/inspections",
            Some(new("2026-10-12", " ")),
        )
        .await;
    let (s_tuesday, tuesday) = app
        .school(
            Method::POST,
            &inspector,
            "/inspections",
            Some(new("2026-10-13", "到课 1 人")),
        )
        .await;
    let (s_teacher, _) = app
        .school(
            Method::POST,
            &teacher,
            "/inspections",
            Some(new("2026-10-12", "x")),
        )
        .await;
    let refused_rows = app
        .count("select count(*) from school_sqsf.inspections")
        .await;
    let (s_ok, ok) = app
        .school(
            Method::POST,
            &inspector,
            "/inspections",
            Some(new("2026-10-12", "到课 1 人，秩序良好")),
        )
        .await;
    let id = ok["id"].as_i64().unwrap();
    let part = Part::bytes(PNG_1X1.to_vec())
        .file_name("p.png")
        .mime_str("image/png")
        .unwrap();
    let (s_pic, with_pic) = app
        .send_file(
            Method::POST,
            &inspector,
            &format!("/t/sqsf/api/v1/school/inspections/{id}/picture"),
            part,
        )
        .await;
    let pic = app
        .get_as(
            &admin,
            &format!("/t/sqsf/api/v1/school/inspections/{id}/picture"),
        )
        .await;
    let pic_status = pic.status().as_u16();
    let pic_bytes = pic.bytes().await.unwrap();
    let all = app.school_ok(&admin, "/inspections?day=2026-10-12").await;
    let others = app.school_ok(&other, "/inspections").await;
    let (s_foreign, _) = app
        .school(Method::GET, &other, &format!("/inspections/{id}"), None)
        .await;

    // Assert
    assert!(
        sessions["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["course_id"] == swim),
        "{sessions}"
    );
    assert_eq!(
        (s_empty, empty["code"].as_str()),
        (422, Some("INSPECTION_NOTES_INVALID"))
    );
    assert_eq!(
        (s_tuesday, tuesday["code"].as_str()),
        (404, Some("SESSION_NOT_FOUND"))
    );
    assert_eq!(s_teacher, 403, "teachers do not inspect");
    assert_eq!(refused_rows, 0);
    assert_eq!(
        (s_ok, ok["course_name"].as_str()),
        (200, Some("游泳")),
        "{ok}"
    );
    assert_eq!(s_pic, 200, "{with_pic}");
    assert!(with_pic["picture"].is_string());
    assert_eq!((pic_status, pic_bytes.as_ref()), (200, PNG_1X1));
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");
    assert_eq!(
        others.as_array().map(Vec::len),
        Some(0),
        "another inspector's are not shown"
    );
    assert_eq!(s_foreign, 404);
}
