//! The parent's 我的 page: the children the school lists for this phone (with their class
//! as parents know it, R-S02), the consents to the personal-data rules with a way to
//! withdraw one (the rules page sends parents here), the phone the account signs in with
//! (masked), what notifications there are, and signing out.
//!
//! Reads and changes go through the same service calls as `/me/consents` and the
//! children's endpoints; nothing here decides whether a consent may be withdrawn.

use maud::html;
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::enrollment::pages::parent::{class_label, family};
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::{self, notice, when, Tone};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/m/me", get(me_page))
        .at("/m/me/consents/:id/withdraw", post(withdraw))
}

#[derive(Debug, Default, Deserialize)]
struct MeQuery {
    done: Option<String>,
}

#[handler]
async fn me_page(web: Web, Query(q): Query<MeQuery>) -> PageResult {
    // Without a consent the children are not shown: the rules page comes first.
    let fam = match family(&web, None).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let consents = crate::auth::lookup::consents(&web.app.db_app, web.auth.account_id).await?;
    let phone = crate::auth::service::my_phone_masked(&web.app, &web.auth)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    page(layout::mobile(
        &web,
        "我的",
        "/m/me",
        html! {
            @if q.done.as_deref() == Some("withdrawn") {
                (notice(Tone::Ok, "已撤回同意"))
            }
            div.card #me-account {
                h3 { "账号" }
                dl.kv {
                    dt { "姓名" } dd { (web.auth.display_name) }
                    dt { "手机号" } dd #me-phone { (phone) }
                }
                p.muted { small { "手机号以学校登记的监护人信息为准，如需更换请联系班主任。" } }
            }
            div.card #me-children {
                h3 { "我的孩子" }
                ul.list {
                    @for c in &fam.list {
                        li {
                            div.row {
                                strong { (c.name) }
                                span.muted { (class_label(c)) }
                            }
                            a href=(web.link(&format!("/m/records?child={}", c.id))) { "报名与缴费记录 ›" }
                        }
                    }
                }
            }
            div.card #me-consents {
                h3 { "个人信息授权" }
                ul.list {
                    @for c in &consents {
                        li.consent data-id=(c.id) data-withdrawn=(c.withdrawn_at.is_some()) {
                            div.row {
                                span { "《个人信息处理规则》" (c.terms_version) }
                                @if c.withdrawn_at.is_some() { span.tag.grey { "已撤回" } }
                                @else { span.tag { "已同意" } }
                            }
                            small.muted {
                                "同意于 " (when(c.granted_at))
                                @if let Some(t) = c.withdrawn_at { " · 撤回于 " (when(t)) }
                            }
                            @if c.withdrawn_at.is_none() {
                                form.inline method="post" action=(web.post_url(&format!("/m/me/consents/{}/withdraw", c.id))) {
                                    " " button.link type="submit" id={ "withdraw-" (c.id) } { "撤回同意" }
                                }
                            }
                        }
                    }
                }
                p.muted { small { "撤回后将不能在线报名、缴费和查看孩子信息；已报名的课程不受影响。重新同意后即可继续使用。" } }
            }
            div.card #me-notifications {
                h3 { "消息通知" }
                ul.list {
                    li { "报名成功、退款到账、退课与调班审核结果会发消息给您：开启微信提醒后在微信中收到，否则以短信发送。" }
                    li { "学校通知公告和考勤提醒：功能上线后同样在这里接收。" }
                }
                a href=(web.link("/m/messages")) id="me-messages" { "消息提醒设置与最近消息 ›" }
            }
            form method="post" action=(format!("/logout?_csrf={}", web.csrf())) {
                button.block.secondary type="submit" id="me-sign-out" { "退出登录" }
            }
        },
    ))
}

#[handler]
async fn withdraw(web: Web, Path(id): Path<i64>) -> PageResult {
    crate::auth::service::withdraw_consent(&web.app, &web.auth, id)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    // Withdrawn: the parent pages show the rules again until agreed to anew.
    Ok(see_other(&web.link("/m/me?done=withdrawn")))
}
