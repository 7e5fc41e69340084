//! Students (R-S04, F4): the list filtered by class, name and status, paged; the create
//! form (a bad ID number is shown under its field and nothing is written); a student's page
//! to edit or move class, mark as left, and add or remove guardians; the audited page with
//! the clear ID number.
//!
//! The list is the service's, so a homeroom teacher sees their own classes only; a
//! student's page needs the write permission, because the service reads one student by id
//! without a class scope.

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::{
    audited_notice, done_notice, page_no, pager, select, settle, DoneQuery, FormError, Posted,
    PER_PAGE,
};
use crate::error::ApiError;
use crate::people::model::{
    guardian_cols, student_cols, FieldError, Person, Relation, StudentStatus, StudentView,
};
use crate::people::perms as people_perms;
use crate::people::service as people;
use crate::school::model::GradeView;
use crate::school::perms::CLASSES;
use crate::school::service as school;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{field, input};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub(super) fn mount(r: Route) -> Route {
    r.at("/console/students", get(list).post(create))
        .at("/console/students/new", get(new_form))
        .at("/console/students/:id", get(show).post(update))
        .at("/console/students/:id/leave", post(leave))
        .at("/console/students/:id/guardians", post(guardian_add))
        .at(
            "/console/students/:id/guardians/:guardian/remove",
            post(guardian_remove),
        )
        .at("/console/students/:id/pii", get(reveal))
}

fn student_field(f: &str) -> Option<&'static str> {
    match f {
        student_cols::NAME => Some("name"),
        student_cols::ID_NUMBER => Some("id_number"),
        student_cols::CLASS => Some("class_id"),
        _ => None,
    }
}

fn guardian_field(f: &str) -> Option<&'static str> {
    match f {
        guardian_cols::NAME => Some("g_name"),
        guardian_cols::PHONE => Some("g_phone"),
        guardian_cols::RELATION => Some("g_relation"),
        _ => None,
    }
}

const RELATIONS: [Relation; 6] = [
    Relation::Mother,
    Relation::Father,
    Relation::Grandmother,
    Relation::Grandfather,
    Relation::Guardian,
    Relation::Other,
];

/// The status filter's value for every status.
const ANY_STATUS: &str = "all";

fn status_label(s: &StudentView) -> &'static str {
    s.student_status().unwrap_or(StudentStatus::Left).label()
}

/// Active classes as select options, named as teachers and parents know them.
fn class_options(grades: &[GradeView], blank: Option<&str>) -> Vec<(String, String)> {
    blank
        .map(|b| (String::new(), b.to_string()))
        .into_iter()
        .chain(grades.iter().flat_map(|g| {
            g.classes.iter().map(|c| {
                let label = match &c.alias {
                    Some(a) => format!("{}（{a}）", c.name),
                    None => c.name.clone(),
                };
                (c.id.to_string(), label)
            })
        }))
        .collect()
}

fn class_label(s: &StudentView) -> String {
    match &s.class_alias {
        Some(a) => format!("{}（{a}）", s.class_name),
        None => s.class_name.clone(),
    }
}

