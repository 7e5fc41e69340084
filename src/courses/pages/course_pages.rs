//! Course publishing (R-S06, F2): the list with its status filter, the create and edit form
//! with every field the API takes, pictures, publish, close (after a confirmation page) and
//! the lottery draw of a lottery course.
//!
//! The form keeps what was typed: a refusal re-renders it with the service's message under
//! the field it names. Edits send only the fields that changed, as a `PATCH` would, so an
//! edit is never refused for a reference (a grade, a teacher) the admin did not touch.

use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, post, Response, Route};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use super::course_form::{
    actor, course_form, form_error, form_notice, options, text_opt, CourseForm, FIELDS,
};
use super::{err_at, is_domain_refusal, FormError};
use crate::courses::error::CourseError;
use crate::courses::model::{
    CourseAllocation, CoursePricing, CourseStatus, CourseView, PICTURES_MAX, PICTURE_MAX_BYTES,
};
use crate::courses::perms as course_perms;
use crate::courses::service::{self, CourseQuery, PictureUpload};
use crate::enrollment::error::EnrollmentError;
use crate::enrollment::model::DrawView;
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::waitlist;
use crate::error::DomainError;
use crate::kernel::tx::TenantTx;
use crate::storage::StorageError;
use crate::web::frame::{html_response, page, PageResult};
use crate::web::layout::{field, notice, weekday, when, yuan, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/courses", get(list_page))
        .at("/console/courses/new", get(new_page).post(create_submit))
        .at("/console/courses/:id", get(detail_page).post(update_submit))
        .at("/console/courses/:id/pictures", post(picture_upload))
        .at("/console/courses/:id/pictures/:n", get(picture_get))
        .at("/console/courses/:id/publish", post(publish_submit))
        .at(
            "/console/courses/:id/close",
            get(close_confirm).post(close_submit),
        )
        .at("/console/courses/:id/draw", post(draw_submit))
}

const NAV: &str = "/console/courses";

fn status_tag(s: CourseStatus) -> Markup {
    let class = match s {
        CourseStatus::Draft => "tag warn",
        CourseStatus::Published => "tag",
        CourseStatus::Closed => "tag grey",
    };
    html! { span class=(class) data-status=(s.as_str()) { (s.label()) } }
}

fn days_text(days: &[i16]) -> String {
    days.iter()
        .map(|d| weekday(*d))
        .collect::<Vec<_>>()
        .join("、")
}

fn price_text(c: &CourseView) -> String {
    match c.pricing {
        CoursePricing::PerDay => format!("{} / 天", yuan(&c.price)),
        CoursePricing::PerCourse => yuan(&c.price),
    }
}

// --- the list ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
}

fn status_param(s: Option<&str>) -> Option<CourseStatus> {
    s.and_then(CourseStatus::parse)
}

fn course_row(web: &Web, c: &CourseView, sub: bool) -> Markup {
    html! {
        tr data-course=(c.code) {
            td {
                @if sub { span.muted { "└ " } }
                a href=(web.link(&format!("/console/courses/{}", c.id))) { (c.name) }
                br; small.muted { (c.category) }
            }
            td { (c.class_type_label) }
            td { (days_text(&c.weekdays)) " " (c.starts_at) "–" (c.ends_at) br; small.muted { (c.starts_on) " 至 " (c.ends_on) } }
            td.num { (c.taken) " / " (c.capacity) }
            td.num { (price_text(c)) }
            td { (status_tag(c.status)) }
        }
    }
}

