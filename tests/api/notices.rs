//! Notices end to end (issue #17; R-T01, R-P01): a school admin writes a notice for a grade,
//! adds a picture and publishes it; the parents of that grade's children are messaged once
//! each and read it, the others never see it; the sender sees who has not read it; an edit
//! shows as edited, a withdrawal hides it. A homeroom teacher sends only to their own
//! classes, and bad notices get their own code and change nothing.

use reqwest::multipart::Part;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::{demo_with_families, PNG_1X1};
use crate::helpers::TestApp;

async fn id_of(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

async fn messages(app: &TestApp) -> i64 {
    app.count(
        "select count(*) from platform.outbox where kind = 'notify.message'
         and idem_key like 'notify:school_notice:%'",
    )
    .await
}

async fn notices(app: &TestApp) -> i64 {
    app.count("select count(*) from school_sqsf.notices").await
}

async fn picture(app: &TestApp, token: &str, id: i64, bytes: Vec<u8>, mime: &str) -> (u16, Value) {
    let part = Part::bytes(bytes)
        .file_name("图.png")
        .mime_str(mime)
        .unwrap();
    let path = format!("/t/sqsf/api/v1/school/notices/{id}/pictures");
    app.send_file(Method::POST, token, &path, part).await
}

#[tokio::test]
async fn r_t01_r_p01_a_grade_notice_reaches_its_parents_once_and_the_sender_sees_who_has_not_read_it(
) {
    // Arrange: four children, 0 and 2 in 一年级1班, 1 and 3 in 三年级2班
    let (app, fam) = demo_with_families(4).await;
    let admin = app.admin_token("sqsf").await;
    let grade1 = id_of(&app, "select id from school_sqsf.grades where level = 1").await;
    let body = json!({ "title": "一年级课后服务家长会", "body": "定于周五下午三点在礼堂召开。\n请准时参加。",
                       "audience": "grades", "grade_ids": [grade1] });

    // Act: a draft with a picture, published (twice)
    let (s_draft, draft) = app
        .school(Method::POST, &admin, "/notices", Some(body.clone()))
        .await;
    let id = draft["id"].as_i64().unwrap();
    let (s_pic, with_pic) = picture(&app, &admin, id, PNG_1X1.to_vec(), "image/png").await;
    let inbox_before = app.school_ok(&fam[0].1, "/my-notices").await;
    let (s_pub, published) = app
        .school(
            Method::POST,
            &admin,
            &format!("/notices/{id}/publish"),
            None,
        )
        .await;
    let (s_again, again) = app
        .school(
            Method::POST,
            &admin,
            &format!("/notices/{id}/publish"),
            None,
        )
        .await;
    let sent_messages = messages(&app).await;
    let inbox = app.school_ok(&fam[0].1, "/my-notices").await;
    let other_inbox = app.school_ok(&fam[1].1, "/my-notices").await;
    let (s_other_open, other_open) = app
        .school(Method::GET, &fam[1].1, &format!("/my-notices/{id}"), None)
        .await;
    let (s_open, opened) = app
        .school(Method::GET, &fam[0].1, &format!("/my-notices/{id}"), None)
        .await;
    let pic = app
        .get_as(
            &fam[0].1,
            &format!("/t/sqsf/api/v1/school/notices/{id}/pictures/1"),
        )
        .await;
    let pic_status = pic.status().as_u16();
    let pic_bytes = pic.bytes().await.unwrap();
    let other_pic = app
        .get_as(
            &fam[1].1,
            &format!("/t/sqsf/api/v1/school/notices/{id}/pictures/1"),
        )
        .await
        .status()
        .as_u16();
    let reads = app.school_ok(&admin, &format!("/notices/{id}/reads")).await;
    let edit = json!({ "title": "一年级课后服务家长会（改期）", "body": "改为下周一下午三点。",
                       "audience": "grades", "grade_ids": [grade1] });
    let (s_edit, edited) = app
        .school(Method::PUT, &admin, &format!("/notices/{id}"), Some(edit))
        .await;
    let widen = json!({ "title": "x", "body": "y", "audience": "school" });
    let (s_widen, widened) = app
        .school(Method::PUT, &admin, &format!("/notices/{id}"), Some(widen))
        .await;
    let reread = app.school_ok(&fam[0].1, &format!("/my-notices/{id}")).await;
    let (s_wd, withdrawn) = app
        .school(
            Method::POST,
            &admin,
            &format!("/notices/{id}/withdraw"),
            None,
        )
        .await;
    let inbox_after = app.school_ok(&fam[0].1, "/my-notices").await;
    let (s_gone, gone) = app
        .school(Method::GET, &fam[0].1, &format!("/my-notices/{id}"), None)
        .await;

    // Assert
    assert_eq!(
        (
            s_draft,
            draft["status"].as_str(),
            draft["audience_label"].as_str()
        ),
        (200, Some("draft"), Some("一年级")),
        "{draft}"
    );
    assert_eq!(
        (s_pic, with_pic["pictures"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{with_pic}"
    );
    assert_eq!(
        inbox_before.as_array().map(Vec::len),
        Some(0),
        "a draft reaches nobody"
    );
    assert_eq!(
        (
            s_pub,
            published["status"].as_str(),
            published["messaged"].as_i64()
        ),
        (200, Some("published"), Some(2)),
        "{published}"
    );
    assert_eq!(published["audience_size"], 2);
    assert_eq!(
        (s_again, again["code"].as_str()),
        (409, Some("NOTICE_STATUS_INVALID"))
    );
    assert_eq!(
        sent_messages, 2,
        "one message per parent of the grade, once"
    );
    assert_eq!(inbox[0]["id"], id);
    assert_eq!(inbox[0]["read_by_me"], false);
    assert_eq!(
        other_inbox.as_array().map(Vec::len),
        Some(0),
        "三年级 parents see nothing"
    );
    assert_eq!(
        (s_other_open, other_open["code"].as_str()),
        (404, Some("NOTICE_NOT_FOUND"))
    );
    assert_eq!(
        (s_open, opened["read_by_me"].as_bool()),
        (200, Some(true)),
        "{opened}"
    );
    assert!(opened["body"].as_str().unwrap().contains("请准时参加"));
    assert_eq!((pic_status, pic_bytes.as_ref()), (200, PNG_1X1));
    assert_eq!(
        other_pic, 404,
        "a parent it is not for cannot fetch its picture"
    );
    assert_eq!(
        (reads["read"].as_i64(), reads["audience_size"].as_i64()),
        (Some(1), Some(2)),
        "{reads}"
    );
    let unread = reads["unread"].as_array().unwrap();
    assert_eq!(unread.len(), 1, "{reads}");
    assert!(
        unread[0]["children"][0]
            .as_str()
            .unwrap()
            .contains("一年级1班"),
        "{reads}"
    );
    assert_eq!(
        (s_edit, edited["title"].as_str()),
        (200, Some("一年级课后服务家长会（改期）"))
    );
    assert!(edited["edited_at"].is_string(), "{edited}");
    assert_eq!(
        (s_widen, widened["code"].as_str()),
        (409, Some("NOTICE_AUDIENCE_LOCKED"))
    );
    assert!(
        reread["edited_at"].is_string(),
        "the reader sees it was edited: {reread}"
    );
    assert_eq!(reread["body"], "改为下周一下午三点。");
    assert_eq!(
        (s_wd, withdrawn["status"].as_str()),
        (200, Some("withdrawn"))
    );
    assert_eq!(inbox_after.as_array().map(Vec::len), Some(0));
    assert_eq!(
        (s_gone, gone["code"].as_str()),
        (404, Some("NOTICE_WITHDRAWN"))
    );
    assert_eq!(
        messages(&app).await,
        2,
        "an edit or a withdrawal messages nobody"
    );
    assert_eq!(
        app.count("select count(*) from platform.audit_log where action like 'notices.%'")
            .await,
        5,
        "create, picture, publish, update, withdraw"
    );
}

#[tokio::test]
async fn a_homeroom_teacher_sends_only_to_their_classes_and_bad_notices_change_nothing() {
    // Arrange: child 0 in 一年级1班 (the teacher's), child 1 in 三年级2班
    let (app, fam) = demo_with_families(2).await;
    let admin = app.admin_token("sqsf").await;
    let teacher =
        crate::fixtures::homeroom(&app, &admin, "一年级1班", "T901", 901, "13800138901").await;
    let mine = id_of(
        &app,
        "select id from school_sqsf.classes where name = '一年级1班'",
    )
    .await;
    let theirs = id_of(
        &app,
        "select id from school_sqsf.classes where name = '三年级2班'",
    )
    .await;
    let grade1 = id_of(&app, "select id from school_sqsf.grades where level = 1").await;
    let notice = |audience: &str, classes: &[i64]| {
        json!({ "title": "明天带跳绳", "body": "体育课后服务需要跳绳。", "audience": audience,
                "class_ids": classes, "grade_ids": [grade1] })
    };
    let (s_admin, by_admin) = app
        .school(
            Method::POST,
            &admin,
            "/notices",
            Some(notice("school", &[])),
        )
        .await;
    let admins = by_admin["id"].as_i64().unwrap();
    let before = notices(&app).await;

    // Act: what the teacher may not send, then what they may
    let mut refused = Vec::new();
    for (who, body) in [
        (&teacher, notice("school", &[])),
        (&teacher, notice("grades", &[])),
        (&teacher, notice("classes", &[theirs])),
        (&teacher, notice("classes", &[mine, theirs])),
        (
            &teacher,
            json!({ "title": " ", "body": "x", "audience": "classes", "class_ids": [mine] }),
        ),
        (
            &teacher,
            json!({ "title": "标".repeat(61), "body": "x", "audience": "classes", "class_ids": [mine] }),
        ),
        (
            &teacher,
            json!({ "title": "t", "body": "", "audience": "classes", "class_ids": [mine] }),
        ),
        (
            &admin,
            json!({ "title": "t", "body": "b", "audience": "everyone" }),
        ),
        (
            &admin,
            json!({ "title": "t", "body": "b", "audience": "classes", "class_ids": [] }),
        ),
        (
            &admin,
            json!({ "title": "t", "body": "b", "audience": "classes", "class_ids": [999999] }),
        ),
        (
            &admin,
            json!({ "title": "t", "body": "b", "audience": "grades", "grade_ids": [999999] }),
        ),
        (&fam[0].1, notice("classes", &[mine])),
    ] {
        let (s, b) = app
            .school(Method::POST, who, "/notices", Some(body.clone()))
            .await;
        refused.push((
            body,
            s,
            b["code"].as_str().unwrap_or_default().to_string(),
            b["message"].clone(),
        ));
    }
    let after_refused = notices(&app).await;
    let (s_ok, ok) = app
        .school(
            Method::POST,
            &teacher,
            "/notices",
            Some(notice("classes", &[mine])),
        )
        .await;
    let id = ok["id"].as_i64().unwrap();
    let (s_text, text) = picture(&app, &teacher, id, b"not a picture".to_vec(), "image/png").await;
    let mut pictures = Vec::new();
    for _ in 0..10 {
        pictures.push(picture(&app, &teacher, id, PNG_1X1.to_vec(), "image/png").await);
    }
    let (s_pub, published) = app
        .school(
            Method::POST,
            &teacher,
            &format!("/notices/{id}/publish"),
            None,
        )
        .await;
    let teachers_list = app.school_ok(&teacher, "/notices").await;
    let (s_foreign, foreign) = app
        .school(Method::GET, &teacher, &format!("/notices/{admins}"), None)
        .await;
    let (s_foreign_pub, _) = app
        .school(
            Method::POST,
            &teacher,
            &format!("/notices/{admins}/publish"),
            None,
        )
        .await;
    let admins_list = app.school_ok(&admin, "/notices").await;

    // Assert
    let expected = [
        (403, "NOTICE_SCOPE_FORBIDDEN"),
        (403, "NOTICE_SCOPE_FORBIDDEN"),
        (403, "NOTICE_SCOPE_FORBIDDEN"),
        (403, "NOTICE_SCOPE_FORBIDDEN"),
        (422, "NOTICE_TITLE_INVALID"),
        (422, "NOTICE_TITLE_INVALID"),
        (422, "NOTICE_BODY_INVALID"),
        (422, "NOTICE_AUDIENCE_INVALID"),
        (422, "NOTICE_TARGETS_MISSING"),
        (404, "CLASS_NOT_FOUND"),
        (404, "GRADE_NOT_FOUND"),
        (403, "PERMISSION_DENIED"),
    ];
    for ((body, s, code, message), (es, ec)) in refused.iter().zip(expected) {
        assert_eq!((*s, code.as_str()), (es, ec), "{body} → {message}");
        assert!(
            message
                .as_str()
                .is_some_and(|m| !m.is_empty() && !m.is_ascii()),
            "a Chinese message: {message}"
        );
    }
    assert_eq!(after_refused, before, "no refused notice was written");
    assert_eq!(s_admin, 200);
    assert_eq!(
        (s_ok, ok["sender"].as_str().map(|s| s.starts_with("班主任"))),
        (200, Some(true)),
        "{ok}"
    );
    assert_eq!(s_text, 422, "{text}");
    assert_eq!(text["code"], "UPLOAD_UNSUPPORTED_TYPE");
    let stored: Vec<u16> = pictures.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        stored,
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 409],
        "nine at most"
    );
    assert_eq!(pictures[9].1["code"], "NOTICE_TOO_MANY_PICTURES");
    assert_eq!(
        (s_pub, published["messaged"].as_i64()),
        (200, Some(1)),
        "{published}"
    );
    assert_eq!(messages(&app).await, 1, "only the teacher's class's parent");
    let ids: Vec<i64> = teachers_list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id], "a teacher lists their own notices only");
    assert_eq!(
        (s_foreign, foreign["code"].as_str()),
        (404, Some("NOTICE_NOT_FOUND"))
    );
    assert_eq!(s_foreign_pub, 404);
    assert_eq!(
        admins_list.as_array().map(Vec::len),
        Some(2),
        "an admin sees the school's"
    );
    let inbox = app.school_ok(&fam[0].1, "/my-notices").await;
    assert_eq!(
        inbox.as_array().map(Vec::len),
        Some(1),
        "the draft of the admin is not there"
    );
    let other = app.school_ok(&fam[1].1, "/my-notices").await;
    assert_eq!(other.as_array().map(Vec::len), Some(0));
}
