//! Staff (R-S04, F3): the searchable, paged list with masked ID numbers and phones, the
//! form with every field the API takes (each refusal under its field, the typed values
//! kept), a staff member's page to edit, mark as left, grant a school role, and the
//! audited page with the clear ID number and phone.
//!
//! Editing keeps the ID number and phone when their boxes are left blank: the form never
//! shows them, and the clear values are read through the audited reveal only to be
//! written back unchanged.

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::{
    audited_notice, done_notice, in_place, options, page_no, pager, select, settle, DoneQuery,
    FormError, Posted, PER_PAGE,
};
use crate::auth::error::AuthError;
use crate::auth::model::Role;
use crate::error::{ApiError, DomainError};
use crate::people::error::PeopleError;
use crate::people::model::{
    staff_cols as col, Person, StaffFields, StaffStatus, StaffView, EDUCATION_LEVELS,
};
use crate::people::perms as people_perms;
use crate::people::service as people;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{field, input, notice, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub(super) fn mount(r: Route) -> Route {
    r.at("/console/staff", get(list).post(create))
        .at("/console/staff/new", get(new_form))
        .at("/console/staff/:id", get(show).post(update))
        .at("/console/staff/:id/leave", post(leave))
        .at("/console/staff/:id/roles", post(grant_role))
        .at("/console/staff/:id/pii", get(reveal))
}

/// Form controls, in the order of the import template's columns.
const FIELDS: [(&str, &str); 12] = [
    ("staff_no", col::STAFF_NO),
    ("name", col::NAME),
    ("id_number", col::ID_NUMBER),
    ("phone", col::PHONE),
    ("qualification_no", col::QUALIFICATION),
    ("education", col::EDUCATION),
    ("title", col::TITLE),
    ("employed_since", col::EMPLOYED_SINCE),
    ("duties", col::DUTIES),
    ("monthly_salary", col::SALARY),
    ("departments", col::DEPARTMENTS),
    ("resume", col::RESUME),
];

fn staff_field(f: &str) -> Option<&'static str> {
    let taken = PeopleError::StaffNoTaken {
        staff_no: String::new(),
    };
    let exists = PeopleError::IdNumberExists { who: Person::Staff };
    if f == taken.code() {
        Some("staff_no")
    } else if f == exists.code() {
        Some("id_number")
    } else {
        FIELDS.iter().find(|(_, c)| *c == f).map(|(n, _)| *n)
    }
}

fn role_field(f: &str) -> Option<&'static str> {
    let refusals = [
        PeopleError::RoleNotAssignable(Role::Teacher).code(),
        AuthError::AlreadyAssigned.code(),
        AuthError::SeparationOfDuties(String::new()).code(),
    ];
    refusals.contains(&f).then_some("role")
}

fn fields_of(f: &Posted) -> StaffFields {
    StaffFields {
        staff_no: f.get("staff_no").into(),
        name: f.get("name").into(),
        id_number: f.get("id_number").into(),
        phone: f.get("phone").into(),
        qualification_no: f.get("qualification_no").into(),
        education: f.get("education").into(),
        title: f.get("title").into(),
        employed_since: f.get("employed_since").into(),
        duties: f.get("duties").into(),
        monthly_salary: f.get("monthly_salary").into(),
        departments: f.get("departments").into(),
        resume: f.get("resume").into(),
    }
}

/// The edit form's starting values: the record as stored, without the ID number and phone.
fn current(s: &StaffView) -> Posted {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    Posted::of(&[
        ("staff_no", s.staff_no.clone()),
        ("name", s.name.clone()),
        ("qualification_no", opt(&s.qualification_no)),
        ("education", opt(&s.education)),
        ("title", opt(&s.title)),
        (
            "employed_since",
            s.employed_since.map(|y| y.to_string()).unwrap_or_default(),
        ),
        ("duties", opt(&s.duties)),
        ("monthly_salary", opt(&s.monthly_salary)),
        ("departments", s.departments.join("、")),
        ("resume", opt(&s.resume)),
    ])
}

