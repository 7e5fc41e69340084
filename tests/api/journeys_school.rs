//! School admin journeys in a real browser (issue #7; R-S02, R-S04, R-S05): a school admin
//! signs in with a password and enrols the second factor, downloads the import template,
//! imports a roster and follows the job to its end, sees the students, gets a file with bad
//! rows back with its error report, has a bad ID number refused under its field, creates a
//! class, and sets a closure day in the term calendar. Other accounts get the no-access page.

use std::time::Duration;

use afterschool::auth::model::Role;
use afterschool::people::sample;
use chrono::NaiveDate;

use crate::browser::Browser;
use crate::fixtures::{families, FIRST_PHONE};
use crate::helpers::{spawn_app, TestApp, PASSWORD};

const ADMIN_PHONE: &str = "19955500001";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Asserts the link `css` downloads an .xlsx attachment.
async fn assert_xlsx_download(app: &TestApp, b: &Browser, css: &str) {
    let href = b.find(css).await.attr("href").await.unwrap().unwrap();
    let resp = b.fetch(app, &href).await;
    assert_eq!(resp.status().as_u16(), 200, "{href}");
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], XLSX, "{href}");
    let disposition = headers["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let body = resp.bytes().await.unwrap();
    assert_eq!(&body[..2], b"PK", "an xlsx is a zip archive");
}

