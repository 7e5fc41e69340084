//! The sender's desk (R-T01): a school admin in the console (`/console/notices`), a
//! homeroom teacher on the phone (`/m/teacher/notices`). The list of one's notices with how
//! many have read each; a new notice (title, text, whom it is for); each notice's page with
//! its preview, the edit form, its pictures, 发布 or 撤回, and who has not read it yet.
//!
//! One set of handlers serves both desks ([`Desk`]); only the frame differs, and the
//! audience a teacher may choose (their own classes), which the service decides.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::{done_notice, notice_body, picture, status_tag};
use crate::notices::model::*;
use crate::notices::perms::*;
use crate::notices::service;
use crate::people::service::{self as people, Scope};
use crate::school::model::GradeView;
use crate::school::perms as school_perms;
use crate::school::service as school;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, field, when};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const MOBILE: &str = "/m/teacher/notices";
const CONSOLE: &str = "/console/notices";

pub fn mount(r: Route) -> Route {
    r.at(MOBILE, get(mobile_list))
        .at(format!("{MOBILE}/new"), get(mobile_new).post(mobile_create))
        .at(format!("{MOBILE}/:id"), get(mobile_one).post(mobile_update))
        .at(format!("{MOBILE}/:id/pictures"), post(mobile_picture_add))
        .at(format!("{MOBILE}/:id/pictures/:n"), get(sender_picture))
        .at(
            format!("{MOBILE}/:id/pictures/:n/remove"),
            post(mobile_picture_remove),
        )
        .at(format!("{MOBILE}/:id/publish"), post(mobile_publish))
        .at(format!("{MOBILE}/:id/withdraw"), post(mobile_withdraw))
        .at(CONSOLE, get(console_list))
        .at(
            format!("{CONSOLE}/new"),
            get(console_new).post(console_create),
        )
        .at(
            format!("{CONSOLE}/:id"),
            get(console_one).post(console_update),
        )
        .at(format!("{CONSOLE}/:id/pictures"), post(console_picture_add))
        .at(format!("{CONSOLE}/:id/pictures/:n"), get(sender_picture))
        .at(
            format!("{CONSOLE}/:id/pictures/:n/remove"),
            post(console_picture_remove),
        )
        .at(format!("{CONSOLE}/:id/publish"), post(console_publish))
        .at(format!("{CONSOLE}/:id/withdraw"), post(console_withdraw))
}

