//! The operator's view of the outbox (`/console/platform/outbox`): the queue's depth, the
//! oldest pending event's age, failing and dead events, and the retry or discard of a dead
//! one (audited); and `/metrics`, the same figures in Prometheus text for monitoring.
//!
//! Shows no payload: events carry personal data (encrypted) that the console has no need of.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{get, handler, post, IntoResponse, Response, Route};
use serde::Deserialize;

use crate::error::ApiError;
use crate::kernel::ctx::Ctx;
use crate::outbox::perms::{DEAD_DISCARD, DEAD_HANDLE, QUEUE};
use crate::outbox::{self, DeadAction, EventRow, EventState, QueueStats};
use crate::web::forms::FormError;
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::{notice, when_s, Tone};
use crate::web::nav::platform_page;
use crate::web::session::{see_other, Web};

pub const PATH: &str = "/console/platform/outbox";
const ROWS: i64 = 100;

pub fn mount(r: Route) -> Route {
    r.at(PATH, get(queue))
        .at("/console/platform/outbox/:id/retry", post(retry))
        .at("/console/platform/outbox/:id/discard", post(discard))
        .at("/metrics", get(metrics))
}

/// What each event kind is, for the operator.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "supervision.push" => "市监管平台推送",
        "notify.message" => "家长/教职工消息",
        "payments.refund" => "微信支付退款提交",
        "courses.changed" => "课程变动（待转为监管推送）",
        "courses.teacher_changed" => "教师信息变动（待转为监管推送）",
        "enrollment.place" => "报名名额变动（待转为监管推送）",
        _ => "其他",
    }
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    done: Option<String>,
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Api(ApiError::internal(e))
}

fn age(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    match s {
        0..=59 => format!("{s} 秒"),
        60..=3599 => format!("{} 分 {} 秒", s / 60, s % 60),
        _ => format!("{} 小时 {} 分", s / 3600, (s % 3600) / 60),
    }
}

#[handler]
async fn queue(web: Web, Query(q): Query<QueueQuery>) -> PageResult {
    web.authorize_platform(&QUEUE).await?;
    let stats = outbox::stats(&web.app).await.map_err(internal)?;
    let dead = outbox::list(&web.app, EventState::Dead, ROWS)
        .await
        .map_err(internal)?;
    let failing = outbox::list(&web.app, EventState::Pending, ROWS)
        .await
        .map_err(internal)?;
    let info = match q.done.as_deref() {
        Some("retried") => Some(notice(Tone::Ok, "已重新排队，将立即尝试发送")),
        Some("discarded") => Some(notice(Tone::Ok, "已丢弃，该消息不再发送")),
        _ => None,
    };
    page(view(
        &web,
        &stats,
        &failing,
        &dead,
        info,
        &FormError::none(),
    ))
}