async fn grades(web: &Web) -> Result<Vec<GradeView>, WebError> {
    let mut tx = web.school_tx(&CLASSES).await?;
    let out = school::grades_with_classes(&mut tx, false).await?;
    tx.commit().await?;
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    class: Option<String>,
    q: Option<String>,
    status: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

#[handler]
async fn list(web: Web, Query(q): Query<ListQuery>) -> PageResult {
    let class = q.class.clone().unwrap_or_default();
    let search = q.q.clone().unwrap_or_default();
    let status = q
        .status
        .clone()
        .unwrap_or_else(|| StudentStatus::Active.as_str().into());
    let page_n = page_no(q.page.as_deref());
    let mut tx = web.school_tx(&people_perms::STUDENT_LIST).await?;
    let query = people::StudentQuery {
        class_id: class.parse().ok(),
        status: Some(status.clone()).filter(|s| s != ANY_STATUS && !s.is_empty()),
        q: Some(search.trim().to_string()).filter(|s| !s.is_empty()),
        limit: PER_PAGE,
        offset: (page_n - 1) * PER_PAGE,
    };
    let found = people::list_students(&web.app, &web.auth, &mut tx, &query).await?;
    tx.commit().await?;
    let grades = grades(&web).await?;
    let status_opts: Vec<(String, String)> = StudentStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), s.label().to_string()))
        .chain([(ANY_STATUS.to_string(), "全部状态".to_string())])
        .collect();
    let params = [
        ("class", class.as_str()),
        ("q", search.as_str()),
        ("status", status.as_str()),
    ];
    let body = html! {
        (done_notice(q.done.as_deref()))
        form.toolbar.filter method="get" action=(web.link("/console/students")) {
            (select("class", &class_options(&grades, Some("全部班级")), &class))
            input type="text" name="q" id="q" value=(search) placeholder="学生姓名" aria-label="学生姓名";
            (select("status", &status_opts, &status))
            button.secondary type="submit" { "查询" }
            span.grow {}
            a.btn href=(web.link("/console/students/new")) id="student-new" { "新增学生" }
        }
        div.table-wrap {
            table id="students" {
                thead { tr {
                    th { "姓名" } th { "班级" } th { "性别/年龄" } th { "身份证号" } th { "家长" } th { "状态" } th {}
                } }
                tbody {
                    @if found.items.is_empty() { tr { td colspan="7" { span.muted { "没有符合条件的学生" } } } }
                    @for s in &found.items {
                        tr {
                            td { (s.name) }
                            td { (class_label(s)) }
                            td { (s.sex) " / " (s.age) }
                            td { (s.id_number_masked) }
                            td {
                                @for (i, g) in s.guardians.iter().enumerate() {
                                    @if i > 0 { "、" }
                                    (g.name) "（" (g.relation_label) "）"
                                }
                            }
                            td { (status_label(s)) }
                            td { a href=(web.link(&format!("/console/students/{}", s.id))) { "管理" } }
                        }
                    }
                }
            }
        }
        (pager(&web, "/console/students", &params, page_n, found.total))
        p.muted { small { "批量新增请使用" a href=(web.link("/console/imports")) { "批量导入" } "。" } }
    };
    page(school_page(&web, "学生", "/console/students", body))
}

fn student_form(
    web: &Web,
    action: &str,
    f: &Posted,
    p: &FormError,
    grades: &[GradeView],
    editing: Option<&StudentView>,
) -> Markup {
    let id_label = match editing {
        Some(s) => format!("身份证号（当前 {}，不修改请留空）", s.id_number_masked),
        None => "身份证号 *".to_string(),
    };
    html! {
        form.stack method="post" action=(web.post_url(action)) id="student-form" {
            (p.notice("student"))
            (field("学生姓名 *", "name", input("text", "name", f.get("name")), p.field("name")))
            (field(&id_label, "id_number", input("text", "id_number", f.get("id_number")), p.field("id_number")))
            (field("班级 *", "class_id", select("class_id", &class_options(grades, Some("请选择班级")), f.get("class_id")), p.field("class_id")))
            button type="submit" id="student-submit" { @if editing.is_some() { "保存" } @else { "新增" } }
        }
    }
}

#[handler]
async fn new_form(web: Web) -> PageResult {
    web.authorize(&people_perms::STUDENT_CREATE).await?;
    new_page(&web, &Posted::default(), &FormError::none()).await
}

async fn new_page(web: &Web, f: &Posted, p: &FormError) -> PageResult {
    let grades = grades(web).await?;
    let body = html! {
        p { a href=(web.link("/console/students")) { "‹ 返回学生" } }
        div.card { (student_form(web, "/console/students", f, p, &grades, None)) }
    };
    Ok(html_response(
        p.status(),
        school_page(web, "新增学生", "/console/students", body),
    ))
}

/// A class the form left unchosen: refused like the service refuses an unknown class.
fn no_class() -> ApiError {
    people::invalid(vec![FieldError::new(student_cols::CLASS, "请选择班级")]).into()
}

