//! Grades and classes (R-S02): the list by grade with aliases, home classrooms and
//! homeroom teachers; creating grades and classes; a class's page to rename it, give it an
//! alias, assign its homeroom teacher or delete it; the yearly promotion, previewed (the
//! service's dry run) before it is confirmed. And departments (R-S03).

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use poem_openapi::types::MaybeUndefined;
use serde::Deserialize;
use serde_json::json;

use super::{actor, done_notice, select, settle, DoneQuery, FormError, Posted};
use crate::error::{ApiError, DomainError};
use crate::people::error::PeopleError;
use crate::people::model::{DepartmentView, StaffStatus, StaffView};
use crate::people::perms as people_perms;
use crate::people::{repo as people_repo, service as people};
use crate::school::error::SchoolError;
use crate::school::model::{
    ClassPatch, GradeView, NewClass, NewGrade, PromoteRequest, PromotionResult, VenueView,
};
use crate::school::perms as school_perms;
use crate::school::service as school;
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{field, input};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub(super) fn mount(r: Route) -> Route {
    r.at("/console/classes", get(classes).post(class_create))
        .at(
            "/console/classes/promote",
            get(promote_preview).post(promote_do),
        )
        .at("/console/grades", post(grade_create))
        .at("/console/grades/:id/delete", post(grade_delete))
        .at("/console/classes/:id", get(class_show).post(class_update))
        .at("/console/classes/:id/homeroom", post(homeroom))
        .at("/console/classes/:id/delete", post(class_delete))
        .at("/console/departments", get(departments).post(dept_create))
        .at("/console/departments/:id", post(dept_rename))
        .at("/console/departments/:id/delete", post(dept_delete))
}

// ---- grades and classes -------------------------------------------------------------------

// A refusal that names no field is placed by its code (a taken code, level or year).

fn class_field(f: &str) -> Option<&'static str> {
    match f {
        "code" => Some("code"),
        "name" => Some("name"),
        "alias" => Some("alias"),
        "grade_id" => Some("grade_id"),
        "venue_id" => Some("venue_id"),
        c if c
            == SchoolError::ClassCodeTaken {
                code: String::new(),
            }
            .code() =>
        {
            Some("code")
        }
        _ => None,
    }
}

fn grade_field(f: &str) -> Option<&'static str> {
    let level_taken = SchoolError::GradeLevelTaken {
        level: 0,
        grade: String::new(),
    };
    match f {
        "code" => Some("grade_code"),
        "name" => Some("grade_name"),
        "level" => Some("grade_level"),
        c if c
            == SchoolError::GradeCodeTaken {
                code: String::new(),
            }
            .code() =>
        {
            Some("grade_code")
        }
        c if c == level_taken.code() => Some("grade_level"),
        _ => None,
    }
}

fn promote_field(f: &str) -> Option<&'static str> {
    match f {
        "school_year" => Some("school_year"),
        "graduation_date" => Some("graduation_date"),
        c if c == SchoolError::AlreadyPromoted { school_year: 0 }.code() => Some("school_year"),
        _ => None,
    }
}

fn venue_options(venues: &[VenueView]) -> Vec<(String, String)> {
    std::iter::once((String::new(), "（不指定）".to_string()))
        .chain(venues.iter().map(|v| (v.id.to_string(), v.name.clone())))
        .collect()
}