fn status_tag(s: &StaffView) -> Markup {
    match s.staff_status() {
        Some(StaffStatus::Active) => html! { span.tag { (StaffStatus::Active.label()) } },
        _ => html! { span.tag.grey { (StaffStatus::Left.label()) } },
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    dept: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

#[handler]
async fn list(web: Web, Query(q): Query<ListQuery>) -> PageResult {
    let search = q.q.clone().unwrap_or_default();
    let dept = q.dept.clone().unwrap_or_default();
    let mut tx = web.school_tx(&people_perms::STAFF_LIST).await?;
    web.authorize(&people_perms::DEPT_LIST).await?;
    let wanted = Some(search.trim()).filter(|s| !s.is_empty());
    let rows = people::list_staff(&web.app, &mut tx, dept.parse().ok(), wanted).await?;
    let depts = people::departments(&mut tx).await?;
    tx.commit().await?;
    // The service lists a school's staff whole (hundreds at most); the page shows a slice.
    let total = rows.len() as i64;
    let page_n = page_no(q.page.as_deref());
    let shown: Vec<StaffView> = rows
        .into_iter()
        .skip(((page_n - 1) * PER_PAGE) as usize)
        .take(PER_PAGE as usize)
        .collect();
    let dept_opts: Vec<(String, String)> = std::iter::once((String::new(), "全部部门".to_string()))
        .chain(depts.iter().map(|d| (d.id.to_string(), d.name.clone())))
        .collect();
    let params = [("q", search.as_str()), ("dept", dept.as_str())];
    let body = html! {
        (done_notice(q.done.as_deref()))
        form.toolbar.filter method="get" action=(web.link("/console/staff")) {
            input type="text" name="q" id="q" value=(search) placeholder="姓名或工号" aria-label="姓名或工号";
            (select("dept", &dept_opts, &dept))
            button.secondary type="submit" { "查询" }
            span.grow {}
            a.btn href=(web.link("/console/staff/new")) id="staff-new" { "新增教职工" }
        }
        div.table-wrap {
            table id="staff" {
                thead { tr {
                    th { "工号" } th { "姓名" } th { "性别/年龄" } th { "身份证号" } th { "手机号" }
                    th { "部门" } th { "职称" } th { "班主任" } th { "状态" } th {}
                } }
                tbody {
                    @if shown.is_empty() { tr { td colspan="10" { span.muted { "没有符合条件的教职工" } } } }
                    @for s in &shown {
                        tr {
                            td { (s.staff_no) }
                            td { (s.name) }
                            td { (s.sex) " / " (s.age) }
                            td { (s.id_number_masked) }
                            td { (s.phone_masked) }
                            td { (s.departments.join("、")) }
                            td { (s.title.as_deref().unwrap_or("")) }
                            td { (s.homeroom_of.join("、")) }
                            td { (status_tag(s)) }
                            td { a href=(web.link(&format!("/console/staff/{}", s.id))) { "查看" } }
                        }
                    }
                }
            }
        }
        (pager(&web, "/console/staff", &params, page_n, total))
    };
    page(school_page(&web, "教职工", "/console/staff", body))
}

/// The staff form: every field the API takes; `editing` leaves the ID number and phone
/// blank (kept unless retyped).
fn staff_form(
    web: &Web,
    action: &str,
    f: &Posted,
    p: &FormError,
    editing: Option<&StaffView>,
) -> Markup {
    let t = |name: &'static str, label: &str| {
        field(label, name, input("text", name, f.get(name)), p.field(name))
    };
    let edu: Vec<(&str, &str)> = EDUCATION_LEVELS.iter().map(|e| (*e, *e)).collect();
    let (id_label, phone_label) = match editing {
        Some(s) => (
            format!("身份证号（当前 {}，不修改请留空）", s.id_number_masked),
            format!("手机号（当前 {}，不修改请留空）", s.phone_masked),
        ),
        None => ("身份证号 *".to_string(), "手机号 *".to_string()),
    };
    html! {
        form.stack.staff-form method="post" action=(web.post_url(action)) id="staff-form" {
            (p.notice("staff"))
            (t("staff_no", "工号 *"))
            (t("name", "姓名 *"))
            (field(&id_label, "id_number", input("text", "id_number", f.get("id_number")), p.field("id_number")))
            (field(&phone_label, "phone", html! {
                input type="tel" id="phone" name="phone" value=(f.get("phone")) inputmode="numeric" maxlength="11";
            }, p.field("phone")))
            (t("qualification_no", "教师资格证书号码"))
            (field("学历", "education", select("education", &options(&edu, Some("（不填）")), f.get("education")), p.field("education")))
            (t("title", "职称级别"))
            (t("employed_since", "起始聘用年份（如 2012，用于计算教龄）"))
            (t("duties", "工作职责"))
            (t("monthly_salary", "月薪（元，如 6800.00）"))
            (t("departments", "所属部门（多个用、分隔，不存在的部门会自动创建）"))
            (field("个人简历", "resume", html! {
                textarea id="resume" name="resume" { (f.get("resume")) }
            }, p.field("resume")))
            button type="submit" id="staff-submit" { @if editing.is_some() { "保存" } @else { "新增" } }
        }
    }
}

#[handler]
async fn new_form(web: Web) -> PageResult {
    web.authorize(&people_perms::STAFF_CREATE).await?;
    Ok(new_page(&web, &Posted::default(), &FormError::none()))
}

fn new_page(web: &Web, f: &Posted, p: &FormError) -> poem::Response {
    let body = html! {
        p { a href=(web.link("/console/staff")) { "‹ 返回教职工" } }
        div.card { (staff_form(web, "/console/staff", f, p, None)) }
    };
    html_response(
        p.status(),
        school_page(web, "新增教职工", "/console/staff", body),
    )
}

#[handler]
async fn create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut tx = web.school_tx(&people_perms::STAFF_CREATE).await?;
    let r = people::create_or_update_staff(&web.app, &web.auth, &mut tx, None, &fields_of(&f))
        .await
        .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(s) => Ok(see_other(
            &web.link(&format!("/console/staff/{}?done=staff_created", s.id)),
        )),
        Err(e) => Ok(new_page(&web, &f, &FormError::of("staff", &e, staff_field))),
    }
}