fn view(
    web: &Web,
    stats: &QueueStats,
    failing: &[EventRow],
    dead: &[EventRow],
    info: Option<Markup>,
    error: &FormError,
) -> Markup {
    let writes = web.app.authz.any_allows(
        &web.auth.platform_roles(),
        crate::auth::model::Domain::Platform,
        "platform.integrations",
        "write",
    );
    let c = &web.app.outbox;
    platform_page(
        web,
        "对外推送队列",
        PATH,
        html! {
            @if let Some(i) = info { (i) }
            @if let Some(m) = error.field("") { (notice(Tone::Error, m)) }
            p.muted { "市监管平台推送、家长消息和退款提交都先写入队列，与业务数据同一事务提交，再由后台发送；失败按指数退避重试，超过次数后停止重试，等待处理。" }
            div.stats #outbox-stats {
                div.stat { span.label { "待发送" } strong #outbox-pending { (stats.pending) } }
                div.stat { span.label { "最早待发送已等待" } strong #outbox-oldest { (age(stats.oldest_pending_secs)) } }
                div.stat { span.label { "重试中" } strong #outbox-failing { (stats.failing) } }
                div.stat { span.label { "已停止重试" } strong #outbox-dead { (stats.dead) } }
                div.stat { span.label { "本进程已送达" } strong { (c.delivered.load(Ordering::Relaxed)) } }
            }
            div.toolbar { a.btn.secondary href=(PATH) { "刷新" } a.btn.secondary href="/metrics" { "监控指标" } }
            @if !stats.by_kind.is_empty() {
                h2 { "按类型" }
                div.table-wrap { table #outbox-kinds {
                    thead { tr { th { "类型" } th.num { "待发送" } } }
                    tbody { @for (k, n) in &stats.by_kind { tr { td { (kind_label(k)) } td.num { (n) } } } }
                } }
            }
            h2 { "已停止重试" }
            @if dead.is_empty() { p.muted { "没有已停止重试的消息" } }
            @else { (rows(web, dead, writes, "outbox-dead-list")) }
            h2 { "重试中" }
            @if failing.is_empty() { p.muted { "没有正在重试的消息" } }
            @else { (rows(web, failing, false, "outbox-failing-list")) }
        },
    )
}

fn rows(web: &Web, list: &[EventRow], actions: bool, id: &str) -> Markup {
    html! {
        div.table-wrap { table id=(id) {
            thead { tr { th { "编号" } th { "类型" } th { "对象" } th.num { "已尝试" } th { "最后错误" } th { "写入时间" } th { "下次尝试" } @if actions { th { "处理" } } } }
            tbody {
                @for e in list {
                    tr data-id=(e.id) data-state=(e.state.as_str()) {
                        td { (e.id) }
                        td { (kind_label(&e.kind)) }
                        td { code { (e.entity) } }
                        td.num { (e.attempts) }
                        td { small { (e.last_error.as_deref().unwrap_or("")) } }
                        td { (when_s(e.created_at)) }
                        td { @if e.state == EventState::Pending { (when_s(e.next_at)) } }
                        @if actions {
                            td {
                                form.inline method="post" action=(web.post_url(&format!("{PATH}/{}/retry", e.id))) {
                                    button type="submit" class="small" data-action="retry" { "重试" }
                                }
                                form.inline method="post" action=(web.post_url(&format!("{PATH}/{}/discard", e.id))) {
                                    button type="submit" class="small secondary" data-action="discard" { "丢弃" }
                                }
                            }
                        }
                    }
                }
            }
        } }
    }
}

async fn act(web: Web, id: i64, action: DeadAction) -> PageResult {
    let perm = match action {
        DeadAction::Retry => &DEAD_HANDLE,
        DeadAction::Discard => &DEAD_DISCARD,
    };
    web.authorize_platform(perm).await?;
    match outbox::handle_dead(
        &web.app,
        web.auth.account_id,
        web.auth.source_ip.clone(),
        id,
        action,
    )
    .await
    {
        Ok(_) => {
            let done = match action {
                DeadAction::Retry => "retried",
                DeadAction::Discard => "discarded",
            };
            Ok(see_other(&format!("{PATH}?done={done}")))
        }
        Err(e @ (outbox::OutboxError::NotFound { .. } | outbox::OutboxError::NotDead { .. })) => {
            let stats = outbox::stats(&web.app).await.map_err(internal)?;
            let dead = outbox::list(&web.app, EventState::Dead, ROWS)
                .await
                .map_err(internal)?;
            let failing = outbox::list(&web.app, EventState::Pending, ROWS)
                .await
                .map_err(internal)?;
            let error = FormError::from_domain(&e);
            Ok(crate::web::frame::html_response(
                StatusCode::CONFLICT,
                view(&web, &stats, &failing, &dead, None, &error),
            ))
        }
        Err(e) => Err(internal(e)),
    }
}

#[handler]
async fn retry(web: Web, Path(id): Path<i64>) -> PageResult {
    act(web, id, DeadAction::Retry).await
}

#[handler]
async fn discard(web: Web, Path(id): Path<i64>) -> PageResult {
    act(web, id, DeadAction::Discard).await
}

/// Prometheus text: the queue from the database (every worker's), the counters of this
/// process's worker. Numbers only; no personal data, so it needs no session (scrapers
/// reach it on the private network, behind the load balancer's rules).
#[handler]
async fn metrics(Data(st): Data<&std::sync::Arc<Ctx>>) -> Response {
    let stats = match outbox::stats(st).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: outbox stats failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let c = &st.outbox;
    let mut out = String::new();
    let gauge = |out: &mut String, name: &str, help: &str, v: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    };
    gauge(
        &mut out,
        "afterschool_outbox_pending",
        "Events waiting for delivery.",
        stats.pending.to_string(),
    );
    gauge(
        &mut out,
        "afterschool_outbox_failing",
        "Pending events that failed at least once.",
        stats.failing.to_string(),
    );
    gauge(
        &mut out,
        "afterschool_outbox_dead",
        "Events that stopped retrying.",
        stats.dead.to_string(),
    );
    gauge(
        &mut out,
        "afterschool_outbox_oldest_pending_seconds",
        "Age of the oldest pending event.",
        format!("{:.3}", stats.oldest_pending_secs),
    );
    let _ = writeln!(out, "# HELP afterschool_outbox_pending_by_kind Pending events per kind.\n# TYPE afterschool_outbox_pending_by_kind gauge");
    for (k, n) in &stats.by_kind {
        let _ = writeln!(
            out,
            "afterschool_outbox_pending_by_kind{{kind=\"{k}\"}} {n}"
        );
    }
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(
        &mut out,
        "afterschool_outbox_delivered_total",
        "Events this process delivered.",
        c.delivered.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "afterschool_outbox_failures_total",
        "Failed deliveries in this process.",
        c.failed.load(Ordering::Relaxed),
    );
    counter(
        &mut out,
        "afterschool_outbox_dead_total",
        "Events this process declared dead.",
        c.dead.load(Ordering::Relaxed),
    );
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