/// The classes page with the create forms showing `form` and `problems` (after a refused
/// post) or empty.
async fn classes_page(
    web: &Web,
    form: &Posted,
    problems: &FormError,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&school_perms::CLASSES).await?;
    web.authorize(&school_perms::VENUES).await?;
    let grades = school::grades_with_classes(&mut tx, false).await?;
    let venues = school::venues(&mut tx).await?;
    tx.commit().await?;
    let grade_opts: Vec<(String, String)> = grades
        .iter()
        .map(|g| (g.id.to_string(), g.name.clone()))
        .collect();
    let year = {
        use chrono::Datelike;
        web.app.clock.today().year().to_string()
    };
    let school_year = if form.get("school_year").is_empty() {
        year.as_str()
    } else {
        form.get("school_year")
    };
    let body = html! {
        (done_notice(done))
        @if grades.is_empty() { (crate::web::layout::notice(crate::web::layout::Tone::Warn, "还没有年级，请先新增年级")) }
        @for g in &grades { (grade_card(web, g)) }
        div.card id="class-create" {
            h2 { "新增班级" }
            form.stack method="post" action=(web.post_url("/console/classes")) {
                (problems.notice("class"))
                (field("年级", "grade_id", select("grade_id", &grade_opts, form.get("grade_id")), problems.field("grade_id")))
                (field("班级代码（如 g1c4，小写字母和数字）", "code", input("text", "code", form.get("code")), problems.field("code")))
                (field("系统名称（如 一年级4班）", "name", input("text", "name", form.get("name")), problems.field("name")))
                (field("别名（教师和家长看到的名称，可不填）", "alias", input("text", "alias", form.get("alias")), problems.field("alias")))
                (field("班级教室", "venue_id", select("venue_id", &venue_options(&venues), form.get("venue_id")), problems.field("venue_id")))
                button type="submit" id="class-create-submit" { "新增班级" }
            }
        }
        div.card id="grade-create" {
            h2 { "新增年级" }
            form.stack method="post" action=(web.post_url("/console/grades")) {
                (problems.notice("grade"))
                (field("年级代码（如 g1）", "grade_code", input("text", "grade_code", form.get("grade_code")), problems.field("grade_code")))
                (field("年级名称（如 一年级）", "grade_name", input("text", "grade_name", form.get("grade_name")), problems.field("grade_name")))
                (field("年级序号（1–12，升级时升入序号大一级的年级）", "grade_level", input("number", "grade_level", form.get("grade_level")), problems.field("grade_level")))
                button.secondary type="submit" { "新增年级" }
            }
        }
        div.card id="promote" {
            h2 { "学年升级" }
            p.muted { "新学年开始时执行一次：所有在读班级升入下一年级（别名不变），最高年级的班级毕业。执行前会先列出升级计划供确认。" }
            form.stack method="get" action=(web.link("/console/classes/promote")) {
                (problems.notice("promote"))
                (field("新学年（开始的年份）", "school_year", input("number", "school_year", school_year), problems.field("school_year")))
                (field("毕业日期（YYYY-MM-DD，默认今天）", "graduation_date", input("text", "graduation_date", form.get("graduation_date")), problems.field("graduation_date")))
                button.secondary type="submit" id="promote-preview" { "查看升级计划" }
            }
        }
    };
    Ok(html_response(
        problems.status(),
        school_page(web, "年级与班级", "/console/classes", body),
    ))
}