/// Reloads the job page until the job has ended; its final status.
async fn wait_for_job(b: &Browser) -> String {
    for _ in 0..240 {
        let status = b.find("#job").await.attr("data-status").await.unwrap();
        if status.as_deref() != Some("running") {
            return status.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        b.client.refresh().await.unwrap();
    }
    panic!("import job never ended: {}", b.text("main").await);
}

async fn upload(b: &Browser, kind: &str, bytes: &[u8]) -> tempfile::TempPath {
    let file = tempfile::Builder::new()
        .suffix(".xlsx")
        .tempfile()
        .unwrap()
        .into_temp_path();
    std::fs::write(&file, bytes).unwrap();
    b.goto("/t/sqsf/console/imports").await;
    b.find("#kind").await.select_by_value(kind).await.unwrap();
    b.find("input[type=file]")
        .await
        .send_keys(&file.to_string_lossy())
        .await
        .unwrap();
    b.click("#upload-submit").await;
    b.find("#job").await;
    file
}

async fn students_named(app: &TestApp, names: &[String]) -> i64 {
    sqlx::query_scalar("select count(*) from school_sqsf.students where name = any($1)")
        .bind(names)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn school_admin_imports_a_roster_and_keeps_classes_students_and_calendar() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let mut b = Browser::start("school_admin_imports_a_roster", &app.address).await;
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.shot("console").await;

    // R-S04: the templates download as files (xlsx here; the CSV links sit beside them).
    b.goto("/t/sqsf/console/imports").await;
    assert_xlsx_download(&app, &b, "#template-students-xlsx").await;
    assert_xlsx_download(&app, &b, "#template-staff-xlsx").await;
    b.shot("imports").await;

    // A roster of 30 children with their guardians, imported through the page.
    let (students, guardians) = sample::roster(30, &["一年级1班", "三年级2班"], 19930000000);
    let names: Vec<String> = students.iter().map(|r| r[0].clone()).collect();
    let bytes = sample::roster_xlsx(students, guardians).unwrap();
    let _file = upload(&b, "students", &bytes).await;
    b.shot("import-job").await;
    assert_eq!(wait_for_job(&b).await, "succeeded");
    let status = b.text("#job-status").await;
    assert!(status.contains("完成"), "{status}");
    // 30 student rows and 30 guardian rows, all processed.
    let job = b.text("#job").await;
    assert!(job.contains("60 / 60"), "{job}");
    assert!(
        !b.exists("meta[http-equiv=refresh]").await,
        "a finished job stops refreshing"
    );
    assert_eq!(students_named(&app, &names).await, 30);
    b.shot("import-done").await;

    // The imported children are in the student list, with their guardians.
    b.goto(&format!(
        "/t/sqsf/console/students?q={}",
        urlencoding::encode(&names[0])
    ))
    .await;
    let row = b.text("#students").await;
    assert!(row.contains(&names[0]) && row.contains("母亲"), "{row}");
    assert!(
        row.contains("向日葵班"),
        "the class is shown by its alias: {row}"
    );
    b.goto("/t/sqsf/console/students").await;
    b.shot("students").await;

    // A file with bad rows: nothing imported, the errors listed by row and column.
    // The generator names children by index, so these are renamed to be told apart from
    // the roster above.
    let (mut bad, mut bad_guardians) = sample::roster(5, &["一年级1班"], 19940000000);
    for (s, g) in bad.iter_mut().zip(bad_guardians.iter_mut()) {
        s[0] = format!("新{}", s[0]);
        g[1] = s[0].clone();
    }
    let before = app.count("select count(*) from school_sqsf.students").await;
    let id = bad[1][1].clone();
    let last = if id.ends_with('0') { '1' } else { '0' };
    bad[1][1] = format!("{}{last}", &id[..17]);
    bad[3][2] = "九年级9班".into();
    let bad_names: Vec<String> = bad.iter().map(|r| r[0].clone()).collect();
    let bytes = sample::roster_xlsx(bad, bad_guardians).unwrap();
    let _bad_file = upload(&b, "students", &bytes).await;
    assert_eq!(wait_for_job(&b).await, "failed");
    let errors = b.find("#row-errors").await.text().await.unwrap();
    assert!(errors.contains("身份证号"), "{errors}");
    assert!(
        errors.contains("班级") && errors.contains("九年级9班"),
        "{errors}"
    );
    // Excel's row numbers: the header is row 1, so bad[1] is row 3 and bad[3] row 5.
    let rows: Vec<String> = {
        let cells = b
            .client
            .find_all(fantoccini::Locator::Css(
                "#row-errors tbody tr td:nth-child(2)",
            ))
            .await
            .unwrap();
        let mut out = Vec::new();
        for c in cells {
            out.push(c.text().await.unwrap());
        }
        out
    };
    assert!(
        rows.contains(&"3".to_string()) && rows.contains(&"5".to_string()),
        "{rows:?}"
    );
    assert_xlsx_download(&app, &b, "#report-xlsx").await;
    assert_eq!(
        students_named(&app, &bad_names).await,
        0,
        "nothing of a bad file is imported"
    );
    let after = app.count("select count(*) from school_sqsf.students").await;
    assert_eq!(after, before);
    b.shot("import-errors").await;

    // A student with a bad ID number: refused under that field, the name kept, nothing written.
    let class_id = app
        .count("select id from school_sqsf.classes where code = 'g1c1'")
        .await;
    b.goto("/t/sqsf/console/students/new").await;
    b.fill("#name", "林测试").await;
    b.fill("#id_number", "442000201501010000").await;
    b.find("#class_id")
        .await
        .select_by_value(&class_id.to_string())
        .await
        .unwrap();
    b.click("#student-submit").await;
    let err = b.find("#id_number-error").await.text().await.unwrap();
    assert!(err.contains("身份证"), "{err}");
    let kept = b.find("#name").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("林测试"));
    assert!(
        !b.exists("#name-error").await,
        "only the bad field is marked"
    );
    assert_eq!(students_named(&app, &["林测试".to_string()]).await, 0);
    b.shot("student-bad-id").await;
    // Corrected, it is created.
    let good = sample::id_number("442000", NaiveDate::from_ymd_opt(2018, 5, 6).unwrap(), 7);
    b.fill("#id_number", &good).await;
    b.click("#student-submit").await;
    b.find("#done").await;
    assert_eq!(students_named(&app, &["林测试".to_string()]).await, 1);
    b.shot("student-created").await;

    // R-S02: a class with a bad code is refused in place; with a good one it appears.
    let grade = app
        .count("select id from school_sqsf.grades where code = 'g1'")
        .await;
    b.goto("/t/sqsf/console/classes").await;
    b.shot("classes").await;
    b.find("#grade_id")
        .await
        .select_by_value(&grade.to_string())
        .await
        .unwrap();
    b.fill("#code", "G1 C9").await;
    b.fill("#name", "一年级9班").await;
    b.fill("#alias", "小星星班").await;
    b.click("#class-create-submit").await;
    let err = b.find("#code-error").await.text().await.unwrap();
    assert!(err.contains("代码"), "{err}");
    let kept = b.find("#alias").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("小星星班"));
    let made = app
        .count("select count(*) from school_sqsf.classes where name = '一年级9班'")
        .await;
    assert_eq!(made, 0);
    b.fill("#code", "g1c9").await;
    b.click("#class-create-submit").await;
    b.find("#done").await;
    let row = b.text("tr[data-class=g1c9]").await;
    assert!(
        row.contains("一年级9班") && row.contains("小星星班"),
        "{row}"
    );
    let made = app
        .count("select count(*) from school_sqsf.classes where code = 'g1c9'")
        .await;
    assert_eq!(made, 1);

    // The other pages of the area render for the admin.
    for (path, label) in [
        ("/t/sqsf/console/departments", "departments"),
        ("/t/sqsf/console/staff", "staff"),
        ("/t/sqsf/console/settings", "settings"),
    ] {
        b.goto(path).await;
        b.find("main h1").await;
        b.shot(label).await;
    }

    // R-S05: the calendar refuses a malformed date under the field, then takes a closure.
    b.goto("/t/sqsf/console/calendar").await;
    let day = b.find("a.d[data-date='2026-10-01']").await;
    assert_eq!(
        day.attr("class").await.unwrap().as_deref(),
        Some("d holiday")
    );
    b.shot("calendar").await;
    b.fill("#date", "2026-13-01").await;
    b.fill("#name", "台风停课").await;
    b.find("#kind")
        .await
        .select_by_value("closure")
        .await
        .unwrap();
    b.click("#day-set").await;
    let err = b.find("#date-error").await.text().await.unwrap();
    assert!(err.contains("格式不正确"), "{err}");
    b.fill("#date", "2026-11-04").await;
    b.click("#day-set").await;
    b.find("#done").await;
    let day = b.find("a.d[data-date='2026-11-04']").await;
    assert_eq!(
        day.attr("class").await.unwrap().as_deref(),
        Some("d closure")
    );
    let kind: String = sqlx::query_scalar(
        "select kind from school_sqsf.calendar_exceptions where day = '2026-11-04'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(kind, "closure");
    b.close().await;
}

