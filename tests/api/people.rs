//! Issue #4: departments, staff (F3), students (F4), guardians, homeroom teachers, and the
//! bulk import of all of them (R-S03, R-S04).

use afterschool::auth::model::Role;
use afterschool::people::sample;
use afterschool::tabular::{self, Limits, SheetOut};
use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::client::{refused, spawn_demo, SQSF_API};

fn id(birth: (i32, u32, u32), seq: u32) -> String {
    sample::id_number(
        "442000",
        NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap(),
        seq,
    )
}

fn staff_body(no: &str, id_number: &str, phone: &str) -> Value {
    json!({
        "staff_no": no, "name": "王老师", "id_number": id_number, "phone": phone,
        "qualification_no": "20104400000123", "education": "本科", "title": "一级教师",
        "employed_since": "2012", "duties": "语文教学", "monthly_salary": "6800.5",
        "departments": ["语文教研组", "三年级组"], "resume": "2012年起任教"
    })
}

#[tokio::test]
async fn staff_record_keeps_every_f3_field_masked_with_derived_age_and_teaching_years() {
    let (app, admin) = spawn_demo().await;
    let idn = id((1988, 3, 7), 123);
    let (s, body) = app
        .school_post(&admin, "/staff", staff_body("T001", &idn, "13912345678"))
        .await;
    assert_eq!(s, 200, "{body}");
    // test clock: 2026-10-12
    assert_eq!(body["age"], 38);
    assert_eq!(body["teaching_years"], 14);
    assert_eq!(body["monthly_salary"], "6800.50");
    assert_eq!(body["phone_masked"], "139****5678");
    assert_eq!(
        body["id_number_masked"],
        format!("{}**********{}", &idn[..4], &idn[14..])
    );
    assert_eq!(body["departments"], json!(["三年级组", "语文教研组"]));

    let (_, depts) = app.school_get(&admin, "/departments").await;
    assert_eq!(depts.as_array().unwrap().len(), 2);

    // nothing clear at rest
    let leaked: i64 = sqlx::query_scalar(
        "select count(*) from school_sqsf.staff where position($1::bytea in id_number_enc) > 0
            or position($2::bytea in phone_enc) > 0 or id_number_masked = $3",
    )
    .bind(idn.as_bytes())
    .bind("13912345678".as_bytes())
    .bind(&idn)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(leaked, 0);

    // the same ID number again is a conflict, not a second record
    let (s, e) = app
        .school_post(&admin, "/staff", staff_body("T002", &idn, "13912345679"))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("STAFF_EXISTS")));
    assert_eq!(app.count("select count(*) from school_sqsf.staff").await, 1);
}

#[tokio::test]
async fn bad_staff_input_names_every_field_and_changes_nothing() {
    let (app, admin) = spawn_demo().await;
    let mut b = staff_body("T 1", "110101199003071231", "12345");
    b["education"] = json!("小学");
    b["monthly_salary"] = json!("-3");
    let (s, e) = app.school_post(&admin, "/staff", b).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("INVALID_FIELDS")),
        "{e}"
    );
    let fields: Vec<&str> = e["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["工号", "身份证号", "手机号", "学历", "月薪"] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    assert_eq!(app.count("select count(*) from school_sqsf.staff").await, 0);
    assert_eq!(
        app.count("select count(*) from school_sqsf.departments")
            .await,
        0
    );
}

#[tokio::test]
async fn clear_id_numbers_are_shown_only_to_admins_and_every_read_is_audited() {
    let (app, admin) = spawn_demo().await;
    let class = app.class_id("三年级2班").await;
    let idn = id((2017, 5, 20), 31);
    let (s, st) = app
        .school_post(
            &admin,
            "/students",
            json!({"name": "陈小明", "id_number": idn, "class_id": class}),
        )
        .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["age"], 9);
    assert_eq!(st["sex"], "男"); // sequence 031: odd
    assert_eq!(st["class_alias"], "雏鹰班");
    let sid = st["id"].as_i64().unwrap();

    let (s, pii) = app
        .school_get(&admin, &format!("/students/{sid}/pii"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(pii["id_number"], idn);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from platform.audit_log where action = 'pii.reveal' and object = $1",
    )
    .bind(format!("student:{sid}"))
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    let (_, teacher) = app
        .sign_in_as("13700000077", Role::HomeroomTeacher, Some("sqsf"))
        .await;
    let (s, e) = app
        .school_get(&teacher, &format!("/students/{sid}/pii"))
        .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("PERMISSION_DENIED")));
}