fn grade_card(web: &Web, g: &GradeView) -> Markup {
    html! {
        div.card.grade data-grade=(g.code) {
            div.row {
                h2 { (g.name) }
                span.muted { "代码 " (g.code) " · 序号 " (g.level) " · " (g.classes.len()) " 个班" }
            }
            @if g.classes.is_empty() {
                form.inline method="post" action=(web.post_url(&format!("/console/grades/{}/delete", g.id))) {
                    button.link type="submit" { "删除空年级" }
                }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "班级" } th { "别名" } th { "代码" } th { "班级教室" } th { "班主任" } th {} } }
                        tbody {
                            @for c in &g.classes {
                                tr data-class=(c.code) {
                                    td { (c.name) }
                                    td { (c.alias.as_deref().unwrap_or("—")) }
                                    td { (c.code) }
                                    td { (c.venue_name.as_deref().unwrap_or("—")) }
                                    td { (c.homeroom_teacher.as_deref().unwrap_or("未指定")) }
                                    td { a href=(web.link(&format!("/console/classes/{}", c.id))) { "管理" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[handler]
async fn classes(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    classes_page(
        &web,
        &Posted::default(),
        &FormError::none(),
        q.done.as_deref(),
    )
    .await
}

#[handler]
async fn class_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let Some(grade_id) = f.id("grade_id") else {
        let e = config_refusal("grade_id", "请选择年级");
        return classes_page(&web, &f, &FormError::of("class", &e, class_field), None).await;
    };
    let req = NewClass {
        grade_id,
        code: f.get("code").trim().to_string(),
        name: f.get("name").to_string(),
        alias: Some(f.get("alias").to_string()).filter(|a| !a.trim().is_empty()),
        venue_id: f.id("venue_id"),
    };
    let mut tx = web.school_tx(&school_perms::CLASS_CREATE).await?;
    let r = school::create_class(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(&web.link("/console/classes?done=class_created"))),
        Err(e) => classes_page(&web, &f, &FormError::of("class", &e, class_field), None).await,
    }
}

/// A refusal of a form value the page itself checks before calling the service (a select
/// left empty), shaped like the service's own.
fn config_refusal(field: &str, message: &str) -> ApiError {
    ApiError::new(
        crate::error::ErrorKind::Unprocessable,
        "FIELD_REQUIRED",
        message,
        json!({ "field": field }),
    )
}

#[handler]
async fn grade_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let Ok(level) = f.get("grade_level").trim().parse::<i16>() else {
        let e = config_refusal("level", "年级序号应为 1 到 12 之间的数字");
        return classes_page(&web, &f, &FormError::of("grade", &e, grade_field), None).await;
    };
    let req = NewGrade {
        code: f.get("grade_code").trim().to_string(),
        name: f.get("grade_name").to_string(),
        level,
    };
    let mut tx = web.school_tx(&school_perms::GRADE_CREATE).await?;
    let r = school::create_grade(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(&web.link("/console/classes?done=grade_created"))),
        Err(e) => classes_page(&web, &f, &FormError::of("grade", &e, grade_field), None).await,
    }
}

#[handler]
async fn grade_delete(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&school_perms::GRADE_DELETE).await?;
    let r = school::delete_grade(&mut tx, &actor(&web), id).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(()) => Ok(see_other(&web.link("/console/classes?done=grade_deleted"))),
        Err(e) => {
            let p = FormError::of("grade", &e, |_| None);
            classes_page(&web, &Posted::default(), &p, None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct PromoteQuery {
    school_year: Option<String>,
    graduation_date: Option<String>,
}

fn promote_request(f: &Posted, dry_run: bool) -> Result<PromoteRequest, ApiError> {
    let year = f
        .get("school_year")
        .trim()
        .parse::<i16>()
        .map_err(|_| config_refusal("school_year", "学年应为四位年份，如 2027"))?;
    Ok(PromoteRequest {
        school_year: year,
        graduation_date: Some(f.get("graduation_date").trim().to_string())
            .filter(|d| !d.is_empty()),
        dry_run,
    })
}

#[handler]
async fn promote_preview(web: Web, Query(q): Query<PromoteQuery>) -> PageResult {
    let f = Posted::of(&[
        ("school_year", q.school_year.unwrap_or_default()),
        ("graduation_date", q.graduation_date.unwrap_or_default()),
    ]);
    let plan = match promote_request(&f, true) {
        Ok(req) => {
            let mut tx = web.school_tx(&school_perms::CLASS_PROMOTE).await?;
            let r = school::promote(&mut tx, &actor(&web), req).await;
            settle(tx, r.map_err(ApiError::from)).await?
        }
        Err(e) => Err(e),
    };
    match plan {
        Ok(plan) => crate::web::frame::page(school_page(
            &web,
            "学年升级计划",
            "/console/classes",
            plan_view(&web, &f, &plan),
        )),
        Err(e) => classes_page(&web, &f, &FormError::of("promote", &e, promote_field), None).await,
    }
}

fn plan_view(web: &Web, f: &Posted, plan: &PromotionResult) -> Markup {
    let s = &plan.summary;
    html! {
        p { a href=(web.link("/console/classes")) { "‹ 返回年级与班级" } }
        div.notice.warn {
            (s.school_year) " 学年升级：" (s.promoted) " 个班级升入下一年级，"
            (s.graduated_classes) " 个班级毕业（" (s.graduated_students) " 名在读学生标记为已毕业）。每个学年只能升级一次，执行后不能撤销。"
        }
        div.table-wrap {
            table id="promotion-plan" {
                thead { tr { th { "班级" } th { "别名" } th { "升级后" } th { "代码" } th.num { "毕业学生" } } }
                tbody {
                    @for step in &plan.plan {
                        tr {
                            td { (step.name) }
                            td { (step.alias.as_deref().unwrap_or("—")) }
                            td { @if step.graduating { span.tag.grey { "毕业" } } @else { (step.new_name) } }
                            td { (step.code) " → " (step.new_code) }
                            td.num { @if step.graduating { (step.graduating_students) } }
                        }
                    }
                }
            }
        }
        p {}
        form method="post" action=(web.post_url("/console/classes/promote")) {
            input type="hidden" name="school_year" value=(f.get("school_year"));
            input type="hidden" name="graduation_date" value=(f.get("graduation_date"));
            button.danger type="submit" id="promote-confirm" { "确认执行升级" }
            " "
            a.btn.secondary href=(web.link("/console/classes")) { "取消" }
        }
    }
}

#[handler]
async fn promote_do(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let r = match promote_request(&f, false) {
        Ok(req) => {
            let mut tx = web.school_tx(&school_perms::CLASS_PROMOTE).await?;
            let r = school::promote(&mut tx, &actor(&web), req).await;
            settle(tx, r.map_err(ApiError::from)).await?
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(see_other(&web.link("/console/classes?done=promoted"))),
        Err(e) => classes_page(&web, &f, &FormError::of("promote", &e, promote_field), None).await,
    }
}

// ---- one class ------------------------------------------------------------------------------

async fn class_page(
    web: &Web,
    id: i64,
    form: Option<&Posted>,
    problems: &FormError,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&school_perms::CLASSES).await?;
    web.authorize(&school_perms::VENUES).await?;
    web.authorize(&people_perms::STAFF_LIST).await?;
    let grades = school::grades_with_classes(&mut tx, false).await?;
    let venues = school::venues(&mut tx).await?;
    let today = web.app.clock.today();
    let staff: Vec<StaffView> = people_repo::staff(tx.conn(), None, None)
        .await?
        .into_iter()
        .map(|r| people::staff_view(r, today))
        .filter(|s| s.staff_status() == Some(StaffStatus::Active))
        .collect();
    tx.commit().await?;
    let Some((grade, class)) = grades
        .iter()
        .find_map(|g| g.classes.iter().find(|c| c.id == id).map(|c| (g, c)))
    else {
        return Err(WebError::NotFound);
    };
    let current = Posted::of(&[
        ("name", class.name.clone()),
        ("alias", class.alias.clone().unwrap_or_default()),
        (
            "venue_id",
            class.venue_id.map(|v| v.to_string()).unwrap_or_default(),
        ),
    ]);
    let f = form.unwrap_or(&current);
    let chosen = staff
        .iter()
        .find(|s| s.homeroom_of.contains(&class.name))
        .map(|s| s.id.to_string())
        .unwrap_or_default();
    let staff_opts: Vec<(String, String)> =
        std::iter::once((String::new(), "（不设班主任）".into()))
            .chain(
                staff
                    .iter()
                    .map(|s| (s.id.to_string(), format!("{}（{}）", s.name, s.staff_no))),
            )
            .collect();
    let title = format!("{} · {}", grade.name, class.name);
    let body = html! {
        p { a href=(web.link("/console/classes")) { "‹ 返回年级与班级" } }
        (done_notice(done))
        div.card {
            dl.kv {
                dt { "系统名称" } dd { (class.name) }
                dt { "别名" } dd { (class.alias.as_deref().unwrap_or("—")) }
                dt { "代码" } dd { (class.code) }
                dt { "班级教室" } dd { (class.venue_name.as_deref().unwrap_or("—")) }
                dt { "班主任" } dd id="homeroom-name" { (class.homeroom_teacher.as_deref().unwrap_or("未指定")) }
            }
        }
        div.card {
            h2 { "修改班级" }
            form.stack method="post" action=(web.post_url(&format!("/console/classes/{id}"))) {
                (problems.notice("class"))
                (field("系统名称", "name", input("text", "name", f.get("name")), problems.field("name")))
                (field("别名（留空表示不设别名）", "alias", input("text", "alias", f.get("alias")), problems.field("alias")))
                (field("班级教室", "venue_id", select("venue_id", &venue_options(&venues), f.get("venue_id")), problems.field("venue_id")))
                button type="submit" id="class-save" { "保存" }
            }
        }
        div.card {
            h2 { "班主任" }
            p.muted { "被指定的教职工获得本校班主任角色，可在手机端查看本班学生；原班主任不再带班时角色自动收回。" }
            form.stack method="post" action=(web.post_url(&format!("/console/classes/{id}/homeroom"))) {
                (problems.notice("homeroom"))
                (field("班主任", "staff_id", select("staff_id", &staff_opts, &chosen), problems.field("staff_id")))
                button type="submit" id="homeroom-save" { "保存班主任" }
            }
        }
        div.card {
            h2 { "删除班级" }
            p.muted { "只能删除没有学生的班级；有学生的班级请先调班。" }
            form method="post" action=(web.post_url(&format!("/console/classes/{id}/delete"))) {
                (problems.notice("delete"))
                button.danger type="submit" id="class-delete" { "删除班级" }
            }
        }
    };
    Ok(html_response(
        problems.status(),
        school_page(web, &title, "/console/classes", body),
    ))
}

#[handler]
async fn class_show(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    class_page(&web, id, None, &FormError::none(), q.done.as_deref()).await
}

#[handler]
async fn class_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let patch = ClassPatch {
        name: Some(f.get("name").to_string()),
        alias: match f.get("alias").trim() {
            "" => MaybeUndefined::Null,
            a => MaybeUndefined::Value(a.to_string()),
        },
        venue_id: match f.id("venue_id") {
            None => MaybeUndefined::Null,
            Some(v) => MaybeUndefined::Value(v),
        },
    };
    let mut tx = web.school_tx(&school_perms::CLASS_UPDATE).await?;
    let r = school::update_class(&mut tx, &actor(&web), id, patch).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/classes/{id}?done=class_saved")),
        )),
        Err(e) => {
            class_page(
                &web,
                id,
                Some(&f),
                &FormError::of("class", &e, class_field),
                None,
            )
            .await
        }
    }
}