/// Where a sender works: the homeroom teacher's phone or the school's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Desk {
    Mobile,
    Console,
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Mobile => MOBILE,
            Desk::Console => CONSOLE,
        }
    }

    fn frame(self, web: &Web, title: &str, body: Markup) -> Markup {
        match self {
            Desk::Mobile => layout::mobile(
                web,
                title,
                "/m/teacher",
                html! {
                    p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
                    (body)
                },
            ),
            Desk::Console => school_page(web, title, CONSOLE, body),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

// ---- the list ------------------------------------------------------------------------

async fn list_page(web: &Web, desk: Desk, done: Option<&str>) -> PageResult {
    let mut tx = web.school_tx(&SENT).await?;
    let items = service::sent(&mut tx, &actor(web)).await?;
    tx.commit().await?;
    let link = |n: &NoticeView| web.link(&format!("{}/{}", desk.base(), n.id));
    let reads = |n: &NoticeView| match (n.read, n.audience_size) {
        (Some(r), Some(a)) => format!("已读 {r}/{a}"),
        _ => "未发布".to_string(),
    };
    let body = html! {
        (done_notice(done))
        div.toolbar {
            a.btn href=(web.link(&format!("{}/new", desk.base()))) id="new-notice" { "写通知" }
        }
        @if items.is_empty() {
            p.muted #no-notices { "还没有发过通知" }
        } @else if desk == Desk::Mobile {
            ul.list.card #notices {
                @for n in &items {
                    li.notice-item data-id=(n.id) data-status=(n.status.as_str()) {
                        a href=(link(n)) id={ "notice-link-" (n.id) } {
                            div.row { strong { (n.title) } (status_tag(n.status)) }
                            small.muted {
                                "发给" (n.audience_label)
                                @if let Some(t) = n.published_at { " · " (when(t)) }
                                " · " span.reads { (reads(n)) }
                            }
                        }
                    }
                }
            }
        } @else {
            div.table-wrap {
                table #notices {
                    thead { tr {
                        th { "标题" } th { "发送范围" } th { "发布人" } th { "状态" } th { "发布时间" } th { "阅读" }
                    } }
                    tbody {
                        @for n in &items {
                            tr.notice-item data-id=(n.id) data-status=(n.status.as_str()) {
                                td { a href=(link(n)) id={ "notice-link-" (n.id) } { (n.title) } }
                                td.wrap { (n.audience_label) }
                                td { (n.sender) }
                                td { (status_tag(n.status)) }
                                td { @if let Some(t) = n.published_at { (when(t)) } @else { "—" } }
                                td.reads { (reads(n)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        desk.frame(web, "通知公告", body),
    ))
}

#[handler]
async fn mobile_list(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    list_page(&web, Desk::Mobile, q.done.as_deref()).await
}

#[handler]
async fn console_list(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    list_page(&web, Desk::Console, q.done.as_deref()).await
}

// ---- the form ------------------------------------------------------------------------

/// The classes the sender may address: an admin the school's grades and classes, a
/// homeroom teacher the classes they lead.
struct Choices {
    whole_school: bool,
    grades: Vec<GradeView>,
}

async fn choices(web: &Web) -> Result<Choices, WebError> {
    let mut tx = web.school_tx(&school_perms::CLASSES).await?;
    let scope = people::scope(&web.app, &web.auth, &mut tx)
        .await
        .map_err(crate::error::ApiError::from)?;
    let mut grades = school::grades_with_classes(&mut tx, false)
        .await
        .map_err(crate::error::ApiError::from)?;
    tx.commit().await?;
    if let Scope::Classes(mine) = &scope {
        for g in &mut grades {
            g.classes.retain(|c| mine.contains(&c.id));
        }
        grades.retain(|g| !g.classes.is_empty());
    }
    Ok(Choices {
        whole_school: scope == Scope::All,
        grades,
    })
}

fn form_control(f: &str) -> Option<&'static str> {
    match f {
        "title" => Some("title"),
        "body" => Some("body"),
        "audience"
        | "NOTICE_TARGETS_MISSING"
        | "NOTICE_SCOPE_FORBIDDEN"
        | "GRADE_NOT_FOUND"
        | "CLASS_NOT_FOUND"
        | "NOTICE_AUDIENCE_LOCKED" => Some("audience"),
        _ => None,
    }
}

fn refusal(e: &crate::notices::error::NoticeError) -> FormError {
    let api = crate::error::ApiError::from_domain(e);
    FormError::of("notice", &api, form_control)
}

/// The posted form as a request.
fn request(f: &Posted) -> NewNotice {
    let ids = |name: &str| {
        f.all(name)
            .iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    };
    NewNotice {
        title: f.get("title").to_string(),
        body: f.get("body").to_string(),
        audience: f.get("audience").to_string(),
        grade_ids: ids("grade_ids"),
        class_ids: ids("class_ids"),
    }
}

/// The values a form starts from: a notice as stored.
fn posted_of(n: &NoticeView) -> Posted {
    let mut pairs = vec![
        ("title", n.title.clone()),
        ("body", n.body.clone()),
        ("audience", n.audience.as_str().to_string()),
    ];
    pairs.extend(n.grade_ids.iter().map(|g| ("grade_ids", g.to_string())));
    pairs.extend(n.class_ids.iter().map(|c| ("class_ids", c.to_string())));
    Posted::of(&pairs)
}

/// Title, text and (unless `locked`, a published notice) whom it is for.
fn notice_form(
    action: &str,
    submit: &str,
    c: &Choices,
    f: &Posted,
    locked: bool,
    p: &FormError,
) -> Markup {
    let audience = match f.get("audience") {
        "" if c.whole_school => "school",
        "" => "classes",
        a => a,
    };
    let checked = |name: &str, id: i64| f.all(name).iter().any(|v| v.trim() == id.to_string());
    html! {
        form.stack method="post" action=(action) id="notice-form" novalidate {
            (p.notice("notice"))
            (field("标题", "title", html! {
                input type="text" id="title" name="title" maxlength=(TITLE_MAX) value=(f.get("title")) placeholder="如 关于期末课后服务安排的通知";
            }, p.field("title")))
            (field("正文", "body", html! {
                textarea id="body" name="body" rows="8" maxlength=(BODY_MAX) placeholder="通知内容，可分段" { (f.get("body")) }
            }, p.field("body")))
            @if locked {
                p.muted #audience-locked { "已发布的通知不能修改发送范围" }
                @for g in f.all("grade_ids") { input type="hidden" name="grade_ids" value=(g); }
                @for k in f.all("class_ids") { input type="hidden" name="class_ids" value=(k); }
                input type="hidden" name="audience" value=(audience);
            } @else {
                fieldset #audience {
                    legend { "发给" }
                    @if c.whole_school {
                        label { input type="radio" name="audience" value="school" id="audience-school" checked[audience == "school"]; " 全校家长" }
                        label { input type="radio" name="audience" value="grades" id="audience-grades" checked[audience == "grades"]; " 按年级" }
                        div.choices #grade-choices {
                            @for g in &c.grades {
                                label { input type="checkbox" name="grade_ids" value=(g.id) id={ "grade-" (g.id) } checked[checked("grade_ids", g.id)]; " " (g.name) }
                            }
                        }
                    }
                    label { input type="radio" name="audience" value="classes" id="audience-classes" checked[audience == "classes"]; " 按班级" }
                    div.choices #class-choices {
                        @for g in &c.grades {
                            @for k in &g.classes {
                                label {
                                    input type="checkbox" name="class_ids" value=(k.id) id={ "class-" (k.id) } checked[checked("class_ids", k.id)];
                                    " " (k.name)
                                    @if let Some(a) = k.alias.as_deref().filter(|a| !a.is_empty()) { "（" (a) "）" }
                                }
                            }
                        }
                    }
                    @if c.grades.is_empty() {
                        p.muted { "您目前没有担任班主任的班级，不能发通知" }
                    }
                    @if let Some(m) = p.field("audience") { div.error id="audience-error" role="alert" { (m) } }
                }
            }
            button type="submit" id="notice-submit" { (submit) }
        }
    }
}

async fn new_page(web: &Web, desk: Desk, f: &Posted, p: &FormError) -> PageResult {
    web.authorize(&CREATE).await?;
    let c = choices(web).await?;
    let action = web.post_url(&format!("{}/new", desk.base()));
    let body = html! {
        p.muted { "先保存为草稿，可以添加图片，确认后再发布；发布后家长会收到消息。" }
        (notice_form(&action, "保存草稿", &c, f, false, p))
    };
    let status = if p.is_empty() {
        StatusCode::OK
    } else {
        p.status()
    };
    Ok(html_response(status, desk.frame(web, "写通知", body)))
}

#[handler]
async fn mobile_new(web: Web) -> PageResult {
    new_page(&web, Desk::Mobile, &Posted::default(), &FormError::none()).await
}

#[handler]
async fn console_new(web: Web) -> PageResult {
    new_page(&web, Desk::Console, &Posted::default(), &FormError::none()).await
}

async fn create(web: &Web, desk: Desk, body: &str) -> PageResult {
    let f = Posted::parse(body);
    let mut tx = web.school_tx(&CREATE).await?;
    match service::create(&mut tx, &actor(web), &request(&f)).await {
        Ok(n) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&format!(
                "{}/{}?done=created",
                desk.base(),
                n.id
            ))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            new_page(web, desk, &f, &refusal(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn mobile_create(web: Web, body: String) -> PageResult {
    create(&web, Desk::Mobile, &body).await
}

#[handler]
async fn console_create(web: Web, body: String) -> PageResult {
    create(&web, Desk::Console, &body).await
}

// ---- one notice ----------------------------------------------------------------------

/// What a refused change on the notice's page shows again.
#[derive(Default)]
struct Refused {
    typed: Option<Posted>,
    form: Option<FormError>,
    /// a refused picture, publish or withdraw: shown at the top
    action: Option<FormError>,
}

async fn one_page(web: &Web, desk: Desk, id: i64, done: Option<&str>, r: &Refused) -> PageResult {
    let mut tx = web.school_tx(&SENT_ONE).await?;
    let n = service::sent_one(&mut tx, &actor(web), id).await?;
    tx.commit().await?;
    let readers = if n.status == NoticeStatus::Draft {
        None
    } else {
        let mut tx = web.school_tx(&READS).await?;
        let v = service::reads(&mut tx, &actor(web), id).await?;
        tx.commit().await?;
        Some(v)
    };
    let c = choices(web).await?;
    let base = format!("{}/{id}", desk.base());
    let url = |tail: &str| web.post_url(&format!("{base}{tail}"));
    let typed = r.typed.as_ref();
    let stored = posted_of(&n);
    let f = typed.unwrap_or(&stored);
    let none = FormError::none();
    let p = r.form.as_ref().unwrap_or(&none);
    let editable = n.status != NoticeStatus::Withdrawn;
    let body = html! {
        (done_notice(done))
        @if let Some(a) = &r.action {
            div.notice.error role="alert" id="action-error" data-code=(a.code) { (a.message) }
        }
        div.row { span { "状态：" (status_tag(n.status)) } span.muted { "发给" (n.audience_label) } }
        (notice_body(&n, |i| web.link(&format!("{base}/pictures/{i}"))))
        @match n.status {
            NoticeStatus::Draft => {
                form.inline method="post" action=(url("/publish")) id="publish-form" {
                    button type="submit" id="publish" { "发布" }
                    " " small.muted { "发布后范围内孩子的家长会收到“学校通知”消息" }
                }
            }
            NoticeStatus::Published => {
                form.inline method="post" action=(url("/withdraw")) id="withdraw-form" {
                    button.danger type="submit" id="withdraw" { "撤回" }
                    " " small.muted { "撤回后家长不再看到这条通知" }
                }
            }
            NoticeStatus::Withdrawn => {
                p.muted { "已于 " @if let Some(t) = n.withdrawn_at { (when(t)) } " 撤回" }
            }
        }
        @if let Some(v) = &readers {
            div.card #reads {
                h3 { "阅读情况" }
                p #read-count { "已读 " strong { (v.read) } " / " (v.audience_size) " 位家长" @if n.messaged > 0 { "（发布时通知了 " (n.messaged) " 位）" } }
                @if v.unread.is_empty() {
                    @if v.audience_size > 0 { p.muted #all-read { "全部家长都已阅读" } }
                } @else {
                    h4 { "未读家长" }
                    ul.list #unread {
                        @for u in &v.unread {
                            li data-account=(u.account_id) { (u.guardian_name) " " small.muted { (u.children.join("、")) } }
                        }
                    }
                }
            }
        }
        @if editable {
            h3 { @if n.status == NoticeStatus::Draft { "修改草稿" } @else { "修改内容" } }
            (notice_form(&url(""), "保存", &c, f, n.status == NoticeStatus::Published, p))
            h3 { "图片（最多 " (PICTURES_MAX) " 张）" }
            @for i in 1..=n.pictures.len() {
                form.inline method="post" action=(url(&format!("/pictures/{i}/remove"))) {
                    "第 " (i) " 张 "
                    button.secondary type="submit" id={ "picture-remove-" (i) } { "删除" }
                }
            }
            @if n.pictures.len() < PICTURES_MAX {
                form.inline method="post" enctype="multipart/form-data" action=(url("/pictures")) id="picture-form" {
                    input type="file" id="picture-file" name="file" accept="image/jpeg,image/png,image/webp";
                    " "
                    button.secondary type="submit" id="picture-submit" { "上传图片" }
                }
            }
        }
        p { a href=(web.link(desk.base())) id="back-to-list" { "‹ 全部通知" } }
    };
    let status = r
        .form
        .as_ref()
        .or(r.action.as_ref())
        .map_or(StatusCode::OK, FormError::status);
    Ok(html_response(status, desk.frame(web, "通知详情", body)))
}

#[handler]
async fn mobile_one(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    one_page(
        &web,
        Desk::Mobile,
        id,
        q.done.as_deref(),
        &Refused::default(),
    )
    .await
}

#[handler]
async fn console_one(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    one_page(
        &web,
        Desk::Console,
        id,
        q.done.as_deref(),
        &Refused::default(),
    )
    .await
}

/// Which change of the notice's page.
enum Change {
    Update(Posted),
    Publish,
    Withdraw,
    PictureRemove(i32),
}

async fn change(web: &Web, desk: Desk, id: i64, c: Change) -> PageResult {
    let perm = match &c {
        Change::Update(_) => &UPDATE,
        Change::Publish => &PUBLISH,
        Change::Withdraw => &WITHDRAW,
        Change::PictureRemove(_) => &PICTURE_REMOVE,
    };
    let mut tx = web.school_tx(perm).await?;
    let who = actor(web);
    let (result, done) = match &c {
        Change::Update(f) => {
            let r = service::update(&mut tx, &who, id, &request(f)).await;
            let done = match &r {
                Ok(n) if n.status == NoticeStatus::Published => "edited",
                _ => "saved",
            };
            (r, done)
        }
        Change::Publish => (service::publish(&mut tx, &who, id).await, "published"),
        Change::Withdraw => (service::withdraw(&mut tx, &who, id).await, "withdrawn"),
        Change::PictureRemove(n) => (
            service::remove_picture(&mut tx, &who, id, *n).await,
            "picture_removed",
        ),
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("{}/{id}?done={done}", desk.base())),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let r = match c {
                Change::Update(f) => Refused {
                    typed: Some(f),
                    form: Some(refusal(&e)),
                    action: None,
                },
                _ => Refused {
                    action: Some(FormError::from_domain(&e)),
                    ..Refused::default()
                },
            };
            one_page(web, desk, id, None, &r).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn mobile_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    change(&web, Desk::Mobile, id, Change::Update(Posted::parse(&body))).await
}

#[handler]
async fn console_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    change(
        &web,
        Desk::Console,
        id,
        Change::Update(Posted::parse(&body)),
    )
    .await
}

#[handler]
async fn mobile_publish(web: Web, Path(id): Path<i64>) -> PageResult {
    change(&web, Desk::Mobile, id, Change::Publish).await
}

#[handler]
async fn console_publish(web: Web, Path(id): Path<i64>) -> PageResult {
    change(&web, Desk::Console, id, Change::Publish).await
}

#[handler]
async fn mobile_withdraw(web: Web, Path(id): Path<i64>) -> PageResult {
    change(&web, Desk::Mobile, id, Change::Withdraw).await
}

#[handler]
async fn console_withdraw(web: Web, Path(id): Path<i64>) -> PageResult {
    change(&web, Desk::Console, id, Change::Withdraw).await
}

#[handler]
async fn mobile_picture_remove(web: Web, Path((id, n)): Path<(i64, i32)>) -> PageResult {
    change(&web, Desk::Mobile, id, Change::PictureRemove(n)).await
}

#[handler]
async fn console_picture_remove(web: Web, Path((id, n)): Path<(i64, i32)>) -> PageResult {
    change(&web, Desk::Console, id, Change::PictureRemove(n)).await
}

async fn picture_add(web: &Web, desk: Desk, id: i64, form: &mut Multipart) -> PageResult {
    let mut tx = web.school_tx(&PICTURE_ADD).await?;
    let upload = match crate::courses::pages::read_upload(form).await {
        Ok(u) => u,
        Err(fe) => {
            drop(tx);
            let r = Refused {
                action: Some(fe),
                ..Refused::default()
            };
            return one_page(web, desk, id, None, &r).await;
        }
    };
    match service::add_picture(&mut tx, &actor(web), id, upload).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("{}/{id}?done=picture_added", desk.base())),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let r = Refused {
                action: Some(FormError::from_domain(&e)),
                ..Refused::default()
            };
            one_page(web, desk, id, None, &r).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn mobile_picture_add(web: Web, Path(id): Path<i64>, mut form: Multipart) -> PageResult {
    picture_add(&web, Desk::Mobile, id, &mut form).await
}

#[handler]
async fn console_picture_add(web: Web, Path(id): Path<i64>, mut form: Multipart) -> PageResult {
    picture_add(&web, Desk::Console, id, &mut form).await
}

#[handler]
async fn sender_picture(web: Web, Path((id, n)): Path<(i64, usize)>) -> PageResult {
    picture(&web, id, n).await
}
