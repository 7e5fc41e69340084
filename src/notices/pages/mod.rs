//! The pages of notices: the sender's desk, in the console for a school admin
//! (`/console/notices`) and on the phone for a homeroom teacher (`/m/teacher/notices`), where
//! a notice is written, given pictures, published, edited, withdrawn and its readers seen;
//! and the parent's notices on the phone (`/m/notices`).
//!
//! Every page calls the same service function, with the same permission, as the endpoint
//! of `notices::api` it mirrors. Must never decide a scope or run SQL of its own: a refusal
//! comes from the service and is shown in Chinese next to what it is about, with the form as
//! typed.

mod parent;
mod sender;

use maud::{html, Markup};
use poem::http::header;
use poem::{Response, Route};

use crate::notices::model::{NoticeStatus, NoticeView};
use crate::notices::perms::PICTURE;
use crate::notices::service;
use crate::web::forms::actor;
use crate::web::frame::PageResult;
use crate::web::layout::when;
use crate::web::session::Web;

pub fn mount(r: Route) -> Route {
    parent::mount(sender::mount(r))
}

/// The notice after a successful change (the `done` key of the redirect).
fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("created") => "草稿已保存。可以继续添加图片，确认无误后点“发布”",
        Some("saved") => "已保存",
        Some("edited") => "已保存修改，家长会看到“已编辑”",
        Some("picture_added") => "图片已添加",
        Some("picture_removed") => "图片已删除",
        Some("published") => "通知已发布，已通知范围内的家长",
        Some("withdrawn") => "通知已撤回，家长不再看到",
        _ => return html! {},
    };
    html! { div.notice.ok id="done" { (text) } }
}

fn status_tag(s: NoticeStatus) -> Markup {
    let class = match s {
        NoticeStatus::Draft => "tag grey",
        NoticeStatus::Published => "tag ok",
        NoticeStatus::Withdrawn => "tag warn",
    };
    html! { span class=(class) data-status=(s.as_str()) { (s.label()) } }
}

/// The notice as its reader sees it: title, sender and time, text and pictures.
fn notice_body(n: &NoticeView, picture: impl Fn(usize) -> String) -> Markup {
    html! {
        article.card.notice-full id={ "notice-" (n.id) } {
            h2 #notice-title { (n.title) }
            p.muted #notice-meta {
                (n.sender)
                @if let Some(t) = n.published_at { " · " (when(t)) }
                " · 发给" (n.audience_label)
                @if let Some(t) = n.edited_at { " · " span #notice-edited { "已编辑（" (when(t)) "）" } }
            }
            div #notice-text style="white-space:pre-wrap" { (n.body) }
            @if !n.pictures.is_empty() {
                div.pictures #notice-pictures {
                    @for i in 1..=n.pictures.len() {
                        img src=(picture(i)) alt={ (n.title) " 图片" (i) } loading="lazy";
                    }
                }
            }
        }
    }
}

/// A notice's picture, read with the same permission and service as the API's
/// `GET /school/notices/:id/pictures/:n`.
async fn picture(web: &Web, id: i64, n: usize) -> PageResult {
    let mut tx = web.school_tx(&PICTURE).await?;
    let obj = service::picture(&mut tx, &actor(web), id, n).await?;
    tx.commit().await?;
    Ok(Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(obj.body.to_vec()))
}