/// What the staff page shows besides the record: a refused form (which one, its values and
/// problems), or the result of a role grant.
#[derive(Default)]
struct Extra<'a> {
    edit: Option<&'a Posted>,
    problems: Option<&'a FormError>,
    granted: Option<Markup>,
    done: Option<&'a str>,
}

async fn staff_page(web: &Web, id: i64, x: Extra<'_>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STAFF_LIST).await?;
    let s = people::find_staff(&web.app, &mut tx, id).await?;
    tx.commit().await?;
    let s = s.ok_or(WebError::NotFound)?;
    let none = FormError::none();
    let p = x.problems.unwrap_or(&none);
    let cur = current(&s);
    let f = x.edit.unwrap_or(&cur);
    let roles = options(
        &[
            ("teacher", Role::Teacher.label()),
            ("inspector", Role::Inspector.label()),
            ("school_admin", Role::SchoolAdmin.label()),
        ],
        None,
    );
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let body = html! {
        p { a href=(web.link("/console/staff")) { "‹ 返回教职工" } }
        (done_notice(x.done))
        @if let Some(g) = &x.granted { (g) }
        div.card {
            div.row { h2 { (s.name) " " small.muted { (s.staff_no) } } (status_tag(&s)) }
            dl.kv {
                dt { "性别 / 年龄" } dd { (s.sex) " / " (s.age) " 岁" }
                dt { "身份证号" } dd { (s.id_number_masked) }
                dt { "手机号" } dd { (s.phone_masked) }
                dt { "部门" } dd { (if s.departments.is_empty() { "—".to_string() } else { s.departments.join("、") }) }
                dt { "学历" } dd { (opt(&s.education)) }
                dt { "职称" } dd { (opt(&s.title)) }
                dt { "教龄" } dd { @if let Some(y) = s.teaching_years { (y) " 年" } @else { "—" } }
                dt { "班主任" } dd { (if s.homeroom_of.is_empty() { "—".to_string() } else { s.homeroom_of.join("、") }) }
            }
            p { a href=(web.link(&format!("/console/staff/{id}/pii"))) id="staff-reveal" { "查看完整信息" } small.muted { "（查看记入审计日志）" } }
        }
        div.card {
            h2 { "修改信息" }
            (staff_form(web, &format!("/console/staff/{id}"), f, if p.form == "staff" { p } else { &none }, Some(&s)))
        }
        div.card {
            h2 { "授予角色" }
            p.muted { "按该教职工的手机号找到或创建平台账号，授予本校角色。班主任请在班级页面指定。" }
            form.stack method="post" action=(web.post_url(&format!("/console/staff/{id}/roles"))) {
                (p.notice("role"))
                (field("角色", "role", select("role", &roles, "teacher"), if p.form == "role" { p.field("role") } else { None }))
                button.secondary type="submit" id="role-grant" { "授予" }
            }
        }
        @if s.staff_status() == Some(StaffStatus::Active) {
            div.card {
                h2 { "离职" }
                p.muted { "标记离职后档案保留，不再出现在班主任等选择中。" }
                form method="post" action=(web.post_url(&format!("/console/staff/{id}/leave"))) {
                    (p.notice("leave"))
                    button.danger type="submit" id="staff-leave" { "标记离职" }
                }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, &s.name, "/console/staff", body),
    ))
}

