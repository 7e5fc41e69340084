//! The parent's mobile pages (R-P02…R-P06, R-P11, R-P12): the children, the courses a child
//! may book with places left and the clash warning, booking, paying at the cashier, the
//! week's timetable, and the records of bookings, orders and refunds.
//!
//! The child a page is about travels in the `child` query parameter; without it the first
//! child is shown. Must never show or act on a child that is not the caller's own: every
//! read goes through the same service calls (and their guardian checks) as the API.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{get, handler, post, Response, Route};
use serde::Deserialize;

use crate::courses::model::CoursePricing;
use crate::enrollment::model::{EnrollmentStatus, EnrollmentView, OfferView};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::service as enroll;
use crate::error::ApiError;
use crate::payments::model::{OrderStatus, OrderView, RefundStatus};
use crate::payments::pages::parent_pay;
use crate::people::model::StudentView;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{self, notice, weekday, when, yuan, Tone};
use crate::web::session::{see_other, Web};

/// The enrollment statuses the pages tell apart, as the views carry them.
const HELD: &str = EnrollmentStatus::Held.as_str();
const CONFIRMED: &str = EnrollmentStatus::Confirmed.as_str();

pub fn mount(r: Route) -> Route {
    r.at("/m", get(home_page))
        .at("/m/consent", post(consent_submit))
        .at("/m/courses", get(courses_page))
        .at("/m/courses/:id", get(course_detail))
        .at("/m/courses/:id/book", post(book_submit))
        .at("/m/courses/:id/pictures/:n", get(picture))
        .at("/m/records", get(records_page))
        .at("/m/enrollments/:id/cancel", post(cancel_submit))
        .at("/m/timetable", get(timetable_page))
}

#[derive(Debug, Default, Deserialize)]
pub struct ChildQuery {
    pub child: Option<i64>,
    /// A short notice key after a redirect (`booked`, `paid`, …).
    pub done: Option<String>,
    /// The idempotency key of a payment that went to WeChat's authorisation first: the
    /// retry must find the same order.
    pub key: Option<String>,
}

/// The caller's children, or the consent page when the rules are not yet agreed to.
async fn children(web: &Web) -> Result<Result<Vec<StudentView>, Markup>, WebError> {
    let mut tx = web.school_tx(&crate::people::perms::MY_CHILDREN).await?;
    match crate::people::service::my_children(&web.app, &web.auth, &mut tx).await {
        Ok(list) => {
            tx.commit().await?;
            Ok(Ok(list))
        }
        Err(crate::people::error::PeopleError::ConsentRequired { .. }) => {
            Ok(Err(consent_page(web)))
        }
        Err(e) => Err(e.into()),
    }
}

/// The caller's children and the one a page is about.
pub struct Family {
    pub list: Vec<StudentView>,
    current: usize,
}

impl Family {
    pub fn child(&self) -> &StudentView {
        &self.list[self.current]
    }
}

/// The family a parent page shows, or the page to show instead: the data rules to agree
/// to, or a note that the school has no child of this parent. A child that is not the
/// caller's own is a 404.
pub async fn family(web: &Web, asked: Option<i64>) -> Result<Result<Family, Response>, WebError> {
    let list = match children(web).await? {
        Ok(l) => l,
        Err(consent) => {
            return Ok(Err(crate::web::frame::html_response(
                StatusCode::OK,
                consent,
            )))
        }
    };
    let current = match asked {
        Some(id) => list
            .iter()
            .position(|c| c.id == id)
            .ok_or(WebError::NotFound)?,
        None if list.is_empty() => {
            return Ok(Err(crate::web::frame::html_response(
                StatusCode::OK,
                no_children(web),
            )))
        }
        None => 0,
    };
    Ok(Ok(Family { list, current }))
}

fn consent_page(web: &Web) -> Markup {
    layout::mobile(
        web,
        "个人信息处理规则",
        "/m",
        html! {
            div.card {
                h2 { "《个人信息处理规则》" }
                p { "为办理课后服务报名、缴费和托管考勤，学校需要处理您和孩子的以下信息：孩子姓名、班级、身份证号（仅用于核验年龄和身份），监护人姓名和手机号。" }
                p { "这些信息加密保存在学校的数据空间内，页面和日志中只显示脱敏后的内容；除依法向教育主管部门报送外，不会提供给第三方。" }
                p { "您可以随时在“我的”中撤回同意；撤回后将无法继续在线报名。" }
                form method="post" action=(web.post_url("/m/consent")) {
                    button.block type="submit" id="consent-agree" { "我已阅读并同意" }
                }
            }
        },
    )
}