#[tokio::test]
async fn a_homeroom_teacher_sees_only_the_students_of_their_own_class() {
    let (app, admin) = spawn_demo().await;
    let mine = app.class_id("三年级2班").await;
    let other = app.class_id("四年级1班").await;
    for (i, c) in [mine, other, other].iter().enumerate() {
        let (s, b) = app
            .school_post(&admin, "/students", json!({"name": format!("学生{i}"), "id_number": id((2016, 1, 1 + i as u32), 11), "class_id": c}))
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (_, staff) = app
        .school_post(
            &admin,
            "/staff",
            staff_body("T010", &id((1990, 2, 2), 222), "13800138010"),
        )
        .await;
    let staff_id = staff["id"].as_i64().unwrap();
    let (s, b) = app
        .school_put(
            &admin,
            &format!("/classes/{mine}/homeroom"),
            json!({ "staff_id": staff_id }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // the staff member's account now holds the homeroom role in this school
    let roles: Vec<String> = sqlx::query_scalar(
        "select r.role from platform.role_assignments r join platform.accounts a on a.id = r.account_id
         where a.phone_hash = $1 and r.tenant_id is not null",
    )
    .bind(app.keys.pii.blind_index("phone", "13800138010"))
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(roles, vec!["homeroom_teacher".to_string()]);

    let (_, token) = app
        .sign_in_as("13800138010", Role::HomeroomTeacher, Some("sqsf"))
        .await;
    let (s, page) = app.school_get(&token, "/students").await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["class_id"], mine);
    // asking for another class's students gives nothing, not an error that leaks existence
    let (_, page) = app
        .school_get(&token, &format!("/students?class_id={other}"))
        .await;
    assert_eq!(page["total"], 0);
    // admin sees all three
    let (_, page) = app.school_get(&admin, "/students").await;
    assert_eq!(page["total"], 3);

    // clearing the homeroom withdraws the role
    let (s, _) = app
        .school_delete(&admin, &format!("/classes/{mine}/homeroom"))
        .await;
    assert_eq!(s, 200);
    let left: i64 = sqlx::query_scalar(
        "select count(*) from platform.role_assignments r join platform.accounts a on a.id = r.account_id
         where a.phone_hash = $1 and r.role = 'homeroom_teacher'",
    )
    .bind(app.keys.pii.blind_index("phone", "13800138010"))
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_parent_sees_their_own_children_only_after_consenting() {
    let (app, admin) = spawn_demo().await;
    let class = app.class_id("一年级1班").await;
    let mut ids = Vec::new();
    for (i, name) in ["林一", "林二"].iter().enumerate() {
        let (_, st) = app
            .school_post(&admin, "/students", json!({"name": name, "id_number": id((2019, 3, 3 + i as u32), 40), "class_id": class}))
            .await;
        ids.push(st["id"].as_i64().unwrap());
    }
    let (s, st) = app
        .school_post(
            &admin,
            &format!("/students/{}/guardians", ids[0]),
            json!({"name": "林妈妈", "relation": "mother", "phone": "13711112222"}),
        )
        .await;
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["guardians"][0]["relation_label"], "母亲");
    assert_eq!(st["guardians"][0]["phone_masked"], "137****2222");

    let (_, parent) = app
        .sign_in_as("13711112222", Role::Parent, Some("sqsf"))
        .await;
    let (s, e) = app.school_get(&parent, "/my-children").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (403, Some("CONSENT_REQUIRED")),
        "{e}"
    );
    let (s, _) = app
        .post_json(Some(&parent), &format!("{SQSF_API}/me/consents"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, kids) = app.school_get(&parent, "/my-children").await;
    assert_eq!(s, 200, "{kids}");
    let kids = kids.as_array().unwrap();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0]["name"], "林一");
    // the parent cannot list the school's students
    let (s, _) = app.school_get(&parent, "/students").await;
    assert_eq!(s, 403);
}

