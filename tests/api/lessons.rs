//! Lesson records and comments end to end (issue #17; R-T07, R-P10): the teacher records
//! what a session covered with a photo and comments on a child; each parent reads their own
//! child's lessons and only theirs; bad records and comments get their own code.

use reqwest::multipart::Part;
use reqwest::Method;
use serde_json::json;

use crate::attendance::teacher_of;
use crate::fixtures::{published_course, school_with_families, Course, PNG_1X1};
use afterschool::auth::model::Role;

#[tokio::test]
async fn r_t07_r_p10_the_teacher_records_the_lesson_and_comments_and_each_parent_reads_their_own() {
    // Arrange: both children in 游泳 (Mondays and Wednesdays); its teacher and another one
    let (app, fam, swim) = school_with_families(2, 5).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        app.paid(token, *child, swim, &format!("lesson-pay-000{i}"))
            .await;
    }
    teacher_of(&app, &[swim], "T591", 591, "13800138591").await;
    let mut art = Course::new(&app, "art", "美术");
    art.starts_at = "18:10";
    art.ends_at = "19:00";
    let art = published_course(&app, &art).await;
    teacher_of(&app, &[art], "T592", 592, "13800138592").await;
    let teacher = app
        .sign_in_as("13800138591", Role::Teacher, Some("sqsf"))
        .await
        .1;
    let stranger = app
        .sign_in_as("13800138592", Role::Teacher, Some("sqsf"))
        .await
        .1;
    let base = format!("/attendance/sessions/{swim}/2026-10-12");
    let picture = |token: String| {
        let app = &app;
        let path = format!("/t/sqsf/api/v1/school{base}/record/pictures");
        async move {
            let part = Part::bytes(PNG_1X1.to_vec())
                .file_name("p.png")
                .mime_str("image/png")
                .unwrap();
            app.send_file(Method::POST, &token, &path, part).await
        }
    };
    let comment = |student: i64, body: serde_json::Value| {
        let (app, teacher, base) = (&app, teacher.clone(), base.clone());
        async move {
            app.school(
                Method::PUT,
                &teacher,
                &format!("{base}/comments/{student}"),
                Some(body),
            )
            .await
        }
    };

    // Act
    let before = app
        .school_ok(&fam[0].1, &format!("/children/{}/lessons", fam[0].0))
        .await;
    let (s_empty, empty) = app
        .school(
            Method::PUT,
            &teacher,
            &format!("{base}/record"),
            Some(json!({ "content": " " })),
        )
        .await;
    let (s_early_pic, early_pic) = picture(teacher.clone()).await;
    let (s_foreign, foreign) = app
        .school(
            Method::PUT,
            &stranger,
            &format!("{base}/record"),
            Some(json!({ "content": "x" })),
        )
        .await;
    let (s_future, future) = app
        .school(
            Method::PUT,
            &teacher,
            &format!("/attendance/sessions/{swim}/2026-10-14/record"),
            Some(json!({ "content": "x" })),
        )
        .await;
    let (s_rec, _) = app
        .school(
            Method::PUT,
            &teacher,
            &format!("{base}/record"),
            Some(json!({ "content": "学习自由泳换气，分组练习 20 分钟" })),
        )
        .await;
    let (s_pic, with_pic) = picture(teacher.clone()).await;
    let (s_c, _) = comment(
        fam[0].0,
        json!({ "tags": ["专注", "进步明显"], "content": "换气进步很大" }),
    )
    .await;
    let (s_nobody, nobody) = comment(999_999, json!({ "tags": ["专注"] })).await;
    let (s_blank, blank) = comment(fam[0].0, json!({ "tags": [], "content": "" })).await;
    let (s_long_tag, long_tag) =
        comment(fam[0].0, json!({ "tags": ["一二三四五六七八九十一"] })).await;
    let mine = app
        .school_ok(&fam[0].1, &format!("/children/{}/lessons", fam[0].0))
        .await;
    let theirs = app
        .school_ok(&fam[1].1, &format!("/children/{}/lessons", fam[1].0))
        .await;
    let (s_other_child, _) = app
        .school(
            Method::GET,
            &fam[1].1,
            &format!("/children/{}/lessons", fam[0].0),
            None,
        )
        .await;
    let pic_path = format!(
        "/t/sqsf/api/v1/school/children/{}/lessons/{swim}/2026-10-12/pictures/1",
        fam[0].0
    );
    let pic = app.get_as(&fam[0].1, &pic_path).await;
    let pic_status = pic.status().as_u16();
    let pic_bytes = pic.bytes().await.unwrap();
    let other_pic = app.get_as(&fam[1].1, &pic_path).await.status().as_u16();

    // Assert
    assert_eq!(before.as_array().map(Vec::len), Some(0));
    assert_eq!(
        (s_empty, empty["code"].as_str()),
        (422, Some("LESSON_RECORD_INVALID"))
    );
    assert_eq!(
        (s_early_pic, early_pic["code"].as_str()),
        (409, Some("LESSON_RECORD_FIRST"))
    );
    assert_eq!(
        (s_foreign, foreign["code"].as_str()),
        (403, Some("SESSION_NOT_YOURS"))
    );
    assert_eq!(
        (s_future, future["code"].as_str()),
        (409, Some("SESSION_NOT_STARTED"))
    );
    assert_eq!((s_rec, s_pic, s_c), (200, 200, 200), "{with_pic}");
    assert_eq!(with_pic["pictures"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (s_nobody, nobody["code"].as_str()),
        (422, Some("STUDENT_NOT_IN_SESSION"))
    );
    assert_eq!(
        (s_blank, blank["code"].as_str()),
        (422, Some("LESSON_COMMENT_INVALID"))
    );
    assert_eq!(
        (s_long_tag, long_tag["code"].as_str()),
        (422, Some("LESSON_COMMENT_INVALID"))
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.student_comments")
            .await,
        1,
        "refused comments write nothing"
    );
    let l = &mine[0];
    assert_eq!(
        l["record"]["content"], "学习自由泳换气，分组练习 20 分钟",
        "{mine}"
    );
    assert_eq!(l["comment"]["tags"], json!(["专注", "进步明显"]));
    assert_eq!(l["comment"]["content"], "换气进步很大");
    assert!(theirs[0]["record"].is_object(), "{theirs}");
    assert!(
        theirs[0]["comment"].is_null(),
        "another child's comment is not shown: {theirs}"
    );
    assert_eq!(s_other_child, 404);
    assert_eq!((pic_status, pic_bytes.as_ref()), (200, PNG_1X1));
    assert_eq!(
        other_pic, 404,
        "a parent reaches photos through their own child only"
    );
}