#[handler]
async fn show(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    staff_page(
        &web,
        id,
        Extra {
            done: q.done.as_deref(),
            ..Default::default()
        },
    )
    .await
}

#[handler]
async fn update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut fields = fields_of(&f);
    let mut tx = web.school_tx(&people_perms::STAFF_UPDATE).await?;
    if fields.id_number.trim().is_empty() || fields.phone.trim().is_empty() {
        web.authorize(&people_perms::STAFF_REVEAL).await?;
        let clear = people::reveal(&web.app, &web.auth, &mut tx, Person::Staff, id).await?;
        if fields.id_number.trim().is_empty() {
            fields.id_number = clear.id_number;
        }
        if fields.phone.trim().is_empty() {
            fields.phone = clear.phone.unwrap_or_default();
        }
    }
    let r = people::create_or_update_staff(&web.app, &web.auth, &mut tx, Some(id), &fields)
        .await
        .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/staff/{id}?done=staff_saved")),
        )),
        Err(e) => {
            let p = FormError::of("staff", &e, staff_field);
            let x = Extra {
                edit: Some(&f),
                problems: Some(&p),
                ..Default::default()
            };
            staff_page(&web, id, x).await
        }
    }
}

#[handler]
async fn leave(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STAFF_LEAVE).await?;
    let r = people::mark_left(&web.app, &web.auth, &mut tx, Person::Staff, id)
        .await
        .map_err(ApiError::from);
    match settle(tx, r).await? {
        Ok(()) => Ok(see_other(
            &web.link(&format!("/console/staff/{id}?done=staff_left")),
        )),
        Err(e) => {
            let p = FormError::of("leave", &e, |_| None);
            let x = Extra {
                problems: Some(&p),
                ..Default::default()
            };
            staff_page(&web, id, x).await
        }
    }
}

#[handler]
async fn grant_role(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let Some(role) = Role::parse(f.get("role")) else {
        return Err(WebError::NotFound);
    };
    let tx = web.school_tx(&people_perms::STAFF_ROLE).await?;
    // The grant commits on its own (the role lives on the platform side).
    let granted = people::grant_staff_role(&web.app, &web.auth, tx, id, role)
        .await
        .map_err(ApiError::from);
    let (p, granted) = match granted {
        Ok((_, password)) => (None, Some(granted_notice(role, password.as_deref()))),
        Err(e) if in_place(&e) => (Some(FormError::of("role", &e, role_field)), None),
        Err(e) => return Err(e.into()),
    };
    let x = Extra {
        problems: p.as_ref(),
        granted,
        ..Default::default()
    };
    staff_page(&web, id, x).await
}

/// The result of a grant. A new admin account's initial password is shown here once and
/// never stored in a page address.
fn granted_notice(role: Role, password: Option<&str>) -> Markup {
    html! {
        (notice(Tone::Ok, &format!("已授予“{}”角色", role.label())))
        @if let Some(pw) = password {
            div.notice.warn id="initial-password" {
                "新账号的初始密码：" code { (pw) } "。请当面告知本人，首次登录须修改密码并绑定身份验证器；此密码只显示这一次。"
            }
        }
    }
}

#[handler]
async fn reveal(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::STAFF_REVEAL).await?;
    let row = people::find_staff(&web.app, &mut tx, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let clear = people::reveal(&web.app, &web.auth, &mut tx, Person::Staff, id).await?;
    tx.commit().await?;
    let body = html! {
        p { a href=(web.link(&format!("/console/staff/{id}"))) { "‹ 返回" } }
        (audited_notice())
        div.card {
            dl.kv id="pii" {
                dt { "姓名" } dd { (row.name) }
                dt { "工号" } dd { (row.staff_no) }
                dt { "身份证号" } dd #pii-id-number { (clear.id_number) }
                dt { "手机号" } dd #pii-phone { (clear.phone.unwrap_or_default()) }
            }
        }
    };
    page(school_page(&web, "教职工完整信息", "/console/staff", body))
}