fn roster_file(n: usize, first_phone: u64) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    sample::roster(
        n,
        &["一年级1班", "向日葵班", "二年级2班", "g3c1"],
        first_phone,
    )
}

#[tokio::test]
async fn a_students_workbook_with_guardians_imports_and_reimporting_updates_instead_of_duplicating()
{
    let (app, admin) = spawn_demo().await;
    let (students, guardians) = roster_file(300, 19900000000);
    let bytes = sample::roster_xlsx(students, guardians).unwrap();
    let job = app
        .import(&admin, "students", "名单.xlsx", bytes.clone())
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["inserted"], 600); // 300 students + 300 guardians
    assert_eq!(job["processed_rows"], 600);
    assert_eq!(
        app.count("select count(*) from school_sqsf.students").await,
        300
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.guardians")
            .await,
        300
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.student_guardians")
            .await,
        300
    );
    // every guardian has a platform account with the parent role here
    let parents: i64 = sqlx::query_scalar(
        "select count(*) from platform.role_assignments r join platform.tenants t on t.id = r.tenant_id
         where t.code = 'sqsf' and r.role = 'parent'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(parents, 300);

    let job = app.import(&admin, "students", "名单.xlsx", bytes).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (job["inserted"].as_i64(), job["updated"].as_i64()),
        (Some(0), Some(600))
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.students").await,
        300
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.guardians")
            .await,
        300
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.student_guardians")
            .await,
        300
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from platform.audit_log where action = 'people.import'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn one_bad_row_imports_nothing_and_the_report_names_row_column_and_reason() {
    let (app, admin) = spawn_demo().await;
    let (mut students, mut guardians) = roster_file(50, 19900000000);
    students[4][1] = "442000201501050019".into(); // wrong check character
    students[9][2] = "九年级9班".into(); // no such class
    students[12][1] = students[11][1].clone(); // duplicate inside the file
    guardians[20][4] = "1234".into(); // bad phone
    guardians[21][0] = id((2016, 6, 6), 99); // child neither in file nor in school
    guardians[21][1] = "无名".into();
    let bytes = sample::roster_xlsx(students, guardians).unwrap();
    let job = app.import(&admin, "students", "有错.xlsx", bytes).await;
    assert_eq!(job["status"], "failed", "{job}");
    // 5 bad cells, plus the guardians of the two children whose rows were spoiled
    assert_eq!(job["error_count"], 7, "{job}");
    assert_eq!(job["processed_rows"], 100, "{job}");
    assert!(job["message"].as_str().unwrap().contains("未导入任何数据"));
    assert_eq!(
        app.count("select count(*) from school_sqsf.students").await,
        0
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.guardians")
            .await,
        0
    );

    let id = job["id"].as_str().unwrap();
    let r = app
        .get_as(&admin, &format!("{SQSF_API}/school/imports/{id}/report"))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let report = r.bytes().await.unwrap();
    let sheets = tabular::read(&report, "report.xlsx", &Limits::default()).unwrap();
    let rows: Vec<(String, String, String, String)> = sheets[0]
        .rows
        .iter()
        .map(|r| {
            (
                r.cells[0].clone(),
                r.cells[1].clone(),
                r.cells[2].clone(),
                r.cells[4].clone(),
            )
        })
        .collect();
    let has = |sheet: &str, row: &str, col: &str, why: &str| {
        rows.iter()
            .any(|r| r.0 == sheet && r.1 == row && r.2 == col && r.3.contains(why))
    };
    // data row i is spreadsheet row i + 2 (row 1 is the header)
    assert!(has("学生", "6", "身份证号", "校验位"), "{rows:?}");
    assert!(has("学生", "11", "班级", "班级不存在"), "{rows:?}");
    assert!(has("学生", "14", "身份证号", "与第 13 行重复"), "{rows:?}");
    assert!(
        has("家长", "22", "手机号", "手机号码格式不正确"),
        "{rows:?}"
    );
    assert!(
        has("家长", "23", "学生身份证号", "找不到该学生"),
        "{rows:?}"
    );
    assert!(has("家长", "6", "学生身份证号", "找不到该学生"), "{rows:?}");
    assert!(
        has("家长", "14", "学生身份证号", "找不到该学生"),
        "{rows:?}"
    );
    // personal data is masked in the report
    assert!(!String::from_utf8_lossy(&report).contains("442000201501050019"));

    let r = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/imports/{id}/report?format=csv"),
        )
        .await;
    let csv = r.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    assert!(String::from_utf8_lossy(&csv).contains("班级不存在"));
}