#[tokio::test]
async fn parents_and_teachers_get_the_no_access_page_in_the_school_console() {
    let app = spawn_app().await;
    app.apply_demo().await;
    // One child with a guardian who can sign in (phone FIRST_PHONE).
    let fam = families(&app, 1).await;
    let parent_token = fam[0].1.clone();
    let (_, teacher_token) = app
        .sign_in_as("19966600002", Role::Teacher, Some("sqsf"))
        .await;
    let seeded: String = sqlx::query_scalar("select name from school_sqsf.students limit 1")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();

    // Page sessions are the same sessions as the API's: the token as the cookie.
    for (who, token) in [("parent", &parent_token), ("teacher", &teacher_token)] {
        for path in ["/t/sqsf/console/students", "/t/sqsf/console/imports"] {
            let resp = app
                .client
                .get(format!("{}{path}", app.address))
                .header("Cookie", format!("as_session={token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 403, "{who} {path}");
            let body = resp.text().await.unwrap();
            assert!(body.contains("无权访问"), "{who} {path}: {body}");
            assert!(!body.contains(&seeded), "{who} {path} shows no student");
        }
    }

    let mut b = Browser::start("console_no_access", &app.address).await;
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    b.find("body").await;
    b.goto("/t/sqsf/console/students").await;
    assert_eq!(b.text(".brand h1").await, "无权访问");
    b.shot("parent-no-access").await;
    b.close().await;
}

#[tokio::test]
async fn school_admin_keeps_departments_staff_homerooms_guardians_and_promotes_the_year() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let mut b = Browser::start("school_admin_keeps_staff", &app.address).await;
    b.sign_in_school_admin(&app, "19955500002").await;
    let dept_count = "select count(*) from school_sqsf.departments where name = $1";

    // R-S03: a department, then the same name again refused under the field.
    b.goto("/t/sqsf/console/departments").await;
    b.fill("#name", "语文教研组").await;
    b.click("#dept-create-submit").await;
    b.find("#done").await;
    assert!(b.text("#departments").await.contains("语文教研组"));
    b.fill("#name", "语文教研组").await;
    b.click("#dept-create-submit").await;
    let err = b.find("#name-error").await.text().await.unwrap();
    assert!(err.contains("已存在"), "{err}");
    assert_eq!(app.count_with(dept_count, "语文教研组").await, 1);
    b.shot("departments").await;

    // R-S04: a staff member with a bad phone is refused under the phone, the rest kept.
    let id_number = sample::id_number("442000", NaiveDate::from_ymd_opt(1985, 3, 4).unwrap(), 11);
    let staff_no = "select count(*) from school_sqsf.staff where staff_no = $1";
    b.goto("/t/sqsf/console/staff/new").await;
    b.fill("#staff_no", "T001").await;
    b.fill("#name", "黄老师").await;
    b.fill("#id_number", &id_number).await;
    b.fill("#phone", "123").await;
    b.fill("#employed_since", "2012").await;
    b.fill("#departments", "语文教研组、三年级组").await;
    b.click("#staff-submit").await;
    let err = b.find("#phone-error").await.text().await.unwrap();
    assert!(err.contains("手机号"), "{err}");
    assert!(!b.exists("#id_number-error").await);
    let kept = b.find("#staff_no").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("T001"));
    assert_eq!(app.count_with(staff_no, "T001").await, 0);
    b.shot("staff-bad-phone").await;
    b.fill("#phone", "19977700001").await;
    b.click("#staff-submit").await;
    b.find("#done").await;
    assert_eq!(app.count_with(staff_no, "T001").await, 1);
    assert_eq!(
        app.count_with(dept_count, "三年级组").await,
        1,
        "new departments are created"
    );
    let staff_id = app
        .count("select id from school_sqsf.staff where staff_no = 'T001'")
        .await;
    let page = b.text("main").await;
    assert!(
        !page.contains(&id_number),
        "the staff page shows masked data only"
    );
    b.shot("staff").await;

    // The audited page shows the clear ID number and phone, and the read is recorded.
    b.click("#staff-reveal").await;
    assert_eq!(
        b.find("#pii-id-number").await.text().await.unwrap(),
        id_number
    );
    assert_eq!(b.text("#pii-phone").await, "19977700001");
    let reveals = app
        .count_with(
            "select count(*) from platform.audit_log where action = 'pii.reveal' and object = $1",
            &format!("staff:{staff_id}"),
        )
        .await;
    assert!(reveals >= 1);
    b.shot("staff-pii").await;

    // Editing with the ID number and phone left blank keeps them.
    b.goto(&format!("/t/sqsf/console/staff/{staff_id}")).await;
    b.fill("#title", "一级教师").await;
    b.click("#staff-submit").await;
    b.find("#done").await;
    let (title, phone): (Option<String>, String) =
        sqlx::query_as("select title, phone_masked from school_sqsf.staff where id = $1")
            .bind(staff_id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(title.as_deref(), Some("一级教师"));
    assert!(
        phone.starts_with("199") && phone.ends_with("0001"),
        "{phone}"
    );

    // R-S02: the staff member becomes homeroom teacher of 一年级1班.
    let class = app
        .count("select id from school_sqsf.classes where code = 'g1c1'")
        .await;
    b.goto(&format!("/t/sqsf/console/classes/{class}")).await;
    b.find("#staff_id")
        .await
        .select_by_value(&staff_id.to_string())
        .await
        .unwrap();
    b.click("#homeroom-save").await;
    b.find("#done").await;
    assert_eq!(b.text("#homeroom-name").await, "黄老师");
    b.shot("class-homeroom").await;

    // A student, and a guardian refused for a bad phone, then added.
    b.goto("/t/sqsf/console/students/new").await;
    b.fill("#name", "何小明").await;
    let child_id = sample::id_number("442000", NaiveDate::from_ymd_opt(2018, 2, 3).unwrap(), 5);
    b.fill("#id_number", &child_id).await;
    b.find("#class_id")
        .await
        .select_by_value(&class.to_string())
        .await
        .unwrap();
    b.click("#student-submit").await;
    b.find("#done").await;
    b.fill("#g_name", "何妈妈").await;
    b.fill("#g_phone", "12").await;
    b.click("#guardian-add").await;
    let err = b.find("#g_phone-error").await.text().await.unwrap();
    assert!(err.contains("手机号"), "{err}");
    b.fill("#g_phone", "19977700002").await;
    b.click("#guardian-add").await;
    b.find("#done").await;
    let guardians = b.text("#guardians").await;
    assert!(
        guardians.contains("何妈妈") && guardians.contains("母亲"),
        "{guardians}"
    );
    b.shot("student-guardian").await;

    // R-S05: a venue with no room for anyone is refused under the capacity.
    b.goto("/t/sqsf/console/settings").await;
    b.fill("#v_code", "lab").await;
    b.fill("#v_name", "科学实验室").await;
    b.fill("#v_capacity", "0").await;
    b.click("#venue-submit").await;
    let err = b.find("#v_capacity-error").await.text().await.unwrap();
    assert!(err.contains("容量"), "{err}");
    b.fill("#v_capacity", "40").await;
    b.click("#venue-submit").await;
    b.find("#done").await;
    assert!(b.text("#venues").await.contains("科学实验室"));

    // The yearly promotion: previewed, then confirmed.
    b.goto("/t/sqsf/console/classes").await;
    b.fill("#school_year", "2027").await;
    b.click("#promote-preview").await;
    let plan = b.find("#promotion-plan").await.text().await.unwrap();
    assert!(
        plan.contains("二年级1班") && plan.contains("毕业"),
        "{plan}"
    );
    b.shot("promotion-plan").await;
    b.click("#promote-confirm").await;
    b.find("#done").await;
    let moved = app
        .count_with(
            "select count(*) from school_sqsf.classes where code = 'g2c1' and alias = $1",
            "向日葵班",
        )
        .await;
    assert_eq!(moved, 1, "一年级1班 went up with its alias");
    let graduated = app
        .count_with(
            "select count(*) from school_sqsf.classes where status = $1",
            "graduated",
        )
        .await;
    assert_eq!(graduated, 3);
    b.close().await;
}