#[handler]
async fn homeroom(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let r = match f.id("staff_id") {
        Some(staff_id) => {
            let mut tx = web.school_tx(&people_perms::HOMEROOM_SET).await?;
            let r = people::set_homeroom(&web.app, &web.auth, &mut tx, id, staff_id)
                .await
                .map_err(Into::into);
            settle(tx, r).await?
        }
        None => {
            let mut tx = web.school_tx(&people_perms::HOMEROOM_CLEAR).await?;
            let r = match people::clear_homeroom(&web.app, &web.auth, &mut tx, id).await {
                // Nothing to clear: the class already has no homeroom teacher.
                Err(PeopleError::NoHomeroom(_)) => Ok(()),
                r => r.map_err(Into::into),
            };
            settle(tx, r).await?
        }
    };
    match r {
        Ok(()) => Ok(see_other(
            &web.link(&format!("/console/classes/{id}?done=homeroom_saved")),
        )),
        Err(e) => {
            let p = FormError::of("homeroom", &e, |_| None);
            class_page(&web, id, None, &p, None).await
        }
    }
}

#[handler]
async fn class_delete(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&school_perms::CLASS_DELETE).await?;
    let r = school::delete_class(&mut tx, &actor(&web), id).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(()) => Ok(see_other(&web.link("/console/classes?done=class_deleted"))),
        Err(e) => {
            let p = FormError::of("delete", &e, |_| None);
            class_page(&web, id, None, &p, None).await
        }
    }
}