#[handler]
async fn create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let r = match f.id("class_id") {
        Some(class_id) => {
            let mut tx = web.school_tx(&people_perms::STUDENT_CREATE).await?;
            let r = people::create_or_update_student(
                &web.app,
                &web.auth,
                &mut tx,
                None,
                f.get("name"),
                f.get("id_number"),
                class_id,
            )
            .await
            .map_err(ApiError::from);
            settle(tx, r).await?
        }
        None => Err(no_class()),
    };
    match r {
        Ok(s) => Ok(see_other(
            &web.link(&format!("/console/students/{}?done=student_created", s.id)),
        )),
        Err(e) => new_page(&web, &f, &FormError::of("student", &e, student_field)).await,
    }
}

/// What the student page shows besides the record: a refused form's values and problems.
#[derive(Default)]
struct Extra<'a> {
    form: Option<&'a Posted>,
    problems: Option<&'a FormError>,
    done: Option<&'a str>,
}

async fn student_page(web: &Web, id: i64, x: Extra<'_>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STUDENT_UPDATE).await?;
    let s = people::student_by_id(&web.app, &mut tx, id).await?;
    tx.commit().await?;
    let grades = grades(web).await?;
    let none = FormError::none();
    let p = x.problems.unwrap_or(&none);
    let current = Posted::of(&[
        ("name", s.name.clone()),
        ("class_id", s.class_id.to_string()),
    ]);
    let (edit, guardian) = match p.form {
        "student" => (x.form.unwrap_or(&current), None),
        "guardian" => (&current, x.form),
        _ => (&current, None),
    };
    let empty = Posted::default();
    let g = guardian.unwrap_or(&empty);
    let relations: Vec<(String, String)> = RELATIONS
        .iter()
        .map(|r| (r.as_str().to_string(), r.label().to_string()))
        .collect();
    let body = html! {
        p { a href=(web.link("/console/students")) { "‹ 返回学生" } }
        (done_notice(x.done))
        div.card {
            div.row { h2 { (s.name) } span.tag { (status_label(&s)) } }
            dl.kv {
                dt { "班级" } dd { (class_label(&s)) }
                dt { "性别 / 年龄" } dd { (s.sex) " / " (s.age) " 岁" }
                dt { "身份证号" } dd { (s.id_number_masked) }
            }
            p { a href=(web.link(&format!("/console/students/{id}/pii"))) id="student-reveal" { "查看完整信息" } small.muted { "（查看记入审计日志）" } }
        }
        div.card {
            h2 { "家长" }
            @if s.guardians.is_empty() { p.muted { "还没有家长" } }
            ul.list id="guardians" {
                @for gd in &s.guardians {
                    li.row {
                        span { (gd.name) "（" (gd.relation_label) "） " (gd.phone_masked) }
                        form.inline method="post" action=(web.post_url(&format!("/console/students/{id}/guardians/{}/remove", gd.id))) {
                            button.link type="submit" { "解除关联" }
                        }
                    }
                }
            }
            h3 { "添加家长" }
            p.muted { "家长用这里登记的手机号登录，即可为孩子报名。" }
            form.stack method="post" action=(web.post_url(&format!("/console/students/{id}/guardians"))) id="guardian-form" {
                (p.notice("guardian"))
                (field("家长姓名", "g_name", input("text", "g_name", g.get("g_name")), p.field("g_name")))
                (field("关系", "g_relation", select("g_relation", &relations, g.get("g_relation")), p.field("g_relation")))
                (field("手机号", "g_phone", html! {
                    input type="tel" id="g_phone" name="g_phone" value=(g.get("g_phone")) inputmode="numeric" maxlength="11";
                }, p.field("g_phone")))
                button.secondary type="submit" id="guardian-add" { "添加家长" }
            }
        }
        div.card {
            h2 { "修改信息 / 调班" }
            (student_form(web, &format!("/console/students/{id}"), edit, if p.form == "student" { p } else { &none }, &grades, Some(&s)))
        }
        @if s.student_status() == Some(StudentStatus::Active) {
            div.card {
                h2 { "离校" }
                form method="post" action=(web.post_url(&format!("/console/students/{id}/leave"))) {
                    (p.notice("leave"))
                    button.danger type="submit" id="student-leave" { "标记离校" }
                }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, &s.name, "/console/students", body),
    ))
}