#[handler]
async fn consent_submit(web: Web) -> PageResult {
    crate::auth::service::grant_consent(&web.app, &web.auth, None)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    Ok(see_other(&web.link("/m")))
}

pub fn child_switcher(
    web: &Web,
    list: &[StudentView],
    current: &StudentView,
    path: &str,
) -> Markup {
    html! {
        @if list.len() > 1 {
            div.toolbar.children {
                span.muted { "孩子：" }
                @for c in list {
                    @if c.id == current.id { strong.tag { (c.name) } }
                    @else { a.tag.grey href=(web.link(&format!("{path}?child={}", c.id))) { (c.name) } }
                }
            }
        }
    }
}

fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("booked") => "报名成功，名额已为您保留，请在截止时间前完成支付",
        Some("paid") => "已返回商户页面。支付结果以微信支付通知为准，通常几秒内更新",
        Some("cancelled") => "已取消报名，名额已释放",
        Some("wx_bound") => "微信授权完成，可以支付了",
        Some("order_cancelled") => "订单已取消。名额仍保留到截止时间，可重新支付或取消报名",
        _ => return html! {},
    };
    notice(Tone::Ok, text)
}

fn no_children(web: &Web) -> Markup {
    layout::mobile(
        web,
        "首页",
        "/m",
        notice(
            Tone::Warn,
            "本校还没有登记您为监护人的学生。请联系班主任核对您在学校登记的手机号。",
        ),
    )
}