#[tokio::test]
async fn staff_import_from_a_gbk_csv_and_guardians_from_a_utf8_csv() {
    let (app, admin) = spawn_demo().await;
    let headers = "工号,姓名,身份证号,手机号,教师资格证书号码,学历,职称,起始聘用年份,工作职责,月薪,所属部门,个人简历";
    let body = format!(
        "{headers}\r\nT100,张老师,{},13800001111,2010440001,本科,一级教师,2010,数学教学,\"7,200.00\",数学教研组、五年级组,\r\nT101,李老师,{},13800001112,,硕士研究生,,2020,,,,\r\n",
        id((1985, 1, 1), 111),
        id((1995, 1, 1), 222)
    );
    let (gbk, _, bad) = encoding_rs::GBK.encode(&body);
    assert!(!bad);
    let job = app
        .import(&admin, "staff", "教职工.csv", gbk.into_owned())
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (_, staff) = app.school_get(&admin, "/staff").await;
    let staff = staff.as_array().unwrap();
    assert_eq!(staff.len(), 2);
    assert_eq!(staff[0]["name"], "张老师");
    assert_eq!(staff[0]["monthly_salary"], "7200.00");
    assert_eq!(staff[0]["departments"], json!(["五年级组", "数学教研组"]));

    // students first, then their guardians from a separate CSV
    let class = app.class_id("五年级1班").await;
    let kid = id((2015, 8, 8), 55);
    let (s, _) = app
        .school_post(
            &admin,
            "/students",
            json!({"name": "张小花", "id_number": kid, "class_id": class}),
        )
        .await;
    assert_eq!(s, 200);
    let csv = format!("\u{feff}学生身份证号,学生姓名,家长姓名,关系,手机号\n{kid},张小花,张大山,爸爸,138 0000 2222\n");
    let job = app
        .import(&admin, "guardians", "家长.csv", csv.into_bytes())
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        app.count("select count(*) from school_sqsf.student_guardians")
            .await,
        1
    );
}

#[tokio::test]
async fn broken_files_are_refused_at_once_with_a_chinese_reason_and_nothing_recorded() {
    let (app, admin) = spawn_demo().await;
    let wrong_headers = tabular::xlsx(
        &[SheetOut {
            name: "学生".into(),
            headers: vec!["名字".into(), "身份证号".into(), "班级".into()],
            rows: vec![vec!["a".into(), "b".into(), "c".into()]],
            widths: vec![],
            kinds: vec![],
        }],
        &[],
    )
    .unwrap();
    let merged = {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet().set_name("学生").unwrap();
        for (c, h) in ["学生姓名", "身份证号", "班级"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "陈一").unwrap();
        ws.write_string(2, 0, "陈二").unwrap();
        ws.merge_range(1, 2, 2, 2, "一年级1班", &rust_xlsxwriter::Format::new())
            .unwrap();
        wb.save_to_buffer().unwrap()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("名单.xlsx", wrong_headers, "WRONG_HEADERS"),
        ("名单.xlsx", merged, "MERGED_CELLS"),
        (
            "名单.xlsx",
            b"this is not a zip at all".to_vec(),
            "NOT_A_WORKBOOK",
        ),
        (
            "名单.xls",
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
            "UNSUPPORTED_FORMAT",
        ),
        (
            "名单.csv",
            vec![0x81, 0x20, 0xFF, 0xC3, 0x28, 0x0A],
            "BAD_ENCODING",
        ),
        ("名单.csv", Vec::new(), "EMPTY_FILE"),
    ];
    for (name, bytes, code) in cases {
        let (s, e) = app.upload(&admin, "students", name, bytes).await;
        assert_eq!((s, e["code"].as_str()), (422, Some(code)), "{name}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{e}"
        );
    }
    // a 50 MB upload is refused before it is read, with the 413 the document declares
    let big = app
        .upload(
            &admin,
            "students",
            "大文件.xlsx",
            vec![b'a'; 50 * 1024 * 1024],
        )
        .await;
    refused(&big, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        app.count("select count(*) from school_sqsf.import_jobs")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.students").await,
        0
    );
}