#[handler]
async fn list_page(web: Web, Query(q): Query<ListQuery>) -> PageResult {
    let status = status_param(q.status.as_deref());
    let mut tx = web.school_tx(&course_perms::LIST).await?;
    let list = service::list(
        &mut tx,
        &actor(&web),
        &CourseQuery {
            status,
            ..CourseQuery::default()
        },
    )
    .await?;
    tx.commit().await?;
    let filters = [
        (None, "全部"),
        (Some(CourseStatus::Draft), "草稿"),
        (Some(CourseStatus::Published), "已发布"),
        (Some(CourseStatus::Closed), "已关闭"),
    ];
    page(school_page(
        &web,
        "课程发布",
        NAV,
        html! {
            div.toolbar {
                @for (s, label) in filters {
                    @if s == status { strong.tag { (label) } }
                    @else {
                        a.tag.grey href=(web.link(&match s {
                            Some(s) => format!("/console/courses?status={}", s.as_str()),
                            None => "/console/courses".to_string(),
                        })) { (label) }
                    }
                }
                span.grow {}
                a.btn href=(web.link("/console/courses/new")) id="new-course" { "新建课程" }
            }
            @if list.is_empty() {
                p.muted { "没有符合条件的课程" }
            } @else {
                div.table-wrap {
                    table #courses {
                        thead { tr { th { "课程" } th { "类型" } th { "上课时间" } th.num { "已占/名额" } th.num { "价格" } th { "状态" } } }
                        tbody {
                            @for c in &list {
                                (course_row(&web, c, false))
                                @for s in &c.sub_items { (course_row(&web, s, true)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

async fn new_form(web: &Web, f: Option<&CourseForm>, err: Option<FormError>) -> PageResult {
    let mut tx = web.school_tx(&course_perms::CREATE).await?;
    let opts = options(web, &mut tx, None).await?;
    tx.commit().await?;
    let defaults;
    let f = match f {
        Some(f) => f,
        None => {
            defaults = CourseForm::defaults(web, &opts.terms);
            &defaults
        }
    };
    let status = err.as_ref().map_or(StatusCode::OK, |e| e.status);
    let body = school_page(
        web,
        "新建课程",
        NAV,
        html! {
            p { a href=(web.link("/console/courses")) { "‹ 返回课程列表" } }
            (form_notice(err.as_ref(), &FIELDS))
            div.card {
                p.muted { "新课程保存为草稿，家长看不到；检查无误并上传图片后再发布。" }
                (course_form(&web.post_url("/console/courses/new"), f, &opts, err.as_ref(), false))
            }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn new_page(web: Web) -> PageResult {
    new_form(&web, None, None).await
}

#[handler]
async fn create_submit(web: Web, body: String) -> PageResult {
    let form = CourseForm::parse(&body);
    let mut tx = web.school_tx(&course_perms::CREATE).await?;
    match service::create(&mut tx, &actor(&web), form.new_course()).await {
        Ok(c) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("/console/courses/{}?done=created", c.id)),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            new_form(&web, Some(&form), Some(form_error(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

// --- the course ----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("created") => "课程已保存为草稿",
        Some("updated") => "修改已保存",
        Some("published") => "课程已发布，家长现在可以看到并报名",
        Some("closed") => "课程已关闭，家长不能再报名",
        Some("picture") => "图片已上传",
        Some("drawn") => "抽签完成，结果已公布",
        _ => return html! {},
    };
    notice(Tone::Ok, text)
}

fn summary(c: &CourseView) -> Markup {
    html! {
        dl.kv #course-summary {
            dt { "类型" } dd { (c.class_type_label) " · " (c.category) }
            dt { "学期" } dd { (c.term_name) }
            dt { "上课" } dd { (days_text(&c.weekdays)) " " (c.starts_at) "–" (c.ends_at) }
            dt { "日期" } dd { (c.starts_on) " 至 " (c.ends_on) }
            @if let Some(p) = &c.period_name { dt { "时段" } dd { (p) } }
            @if let Some(v) = &c.venue_name { dt { "场地" } dd { (v) } }
            dt { "名额" } dd { "已占 " (c.taken) " / " (c.capacity) "，剩余 " (c.remaining) }
            dt { "价格" } dd.price { (price_text(c)) }
            dt { "可报名年级" } dd { (c.eligible_levels.iter().map(|l| format!("{l} 年级")).collect::<Vec<_>>().join("、")) }
            dt { "报名时间" } dd { (when(c.reg_opens_at)) " 至 " (when(c.reg_closes_at)) }
            dt { "名额分配" } dd { @if c.allocation == CourseAllocation::Lottery { "报名截止后抽签" } @else { "先到先得" } "，待支付名额保留 " (c.hold_minutes) " 分钟" }
            @if !c.teachers.is_empty() {
                dt { "授课教师" } dd { (c.teachers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("、")) }
            }
            @if let Some(p) = &c.parent_code { dt { "所属系列" } dd { (p) } }
            @if !c.sub_items.is_empty() {
                dt { "子项目" } dd { (c.sub_items.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("、")) }
            }
        }
    }
}

fn pictures_card(web: &Web, c: &CourseView, err: Option<&FormError>) -> Markup {
    html! {
        div.card #pictures {
            h3 { "课程图片（" (c.pictures.len()) "/" (PICTURES_MAX) "）" }
            @if c.pictures.is_empty() { p.muted { "还没有图片。家长在选课时会看到这些图片。" } }
            div.pictures {
                @for n in 0..c.pictures.len() {
                    img src=(web.link(&format!("/console/courses/{}/pictures/{n}", c.id))) alt={ (c.name) " 图片 " (n + 1) } loading="lazy";
                }
            }
            @if c.pictures.len() < PICTURES_MAX {
                form.stack method="post" enctype="multipart/form-data" action=(web.post_url(&format!("/console/courses/{}/pictures", c.id))) {
                    (field("上传图片（JPEG、PNG 或 WebP，不超过 5 MB）", "file", html! {
                        input type="file" id="file" name="file" accept="image/jpeg,image/png,image/webp";
                    }, err_at(err, "file")))
                    button.secondary type="submit" id="picture-submit" { "上传图片" }
                }
            }
        }
    }
}

fn draw_card(
    web: &Web,
    c: &CourseView,
    draw: Option<&DrawView>,
    err: Option<&FormError>,
) -> Markup {
    html! {
        div.card #draw {
            h3 { "抽签" }
            @if let Some(d) = draw {
                dl.kv {
                    dt { "抽签时间" } dd { (when(d.drawn_at)) }
                    dt { "随机种子" } dd { code #draw-seed { (d.seed) } }
                    dt { "申请 / 中签" } dd { (d.applicants) " / " (d.winners) }
                }
                @if !d.order.is_empty() {
                    div.table-wrap {
                        table {
                            thead { tr { th.num { "顺位" } th { "学生编号" } th { "结果" } } }
                            tbody {
                                @for o in &d.order {
                                    tr { td.num { (o.position) } td { (o.student_id) } td { (o.status) } }
                                }
                            }
                        }
                    }
                }
            } @else {
                p.muted { "报名截止（" (when(c.reg_closes_at)) "）后抽签一次：按随机种子打乱申请顺序，前 " (c.capacity) " 名获得名额，其余按顺位候补。种子会公布，任何人可复现结果。" }
                form.stack method="post" action=(web.post_url(&format!("/console/courses/{}/draw", c.id))) {
                    (field("随机种子（可留空，由系统生成）", "seed", html! {
                        input type="text" id="seed" name="seed" inputmode="numeric";
                    }, err_at(err, "seed")))
                    button type="submit" id="draw-submit" { "开始抽签" }
                }
            }
        }
    }
}

/// The course page: summary and actions, pictures, the draw of a lottery course, and the
/// edit form (with `form` as typed when an edit was refused).
async fn detail(
    web: &Web,
    id: i64,
    form: Option<&CourseForm>,
    err: Option<FormError>,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&course_perms::SHOW).await?;
    let c = service::get(&mut tx, &actor(web), id).await?;
    let opts = options(web, &mut tx, Some(id)).await?;
    let draw = if c.allocation == CourseAllocation::Lottery {
        web.authorize(&enroll_perms::DRAW_RESULT).await?;
        match waitlist::draw_result(&mut tx, id).await {
            Ok(d) => Some(d),
            Err(EnrollmentError::NotDrawn { .. }) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    tx.commit().await?;
    let stored = CourseForm::from_view(&c);
    let f = form.unwrap_or(&stored);
    let err = err.as_ref();
    let status = err.map_or(StatusCode::OK, |e| e.status);
    let mut known: Vec<&str> = FIELDS.to_vec();
    known.extend(["file", "seed"]);
    let body = school_page(
        web,
        &c.name,
        NAV,
        html! {
            p { a href=(web.link("/console/courses")) { "‹ 返回课程列表" } }
            (done_notice(done))
            (form_notice(err, &known))
            div.card {
                div.row { h2 { (c.name) } (status_tag(c.status)) }
                (summary(&c))
                div.toolbar style="margin-top:12px" {
                    @if c.status == CourseStatus::Draft {
                        form.inline method="post" action=(web.post_url(&format!("/console/courses/{}/publish", c.id))) {
                            button type="submit" id="publish-submit" { "发布课程" }
                        }
                    }
                    @if c.status == CourseStatus::Published {
                        a.btn.danger href=(web.link(&format!("/console/courses/{}/close", c.id))) id="close-link" { "关闭课程" }
                    }
                    a.btn.secondary href=(web.link(&format!("/console/enrollments?course={}", c.id))) { "查看报名" }
                }
            }
            (pictures_card(web, &c, err))
            @if c.allocation == CourseAllocation::Lottery { (draw_card(web, &c, draw.as_ref(), err)) }
            div.card #edit {
                h3 { "修改课程" }
                @if c.status == CourseStatus::Closed { p.muted { "课程已关闭，修改不会重新开放报名。" } }
                (course_form(&web.post_url(&format!("/console/courses/{id}")), f, &opts, err, true))
            }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn detail_page(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    detail(&web, id, None, None, q.done.as_deref()).await
}

/// The end of an action on course `id`: committed and back on the course page with the
/// `done` notice, or the course page again with the refusal placed by `place` (and the edit
/// form as typed, if it was the edit).
async fn settle<T, E: DomainError>(
    web: &Web,
    id: i64,
    tx: TenantTx,
    result: Result<T, E>,
    done: &str,
    form: Option<&CourseForm>,
    place: fn(&E) -> FormError,
) -> PageResult {
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("/console/courses/{id}?{done}")),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            detail(web, id, form, Some(place(&e)), None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn update_submit(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let form = CourseForm::parse(&body);
    let mut tx = web.school_tx(&course_perms::UPDATE).await?;
    let who = actor(&web);
    let cur = service::get(&mut tx, &who, id).await?;
    let result = service::update(&mut tx, &who, id, form.patch(&cur)).await;
    settle(
        &web,
        id,
        tx,
        result,
        "done=updated",
        Some(&form),
        form_error,
    )
    .await
}

#[handler]
async fn publish_submit(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&course_perms::PUBLISH).await?;
    let result = service::publish(&mut tx, &actor(&web), id).await;
    settle(&web, id, tx, result, "done=published", None, at_course).await
}

#[handler]
async fn close_confirm(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&course_perms::SHOW).await?;
    let c = service::get(&mut tx, &actor(&web), id).await?;
    tx.commit().await?;
    page(school_page(
        &web,
        "关闭课程",
        NAV,
        html! {
            div.card {
                div.row { h2 { (c.name) } (status_tag(c.status)) }
                p { "已占名额 " (c.taken) " / " (c.capacity) }
                (notice(Tone::Warn, "关闭后家长不能再报名此课程，系列课程连同其子项目一起关闭。关闭后不能重新发布。"))
                div.toolbar {
                    form.inline method="post" action=(web.post_url(&format!("/console/courses/{id}/close"))) {
                        button.danger type="submit" id="close-confirm" { "确认关闭" }
                    }
                    a.btn.secondary href=(web.link(&format!("/console/courses/{id}"))) { "取消" }
                }
            }
        },
    ))
}

#[handler]
async fn close_submit(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&course_perms::CLOSE).await?;
    let result = service::close(&mut tx, &actor(&web), id).await;
    settle(&web, id, tx, result, "done=closed", None, at_course).await
}

// --- pictures ------------------------------------------------------------------------------------

/// The `file` part of the upload, read with the picture ceiling whatever the request
/// declares, as the API reads its upload.
pub(crate) async fn read_upload(form: &mut Multipart) -> Result<PictureUpload, FormError> {
    let broken = || FormError::new("file", "文件上传中断，请重新上传");
    let missing = || FormError::new("file", "请选择要上传的图片");
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Err(missing()),
            Err(_) => return Err(broken()),
        };
        if field.name() != Some("file") {
            continue;
        }
        if field.file_name().unwrap_or_default().is_empty() {
            return Err(missing());
        }
        let declared = field.content_type().map(str::to_string);
        let limit = PICTURE_MAX_BYTES as u64;
        let mut bytes = Vec::new();
        if field
            .into_async_read()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .await
            .is_err()
        {
            return Err(broken());
        }
        if bytes.len() > PICTURE_MAX_BYTES {
            let e = StorageError::TooLarge {
                max_bytes: PICTURE_MAX_BYTES,
                actual: bytes.len(),
            };
            return Err(FormError::new("file", e.user_message()));
        }
        return Ok(PictureUpload { bytes, declared });
    }
}

/// A refused picture belongs under the file input, whatever the store named.
fn at_file(e: &CourseError) -> FormError {
    FormError {
        field: "file".into(),
        ..FormError::from_domain(e)
    }
}

/// A refused draw belongs under the seed input.
fn at_draw(e: &EnrollmentError) -> FormError {
    let seed = matches!(
        e,
        EnrollmentError::DrawTooEarly { .. }
            | EnrollmentError::AlreadyDrawn { .. }
            | EnrollmentError::NotALottery
    );
    let fe = FormError::from_domain(e);
    if seed {
        FormError {
            field: "seed".into(),
            ..fe
        }
    } else {
        fe
    }
}

/// A refusal of a course action that is about no field of the form.
fn at_course(e: &CourseError) -> FormError {
    FormError::from_domain(e)
}

#[handler]
async fn picture_upload(web: Web, Path(id): Path<i64>, mut form: Multipart) -> PageResult {
    let mut tx = web.school_tx(&course_perms::PICTURE_ADD).await?;
    let upload = match read_upload(&mut form).await {
        Ok(u) => u,
        Err(fe) => {
            drop(tx);
            return detail(&web, id, None, Some(fe), None).await;
        }
    };
    let result = service::add_picture(&mut tx, &actor(&web), id, upload).await;
    settle(&web, id, tx, result, "done=picture#pictures", None, at_file).await
}

#[handler]
async fn picture_get(web: Web, Path((id, n)): Path<(i64, i64)>) -> PageResult {
    let mut tx = web.school_tx(&course_perms::PICTURE_GET).await?;
    let obj = service::picture(&mut tx, &actor(&web), id, n).await?;
    tx.commit().await?;
    Ok(Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(obj.body.to_vec()))
}

// --- the lottery -----------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct DrawForm {
    #[serde(default)]
    seed: String,
}

#[handler]
async fn draw_submit(
    web: Web,
    Path(id): Path<i64>,
    poem::web::Form(f): poem::web::Form<DrawForm>,
) -> PageResult {
    let seed = match text_opt(&f.seed).map(|s| s.parse::<i64>()) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => {
            let fe = FormError::new("seed", "随机种子须为整数，也可以留空由系统生成");
            return detail(&web, id, None, Some(fe), None).await;
        }
    };
    let mut tx = web.school_tx(&enroll_perms::DRAW).await?;
    let result = waitlist::draw(&web.app, &web.auth, &mut tx, id, seed).await;
    settle(&web, id, tx, result, "done=drawn#draw", None, at_draw).await
}