#[handler]
async fn home_page(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let (list, child) = (&fam.list, fam.child());
    let mut tx = web.school_tx(&enroll_perms::RECORDS).await?;
    let records = enroll::records(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    let orders = parent_pay::orders_of_child(&web, child.id).await?;
    let open: Vec<&OrderView> = orders.iter().filter(|o| o.payable).collect();
    let held: Vec<&EnrollmentView> = records.iter().filter(|e| e.status == HELD).collect();
    // Held bookings not in an open order yet are paid with a new one.
    let to_order: Vec<&EnrollmentView> = held
        .iter()
        .copied()
        .filter(|e| !parent_pay::in_open_order(&orders, e.id))
        .collect();
    let offers = if to_order.is_empty() {
        Vec::new()
    } else {
        let mut tx = web.school_tx(&enroll_perms::OFFERS).await?;
        let o = enroll::offers(&web.app, &web.auth, &mut tx, child.id).await?;
        tx.commit().await?;
        o
    };
    let active = records.iter().filter(|e| e.status == CONFIRMED).count();
    let q_child = format!("?child={}", child.id);
    let mut tx = web.school_tx(&crate::notices::perms::INBOX).await?;
    let unread_notices = crate::notices::service::inbox(&mut tx, &crate::web::forms::actor(&web))
        .await?
        .iter()
        .filter(|n| n.read_by_me == Some(false))
        .count();
    tx.commit().await?;
    page(layout::mobile(
        &web,
        "课后服务",
        "/m",
        html! {
            (done_notice(q.done.as_deref()))
            (child_switcher(&web, list, child, "/m"))
            div.card {
                div.row { h2 { (child.name) } span.muted { (class_label(child)) } }
                p.muted { "已报名 " (active) " 项" @if !held.is_empty() { "，" (held.len()) " 项待支付" } }
            }
            @if !held.is_empty() {
                (notice(Tone::Warn, "有报名待支付，超过保留时间名额将自动释放"))
            }
            @for o in &open { (parent_pay::open_order_card(&web, child.id, o)) }
            @if !to_order.is_empty() {
                (parent_pay::pay_form(&web, child.id, &to_order, &offers, q.key.as_deref()))
            }
            div.card {
                ul.list {
                    li { a href=(web.link(&format!("/m/courses{q_child}"))) { "选课报名 ›" } }
                    li { a href=(web.link(&format!("/m/timetable{q_child}"))) { "本周课表 ›" } }
                    li { a href=(web.link(&format!("/m/meals{q_child}"))) id="meals-link" { "订餐 ›" } }
                    li { a href=(web.link(&format!("/m/lessons{q_child}"))) id="lessons-link" { "课堂记录与老师点评 ›" } }
                    li { a href=(web.link(&format!("/m/evaluations{q_child}"))) id="evaluations-link" { "课程评价 ›" } }
                    li { a href=(web.link("/m/notices")) id="notices-link" {
                        "学校通知"
                        @if unread_notices > 0 { " " span.tag.warn #unread-notices { (unread_notices) " 条未读" } }
                        " ›"
                    } }
                    li { a href=(web.link(&format!("/m/records{q_child}"))) { "报名与缴费记录 ›" } }
                    li { a href=(web.link("/m/me")) { "我的 ›" } }
                }
            }
        },
    ))
}

/// How a class is named to parents (R-S02): its alias, with the system name beside it.
pub fn class_label(c: &StudentView) -> String {
    match c.class_alias.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => format!("{a}（{}）", c.class_name),
        None => c.class_name.clone(),
    }
}

#[handler]
async fn courses_page(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let (list, child) = (&fam.list, fam.child());
    let mut tx = web.school_tx(&enroll_perms::OFFERS).await?;
    let offers = enroll::offers(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    let tops: Vec<&OfferView> = offers.iter().filter(|o| o.parent_id.is_none()).collect();
    page(layout::mobile(
        &web,
        "选课报名",
        "/m/courses",
        html! {
            (child_switcher(&web, list, child, "/m/courses"))
            @if tops.is_empty() { (notice(Tone::Warn, "目前没有可报名的课程或托管")) }
            @for o in &tops {
                a.card.offer href=(web.link(&format!("/m/courses/{}?child={}", o.id, child.id))) style="display:block;color:inherit" {
                    @if !o.pictures.is_empty() {
                        img.cover src=(web.link(&format!("/m/courses/{}/pictures/0", o.id))) alt=(o.name) loading="lazy";
                    }
                    div.row {
                        h3 { (o.name) }
                        (offer_tag(o))
                    }
                    p.muted { (o.schedule) @if let Some(v) = &o.venue { " · " (v) } }
                    div.row {
                        span.price { (yuan(&o.total)) }
                        span.muted { "剩余 " (o.remaining) " 个名额" }
                    }
                }
            }
        },
    ))
}

fn offer_tag(o: &OfferView) -> Markup {
    html! {
        @match o.booked.as_deref() {
            Some(HELD) => span.tag.warn { "待支付" },
            Some(CONFIRMED) => span.tag { "已报名" },
            _ => @if !o.open { span.tag.grey { "未在报名时间" } }
                 @else if o.remaining <= 0 { span.tag.bad { "已满" } }
                 @else { span.tag { (if o.class_type == "custody" { "托管" } else { "课程" }) } },
        }
    }
}

#[derive(Debug, Deserialize)]
struct CourseQuery {
    child: Option<i64>,
}

async fn course_page(
    web: &Web,
    course_id: i64,
    asked: Option<i64>,
    error: Option<&ApiError>,
) -> PageResult {
    let fam = match family(web, asked).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&enroll_perms::OFFERS).await?;
    let offers = enroll::offers(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    let Some(o) = offers.iter().find(|o| o.id == course_id) else {
        return Err(WebError::NotFound);
    };
    // A clash is explained before 报名 is pressed (R-P03), with the words a refusal would
    // carry; for a series, per unit.
    let mut tx = web.school_tx(&enroll_perms::CLASHES).await?;
    let clashes = enroll::clashes(&web.app, &web.auth, &mut tx, child.id, o.id).await?;
    tx.commit().await?;
    let items: Vec<&OfferView> = offers
        .iter()
        .filter(|i| i.parent_id == Some(o.id))
        .collect();
    let series = offers.iter().find(|s| Some(s.id) == o.parent_id);
    let status = error
        .map(crate::web::frame::api_status)
        .unwrap_or(StatusCode::OK);
    let clear = |id: i64| !clashes.iter().any(|k| k.course_id == id);
    let bookable = |i: &OfferView| i.open && i.booked.is_none() && i.remaining > 0;
    // The whole series at once only while none of its units is booked yet.
    let can_book = bookable(o)
        && o.units_booked == 0
        && clashes.is_empty()
        && items.iter().all(|i| bookable(i));
    let book_url = |id: i64| web.post_url(&format!("/m/courses/{id}/book?child={}", child.id));
    let body = layout::mobile(
        web,
        &o.name,
        "/m/courses",
        html! {
            p {
                @if let Some(s) = series {
                    a href=(web.link(&format!("/m/courses/{}?child={}", s.id, child.id))) { "‹ 返回“" (s.name) "”" }
                } @else {
                    a href=(web.link(&format!("/m/courses?child={}", child.id))) { "‹ 返回课程列表" }
                }
            }
            @if !o.pictures.is_empty() {
                div.pictures #course-pictures {
                    @for n in 0..o.pictures.len() {
                        img src=(web.link(&format!("/m/courses/{}/pictures/{n}", o.id))) alt={ (o.name) " 图片 " (n + 1) } loading="lazy";
                    }
                }
            }
            div.card {
                div.row { h2 { (o.name) } (offer_tag(o)) }
                p { (o.intro) }
                dl.kv {
                    dt { "孩子" } dd { (child.name) " · " (class_label(child)) }
                    dt { "时间" } dd { (o.schedule) }
                    dt { "日期" } dd { (o.starts_on) " 至 " (o.ends_on) }
                    @if let Some(v) = &o.venue { dt { "地点" } dd { (v) } }
                    @if !o.teachers.is_empty() { dt { "老师" } dd { (o.teachers.join("、")) } }
                    @if items.is_empty() {
                        dt { "收费" } dd {
                            @if o.pricing == CoursePricing::PerDay.as_str() {
                                (yuan(&o.price)) " / 天"
                                @if let Some(d) = o.served_days { " × " (d) " 天（按校历扣除节假日）" }
                            } @else { (yuan(&o.price)) }
                        }
                        dt { "应付" } dd.price { (yuan(&o.total)) }
                    } @else {
                        dt { "整套应付" } dd.price { (yuan(&o.total)) " （" (items.len()) " 个单元合计）" }
                    }
                    dt { "名额" } dd { "剩余 " (o.remaining) }
                    dt { "报名时间" } dd { (when(o.reg_opens_at)) " 至 " (when(o.reg_closes_at)) }
                }
            }
            @if !clashes.is_empty() {
                div.notice.warn #clash-warning role="alert" data-code="ENROLL_TIME_CONFLICT" {
                    @for k in &clashes { p { (k.message) } }
                    p { small { "时间冲突的课程不能同时报名；如需改报，请先在“报名与缴费记录”中取消或退课。" } }
                }
            }
            @if !items.is_empty() {
                div.card #series-units {
                    h3 { "系列课程包含" }
                    p.muted { small { "可整套报名，也可只报其中的单元；每个单元单独收费、单独占名额。" } }
                    ul.list {
                        @for i in &items {
                            li.unit data-id=(i.id) {
                                div.row { strong { (i.name) } (offer_tag(i)) }
                                small.muted { (i.schedule) " · " (i.starts_on) " 至 " (i.ends_on) " · 剩余 " (i.remaining) }
                                div.row {
                                    span.price { (yuan(&i.total)) }
                                    @if bookable(i) && clear(i.id) {
                                        form.inline method="post" action=(book_url(i.id)) {
                                            button.secondary type="submit" id={ "book-unit-" (i.id) } { "只报这一单元" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(e) = error {
                div.notice.error role="alert" id="book-error" data-code=(e.body().code) {
                    (e.body().message)
                }
            }
            @if can_book {
                form method="post" action=(book_url(o.id)) {
                    button.block type="submit" id="book-submit" {
                        @if items.is_empty() { "立即报名" } @else { "整套报名（" (items.len()) " 个单元）" }
                    }
                }
            } @else if o.booked.as_deref() == Some(HELD) || items.iter().any(|i| i.booked.as_deref() == Some(HELD)) {
                a.btn.block href=(web.link(&format!("/m?child={}", child.id))) { "去支付" }
            }
        },
    );
    Ok(html_response(status, body))
}

/// A course picture as the school uploaded it (R-P02), for parents (published courses
/// only, as the API answers them).
#[handler]
async fn picture(web: Web, Path((id, n)): Path<(i64, i64)>) -> PageResult {
    let mut tx = web.school_tx(&crate::courses::perms::PICTURE_GET).await?;
    let who = crate::kernel::actor::Actor {
        st: &web.app,
        auth: &web.auth,
    };
    let obj = crate::courses::service::picture(&mut tx, &who, id, n).await?;
    tx.commit().await?;
    Ok(Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "private, max-age=3600")
        .body(obj.body.to_vec()))
}

#[handler]
async fn course_detail(web: Web, Path(id): Path<i64>, Query(q): Query<CourseQuery>) -> PageResult {
    course_page(&web, id, q.child, None).await
}

#[handler]
async fn book_submit(web: Web, Path(id): Path<i64>, Query(q): Query<CourseQuery>) -> PageResult {
    let Some(child) = q.child else {
        return Err(WebError::NotFound);
    };
    let mut tx = web.school_tx(&enroll_perms::BOOK).await?;
    match enroll::book(&web.app, &web.auth, &mut tx, child, id).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("/m?child={child}&done=booked")),
            ))
        }
        Err(e) => {
            let e = ApiError::from(e);
            if crate::web::frame::api_status(&e).is_server_error() {
                return Err(e.into());
            }
            drop(tx);
            course_page(&web, id, Some(child), Some(&e)).await
        }
    }
}

#[handler]
async fn cancel_submit(web: Web, Path(id): Path<i64>, Query(q): Query<CourseQuery>) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::CANCEL).await?;
    enroll::cancel_hold(&web.app, &web.auth, &mut tx, id).await?;
    tx.commit().await?;
    let child = q.child.map(|c| format!("child={c}&")).unwrap_or_default();
    Ok(see_other(
        &web.link(&format!("/m/records?{child}done=cancelled")),
    ))
}