#[tokio::test]
async fn a_zip_bomb_disguised_as_a_workbook_is_refused() {
    use std::io::Write;
    let (app, admin) = spawn_demo().await;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(b"<Types/>").unwrap();
        z.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..400 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    let bytes = buf.into_inner();
    assert!(bytes.len() < 5 * 1024 * 1024);
    let (s, e) = app.upload(&admin, "students", "炸弹.xlsx", bytes).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("WORKBOOK_TOO_LARGE")),
        "{e}"
    );
}

#[tokio::test]
async fn the_same_roster_uploaded_twice_at_once_never_duplicates_anyone() {
    let (app, admin) = spawn_demo().await;
    let (students, guardians) = roster_file(200, 19910000000);
    let bytes = sample::roster_xlsx(students, guardians).unwrap();
    let (a, b) = tokio::join!(
        app.import(&admin, "students", "a.xlsx", bytes.clone()),
        app.import(&admin, "students", "b.xlsx", bytes)
    );
    assert_eq!(
        (a["status"].as_str(), b["status"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    let inserted = a["inserted"].as_i64().unwrap() + b["inserted"].as_i64().unwrap();
    assert_eq!(
        inserted, 400,
        "one of them inserts, the other updates: {a} {b}"
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.students").await,
        200
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.guardians")
            .await,
        200
    );
}

#[tokio::test]
async fn templates_download_with_chinese_headers_and_text_columns() {
    let (app, admin) = spawn_demo().await;
    let r = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/imports/template?kind=students"),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    // read with an independent reader: calamine, not our own
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names, vec!["学生", "家长", "填写说明"]);
    let range = wb.worksheet_range("学生").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, vec!["学生姓名*", "身份证号*", "班级*"]);
    // an empty template uploaded as is: refused, nothing recorded
    let (s, e) = app.upload(&admin, "students", "模板.xlsx", bytes).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("NO_DATA")), "{e}");

    let r = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/imports/template?kind=staff&format=csv"),
        )
        .await;
    let csv = String::from_utf8(r.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("工号*,姓名*,身份证号*,手机号*,教师资格证书号码"));
}

#[tokio::test]
async fn a_staff_member_is_made_inspector_through_the_audited_grant_path() {
    let (app, admin) = spawn_demo().await;
    let (_, staff) = app
        .school_post(
            &admin,
            "/staff",
            staff_body("T020", &id((1980, 8, 8), 333), "13800138020"),
        )
        .await;
    let sid = staff["id"].as_i64().unwrap();
    let (s, b) = app
        .school_post(
            &admin,
            &format!("/staff/{sid}/roles"),
            json!({ "role": "inspector" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, roles) = app.get_json_as(&admin, &format!("{SQSF_API}/roles")).await;
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["role"] == "inspector" && r["phone_masked"] == "138****8020"),
        "{roles}"
    );
    // a homeroom role is given through the class, not here
    let (s, e) = app
        .school_post(
            &admin,
            &format!("/staff/{sid}/roles"),
            json!({ "role": "homeroom_teacher" }),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("ROLE_NOT_ASSIGNABLE")));
}