// ---- departments -----------------------------------------------------------------------------

/// Department changes: the same service functions as the JSON endpoints.
mod dept {
    use super::*;
    use crate::kernel::tx::TenantTx;

    pub(super) async fn create(web: &Web, tx: &mut TenantTx, raw: &str) -> Result<(), ApiError> {
        people::create_department(&web.app, &web.auth, tx, raw).await?;
        Ok(())
    }

    pub(super) async fn rename(
        web: &Web,
        tx: &mut TenantTx,
        id: i64,
        raw: &str,
    ) -> Result<(), ApiError> {
        Ok(people::rename_department(&web.app, &web.auth, tx, id, raw).await?)
    }

    pub(super) async fn delete(web: &Web, tx: &mut TenantTx, id: i64) -> Result<(), ApiError> {
        Ok(people::delete_department(&web.app, &web.auth, tx, id).await?)
    }
}

fn dept_field(f: &str) -> Option<&'static str> {
    let exists = PeopleError::DepartmentExists {
        name: String::new(),
    };
    (f == "部门名称" || f == exists.code()).then_some("name")
}

/// Which department form was refused: the create form, or the rename form of one row.
enum DeptForm {
    Create,
    Row(i64),
}

async fn departments_page(
    web: &Web,
    refused: Option<(DeptForm, &Posted, &FormError)>,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&people_perms::DEPT_LIST).await?;
    let list: Vec<DepartmentView> = people_repo::departments(tx.conn())
        .await?
        .into_iter()
        .map(|(id, name, members)| DepartmentView { id, name, members })
        .collect();
    tx.commit().await?;
    let none = FormError::none();
    let (create_p, create_name, row) = match &refused {
        Some((DeptForm::Create, f, p)) => (*p, f.get("name").to_string(), None),
        Some((DeptForm::Row(id), f, p)) => (&none, String::new(), Some((*id, f.get("name"), *p))),
        None => (&none, String::new(), None),
    };
    let status = refused
        .as_ref()
        .map(|(_, _, p)| p.status())
        .unwrap_or_default();
    let body = html! {
        (done_notice(done))
        div.table-wrap {
            table id="departments" {
                thead { tr { th { "部门" } th.num { "成员" } th { "重命名" } th {} } }
                tbody {
                    @if list.is_empty() { tr { td colspan="4" { span.muted { "还没有部门" } } } }
                    @for d in &list {
                        @let mine = row.filter(|(id, _, _)| *id == d.id);
                        @let err = mine.and_then(|(_, _, p)| p.field("name").map(str::to_owned).or_else(|| p.general.as_ref().map(|g| g.1.clone())));
                        tr data-dept=(d.name) {
                            td { (d.name) }
                            td.num { (d.members) }
                            td {
                                form.inline.rename method="post" action=(web.post_url(&format!("/console/departments/{}", d.id))) {
                                    input type="text" name="name" id={ "dept-" (d.id) "-name" } aria-label="新名称"
                                        value=(mine.map(|(_, v, _)| v).filter(|v| !v.is_empty()).unwrap_or(&d.name));
                                    " " button.secondary type="submit" { "重命名" }
                                    @if let Some(e) = &err { div.row-error role="alert" id={ "dept-" (d.id) "-name-error" } { (e) } }
                                }
                            }
                            td {
                                form.inline method="post" action=(web.post_url(&format!("/console/departments/{}/delete", d.id))) {
                                    button.link type="submit" { "删除" }
                                }
                            }
                        }
                    }
                }
            }
        }
        p {}
        div.card {
            h2 { "新建部门" }
            form.stack method="post" action=(web.post_url("/console/departments")) {
                (create_p.notice("dept"))
                (field("部门名称（如 语文教研组、初三数学）", "name", input("text", "name", &create_name), create_p.field("name")))
                button type="submit" id="dept-create-submit" { "新建部门" }
            }
        }
    };
    Ok(html_response(
        status,
        school_page(web, "部门", "/console/departments", body),
    ))
}