#[handler]
async fn records_page(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let (list, child) = (&fam.list, fam.child());
    let mut tx = web.school_tx(&enroll_perms::RECORDS).await?;
    let records = enroll::records(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    let orders = parent_pay::orders_of_child(&web, child.id).await?;
    let waiting = q.done.as_deref() == Some("paid")
        && orders
            .iter()
            .any(|o| o.order_status() == Some(OrderStatus::Created));
    let mut body = html! {
        (done_notice(q.done.as_deref()))
        (child_switcher(&web, list, child, "/m/records"))
        h2 { "报名记录" }
        @if records.is_empty() { p.muted { "还没有报名记录" } }
        div.card {
            ul.list #enrollments {
                @for e in &records {
                    li data-status=(e.status) {
                        div.row {
                            strong { (e.course_name) }
                            span class={ "tag" @match e.status.as_str() { HELD => " warn", CONFIRMED => "", _ => " grey" } } { (e.status_label) }
                        }
                        small.muted { (e.weekdays.iter().map(|d| weekday(*d)).collect::<Vec<_>>().join("、")) " " (e.starts_at) "–" (e.ends_at) }
                        @if e.status == HELD {
                            @if parent_pay::in_open_order(&orders, e.id) {
                                " " small.muted { "已下单，可在下方订单中继续支付或取消" }
                            } @else {
                                form.inline method="post" action=(web.post_url(&format!("/m/enrollments/{}/cancel?child={}", e.id, child.id))) {
                                    " " button.link type="submit" { "取消报名" }
                                }
                            }
                        }
                        @if e.status == CONFIRMED {
                            " " a.request href=(web.link(&format!("/m/requests/new?child={}&enrollment={}", child.id, e.id))) { "申请退课/调班" }
                        }
                    }
                }
            }
        }
        p { a href=(web.link(&format!("/m/requests?child={}", child.id))) { "我的退课与调班申请 ›" } }
        h2 { "订单与退款" }
        @if orders.is_empty() { p.muted { "还没有订单" } }
        @for o in &orders {
            div.card.order id={ "order-" (o.id) } data-status=(o.status) {
                div.row {
                    strong { (o.description) }
                    span class={ "tag" @if o.order_status() == Some(OrderStatus::Created) { " warn" } @else if o.order_status() == Some(OrderStatus::Closed) { " grey" } } { (o.status_label) }
                }
                @for l in &o.lines {
                    div.row.line { small { (l.description) } small { (yuan(&l.amount)) } }
                }
                div.row { small.muted { "订单号 " (o.out_trade_no) } span.price { "合计 " (yuan(&o.amount)) } }
                @if let Some(r) = &o.close_reason { p.muted { small { "关闭原因：" (r) } } }
                @for r in &o.refunds {
                    div.row.refund data-status=(r.status) {
                        small { "退款 " (yuan(&r.amount)) " · " (r.reason) }
                        span class={ "tag" @if r.refund_status() == Some(RefundStatus::Succeeded) { "" } @else if r.refund_status() == Some(RefundStatus::Abnormal) { " bad" } @else { " warn" } } { (r.status_label) }
                    }
                }
                (parent_pay::order_actions(&web, child.id, o, "records"))
            }
        }
    };
    if waiting {
        body = html! { meta http-equiv="refresh" content="3"; (body) };
    }
    page(layout::mobile(&web, "报名与缴费记录", "/m/records", body))
}

#[handler]
async fn timetable_page(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let (list, child) = (&fam.list, fam.child());
    let mut tx = web.school_tx(&enroll_perms::TIMETABLE).await?;
    let week = enroll::timetable(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    page(layout::mobile(
        &web,
        "本周课表",
        "/m/timetable",
        html! {
            (child_switcher(&web, list, child, "/m/timetable"))
            p.muted { (week.student_name) " · " (week.week_of) " 这一周" }
            div.week #timetable {
                @for d in &week.days {
                    div.day {
                        h3 { (d.label) " " small.muted { (d.date.format("%m-%d")) } }
                        @for s in &d.slots {
                            div class={ "slot" @if s.status == HELD { " held" } } {
                                strong { (s.course_name) } br;
                                (s.starts_at) "–" (s.ends_at)
                                @if let Some(v) = &s.venue { br; small { (v) } }
                                @if s.status == HELD { br; small { "待支付" } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
