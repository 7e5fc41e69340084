//! The parent's notices on the phone (R-P01): the list of what the school and the homeroom
//! teachers sent to their children's classes, unread ones marked, and each notice with its
//! pictures (opening it records the read, as `GET /school/my-notices/:id` does).

use maud::html;
use poem::web::Path;
use poem::{get, handler, Route};

use super::{notice_body, picture};
use crate::notices::error::NoticeError;
use crate::notices::perms::{INBOX, OPEN};
use crate::notices::service;
use crate::web::forms::actor;
use crate::web::frame::{html_response, page, PageResult};
use crate::web::layout::{self, notice, when, Tone};
use crate::web::session::Web;

const BASE: &str = "/m/notices";

pub fn mount(r: Route) -> Route {
    r.at(BASE, get(list))
        .at(format!("{BASE}/:id"), get(one))
        .at(format!("{BASE}/:id/pictures/:n"), get(parent_picture))
}

#[handler]
async fn list(web: Web) -> PageResult {
    let mut tx = web.school_tx(&INBOX).await?;
    let items = service::inbox(&mut tx, &actor(&web)).await?;
    tx.commit().await?;
    let unread = items.iter().filter(|n| n.read_by_me == Some(false)).count();
    page(layout::mobile(
        &web,
        "学校通知",
        "/m",
        html! {
            p { a href=(web.link("/m")) { "‹ 首页" } }
            @if items.is_empty() {
                p.muted #no-notices { "暂时没有学校通知" }
            } @else {
                @if unread > 0 { p.muted #unread-count { (unread) " 条未读" } }
                ul.list.card #notices {
                    @for n in &items {
                        @let unread = n.read_by_me == Some(false);
                        li.notice-item data-id=(n.id) data-read=(!unread) {
                            a href=(web.link(&format!("{BASE}/{}", n.id))) id={ "notice-link-" (n.id) } {
                                div.row {
                                    span { @if unread { span.tag.warn { "未读" } " " } strong { (n.title) } }
                                    " ›"
                                }
                                small.muted {
                                    (n.sender)
                                    @if let Some(t) = n.published_at { " · " (when(t)) }
                                    @if n.edited_at.is_some() { " · 已编辑" }
                                    @if !n.pictures.is_empty() { " · " (n.pictures.len()) " 张图片" }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[handler]
async fn one(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&OPEN).await?;
    let opened = service::open(&mut tx, &actor(&web), id).await;
    let mut status = poem::http::StatusCode::OK;
    let body = match opened {
        Ok(n) => {
            tx.commit().await?;
            notice_body(&n, |i| web.link(&format!("{BASE}/{id}/pictures/{i}")))
        }
        Err(e @ (NoticeError::Withdrawn { .. } | NoticeError::NotFound { .. })) => {
            drop(tx);
            status = poem::http::StatusCode::NOT_FOUND;
            let text = crate::kernel::error::DomainError::user_message(&e);
            html! { div #notice-missing { (notice(Tone::Warn, &text)) } }
        }
        Err(e) => return Err(e.into()),
    };
    Ok(html_response(
        status,
        layout::mobile(
            &web,
            "学校通知",
            "/m",
            html! {
                p { a href=(web.link(BASE)) id="back-to-notices" { "‹ 全部通知" } }
                (body)
            },
        ),
    ))
}

#[handler]
async fn parent_picture(web: Web, Path((id, n)): Path<(i64, usize)>) -> PageResult {
    picture(&web, id, n).await
}