#[handler]
async fn show(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    let x = Extra {
        done: q.done.as_deref(),
        ..Default::default()
    };
    student_page(&web, id, x).await
}

async fn refused(web: &Web, id: i64, form: &'static str, f: &Posted, e: &ApiError) -> PageResult {
    let map = match form {
        "guardian" => guardian_field,
        "student" => student_field,
        _ => |_: &str| None,
    };
    let p = FormError::of(form, e, map);
    let x = Extra {
        form: Some(f),
        problems: Some(&p),
        done: None,
    };
    student_page(web, id, x).await
}

#[handler]
async fn update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let Some(class_id) = f.id("class_id") else {
        return refused(&web, id, "student", &f, &no_class()).await;
    };
    let mut tx = web.school_tx(&people_perms::STUDENT_UPDATE).await?;
    let mut id_number = f.get("id_number").trim().to_string();
    if id_number.is_empty() {
        web.authorize(&people_perms::STUDENT_REVEAL).await?;
        id_number = people::reveal(&web.app, &web.auth, &mut tx, Person::Student, id)
            .await?
            .id_number;
    }
    let r = people::create_or_update_student(
        &web.app,
        &web.auth,
        &mut tx,
        Some(id),
        f.get("name"),
        &id_number,
        class_id,
    )
    .await
    .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/students/{id}?done=student_saved")),
        )),
        Err(e) => refused(&web, id, "student", &f, &e).await,
    }
}

#[handler]
async fn leave(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STUDENT_LEAVE).await?;
    let r = people::mark_left(&web.app, &web.auth, &mut tx, Person::Student, id)
        .await
        .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link(&format!("/console/students/{id}?done=student_left")),
        )),
        Err(e) => refused(&web, id, "leave", &Posted::default(), &e).await,
    }
}

#[handler]
async fn guardian_add(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let relation = RELATIONS
        .into_iter()
        .find(|r| r.as_str() == f.get("g_relation"))
        .unwrap_or(Relation::Other);
    let mut tx = web.school_tx(&people_perms::GUARDIAN_ADD).await?;
    let r = people::add_guardian(
        &web.app,
        &web.auth,
        &mut tx,
        id,
        f.get("g_name"),
        relation,
        f.get("g_phone"),
    )
    .await
    .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/students/{id}?done=guardian_added")),
        )),
        Err(e) => refused(&web, id, "guardian", &f, &e).await,
    }
}

#[handler]
async fn guardian_remove(web: Web, Path((id, guardian)): Path<(i64, i64)>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::GUARDIAN_REMOVE).await?;
    let r = people::remove_guardian(&web.app, &web.auth, &mut tx, id, guardian)
        .await
        .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link(&format!("/console/students/{id}?done=guardian_removed")),
        )),
        Err(e) => refused(&web, id, "guardian", &Posted::default(), &e).await,
    }
}

#[handler]
async fn reveal(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STUDENT_REVEAL).await?;
    let s = people::student_by_id(&web.app, &mut tx, id).await?;
    let clear = people::reveal(&web.app, &web.auth, &mut tx, Person::Student, id).await?;
    tx.commit().await?;
    let body = html! {
        p { a href=(web.link(&format!("/console/students/{id}"))) { "‹ 返回" } }
        (audited_notice())
        div.card {
            dl.kv id="pii" {
                dt { "姓名" } dd { (s.name) }
                dt { "班级" } dd { (class_label(&s)) }
                dt { "身份证号" } dd #pii-id-number { (clear.id_number) }
            }
        }
    };
    page(school_page(&web, "学生完整信息", "/console/students", body))
}