#[handler]
async fn departments(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    departments_page(&web, None, q.done.as_deref()).await
}

#[handler]
async fn dept_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut tx = web.school_tx(&people_perms::DEPT_CREATE).await?;
    let r = dept::create(&web, &mut tx, f.get("name")).await;
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link("/console/departments?done=dept_created"),
        )),
        Err(e) => {
            let p = FormError::of("dept", &e, dept_field);
            departments_page(&web, Some((DeptForm::Create, &f, &p)), None).await
        }
    }
}

#[handler]
async fn dept_rename(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut tx = web.school_tx(&people_perms::DEPT_RENAME).await?;
    let r = dept::rename(&web, &mut tx, id, f.get("name")).await;
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link("/console/departments?done=dept_renamed"),
        )),
        Err(e) => {
            let p = FormError::of("dept-row", &e, dept_field);
            departments_page(&web, Some((DeptForm::Row(id), &f, &p)), None).await
        }
    }
}

#[handler]
async fn dept_delete(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::DEPT_DELETE).await?;
    let r = dept::delete(&web, &mut tx, id).await;
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link("/console/departments?done=dept_deleted"),
        )),
        Err(e) => {
            let p = FormError::of("dept-row", &e, dept_field);
            let f = Posted::default();
            departments_page(&web, Some((DeptForm::Row(id), &f, &p)), None).await
        }
    }
}
