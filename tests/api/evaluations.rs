//! Course evaluations end to end (issue #17; R-P15, F6): a parent rates a course the child
//! attends once a term and edits it; each version goes to the city push as F6; the admin
//! sees each course's and teacher's scores; bad evaluations get their own code and change
//! nothing.

use reqwest::Method;
use serde_json::json;

use crate::attendance::teacher_of;
use crate::fixtures::{published_course, school_with_families, Course};
use crate::helpers::TestApp;

async fn f6_events(app: &TestApp) -> i64 {
    app.count(
        "select count(*) from platform.outbox where kind = 'supervision.push'
         and payload->>'set' = 'F6'",
    )
    .await
}

#[tokio::test]
async fn r_p15_a_parent_rates_a_course_once_a_term_edits_it_and_each_version_is_pushed_as_f6() {
    // Arrange: both children in 游泳 (its teacher set); 美术 that nobody attends
    let (app, fam, swim) = school_with_families(2, 5).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        app.paid(token, *child, swim, &format!("eval-pay-000{i}"))
            .await;
    }
    teacher_of(&app, &[swim], "T551", 551, "13800138551").await;
    let mut art = Course::new(&app, "art", "美术");
    art.starts_at = "18:10";
    art.ends_at = "19:00";
    let art = published_course(&app, &art).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let path = format!("/children/{child}/evaluations");
    let rate = |course: i64, score: i32, content: &str| json!({ "course_id": course, "score": score, "content": content });

    // Act
    let listed = app.school_ok(&token, &path).await;
    let (s_new, new) = app
        .school(
            Method::POST,
            &token,
            &path,
            Some(rate(swim, 5, "孩子很喜欢游泳课")),
        )
        .await;
    let mut refused = Vec::new();
    for (who, p, body) in [
        (&token, path.clone(), rate(swim, 4, "再评一次")),
        (&token, path.clone(), rate(swim, 0, "")),
        (&token, path.clone(), rate(swim, 6, "")),
        (&token, path.clone(), rate(art, 4, "")),
        (&token, path.clone(), rate(swim, 4, &"好".repeat(501))),
        (&token, path.clone(), json!({ "score": 4 })),
        (
            &token,
            format!("/children/{}/evaluations", fam[1].0),
            rate(swim, 4, ""),
        ),
    ] {
        let (s, b) = app.school(Method::POST, who, &p, Some(body)).await;
        refused.push((s, b["code"].as_str().unwrap_or_default().to_string()));
    }
    let after_refused = app
        .count("select count(*) from school_sqsf.course_evaluations")
        .await;
    let id = new["id"].as_i64().unwrap();
    let (s_edit, edited) = app
        .school(
            Method::PUT,
            &token,
            &format!("/evaluations/{id}"),
            Some(json!({ "score": 3, "content": "教练有点严格" })),
        )
        .await;
    let (s_other, other) = app
        .school(
            Method::PUT,
            &fam[1].1,
            &format!("/evaluations/{id}"),
            Some(json!({ "score": 1, "content": "" })),
        )
        .await;
    let admin = app.admin_token("sqsf").await;
    let summary = app.school_ok(&admin, "/evaluations/summary").await;
    let (s_parent_summary, _) = app
        .school(Method::GET, &token, "/evaluations/summary", None)
        .await;
    let relisted = app.school_ok(&token, &path).await;

    // Assert
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "only the course attended: {listed}"
    );
    assert!(listed[0]["evaluation"].is_null());
    assert_eq!((s_new, new["score"].as_i64()), (200, Some(5)), "{new}");
    assert_eq!(
        refused,
        [
            (409, "EVALUATION_EXISTS".to_string()),
            (422, "SCORE_INVALID".to_string()),
            (422, "SCORE_INVALID".to_string()),
            (422, "EVALUATION_NOT_ATTENDING".to_string()),
            (422, "EVALUATION_CONTENT_INVALID".to_string()),
            (422, "EVALUATION_COURSE_MISSING".to_string()),
            (404, "CHILD_NOT_FOUND".to_string()),
        ]
    );
    assert_eq!(after_refused, 1, "a refused evaluation writes nothing");
    assert_eq!(
        (s_edit, edited["score"].as_i64()),
        (200, Some(3)),
        "{edited}"
    );
    assert_eq!(
        (s_other, other["code"].as_str()),
        (404, Some("EVALUATION_NOT_FOUND"))
    );
    assert_eq!(f6_events(&app).await, 2, "the evaluation and its edit");
    let f6: serde_json::Value = sqlx::query_scalar(
        "select payload from platform.outbox where kind = 'supervision.push'
         and payload->>'set' = 'F6' order by id desc limit 1",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(f6["body"]["score"], 3, "{f6}");
    assert_eq!(f6["body"]["content"], "教练有点严格");
    assert_eq!(f6["body"]["classNo"], "sqsf-swim");
    assert_eq!(f6["recordId"], format!("sqsf-V{id}"));
    let course = &summary["courses"][0];
    assert_eq!(
        (course["count"].as_i64(), course["average"].as_f64()),
        (Some(1), Some(3.0)),
        "{summary}"
    );
    assert_eq!(course["comments"][0]["content"], "教练有点严格");
    assert_eq!(summary["teachers"][0]["teacher_name"], "老师T551");
    assert_eq!(s_parent_summary, 403);
    assert_eq!(relisted[0]["evaluation"]["score"], 3);
}
