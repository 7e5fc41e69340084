//! The supervision receiver simulator's inbox (`/console/platform/sim/supervision`): what
//! it holds per field set, its counters (duplicates, out of order, refused), the newest
//! records with personal fields masked, and the fault control.

use maud::html;
use poem::web::{Form, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::supervision::model::{FieldSet, PERSONAL};
use crate::supervision::perms::{SIM_FAULT, SIM_INBOX};
use crate::supervision::sim::{self, Fault};
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::{notice, when_s, Tone};
use crate::web::nav::platform_page;
use crate::web::session::{see_other, Web};

pub const PATH: &str = "/console/platform/sim/supervision";
const ROWS: i64 = 100;

pub fn mount(r: Route) -> Route {
    r.at(PATH, get(inbox))
        .at("/console/platform/sim/supervision/fault", post(set_fault))
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Api(ApiError::internal(e))
}

#[derive(Debug, Deserialize)]
struct InboxQuery {
    set: Option<String>,
    done: Option<String>,
}

/// A personal value shown masked: its first and last characters.
fn masked(clear: &str) -> String {
    let chars: Vec<char> = clear.chars().collect();
    match chars.len() {
        0..=4 => "****".into(),
        n => format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[n - 4..].iter().collect::<String>()
        ),
    }
}

/// The record's fields for the table: text fields as sent, personal ones decrypted and
/// masked.
fn fields(receiver: &sim::Receiver, body: &Value) -> String {
    let Some(map) = body.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "platformNo")
        .map(|(k, v)| {
            let shown = if PERSONAL.contains(&k.as_str()) {
                v.as_str()
                    .and_then(|c| receiver.decrypt(c))
                    .map(|c| masked(&c))
                    .unwrap_or_else(|| "（无法解密）".into())
            } else {
                match v {
                    Value::String(s) => s.chars().take(40).collect(),
                    other => other.to_string(),
                }
            };
            format!("{k}={shown}")
        })
        .collect::<Vec<_>>()
        .join("；")
}

#[handler]
async fn inbox(web: Web, Query(q): Query<InboxQuery>) -> PageResult {
    web.authorize_platform(&SIM_INBOX).await?;
    let Some(receiver) = web.app.supervision.sim.clone() else {
        return page(platform_page(
            &web,
            "市监管平台",
            PATH,
            notice(Tone::Warn, "当前为正式（live）模式，数据推送到市教育局监管平台，没有模拟器可查看。推送队列见“对外推送队列”。"),
        ));
    };
    let set = q.set.as_deref().and_then(FieldSet::parse);
    let c = sim::counters(&web.app.db_app).await.map_err(internal)?;
    let rows = sim::records(&web.app.db_app, set.map(FieldSet::as_str), ROWS)
        .await
        .map_err(internal)?;
    let writes = web.app.authz.any_allows(
        &web.auth.platform_roles(),
        crate::auth::model::Domain::Platform,
        "platform.simulators",
        "write",
    );
    let count_of = |f: FieldSet| {
        c.by_set
            .iter()
            .find(|(s, ..)| s == f.as_str())
            .map(|(_, n, d)| (*n, *d))
            .unwrap_or((0, 0))
    };
    page(platform_page(
        &web,
        "市监管平台模拟器",
        PATH,
        html! {
            @if q.done.as_deref() == Some("fault") { (notice(Tone::Ok, "故障模式已更新")) }
            (notice(Tone::Warn, "市教育局课后服务监管平台的模拟接收端：验证 SM2 签名、解密 SM4 字段、按消息编号去重，保存每条记录的最新版本。演示和测试环境使用，不向外发送数据。"))
            div.stats #supsim-stats {
                div.stat { span.label { "已接收消息" } strong #supsim-messages { (c.messages) } }
                div.stat { span.label { "重复投递（已去重）" } strong #supsim-duplicates { (c.duplicates) } }
                div.stat { span.label { "乱序到达" } strong #supsim-out-of-order { (c.out_of_order) } }
                div.stat { span.label { "故障拒收请求" } strong #supsim-refused { (c.refused) } }
                div.stat { span.label { "校验不通过" } strong #supsim-rejected { (c.rejected) } }
            }
            h2 { "按字段集" }
            div.table-wrap { table #supsim-sets {
                thead { tr { th { "字段集" } th { "名称" } th.num { "记录数" } th.num { "其中已删除" } } }
                tbody {
                    @for f in FieldSet::ALL {
                        @let (n, d) = count_of(f);
                        tr data-set=(f.as_str()) {
                            td { a href=(format!("{PATH}?set={}", f.as_str())) { (f.as_str()) } }
                            td { (f.label()) } td.num { (n) } td.num { (d) }
                        }
                    }
                }
            } }
            h2 { "故障模拟" }
            p { "当前：" strong #supsim-fault { (c.fault.label()) } @if c.delay_ms > 0 { "，延迟 " (c.delay_ms) " 毫秒" } }
            @if writes {
                form.card.stack method="post" action=(web.post_url("/console/platform/sim/supervision/fault")) id="supsim-fault-form" {
                    div.filters {
                        div.field { label for="fault" { "模式" }
                            select id="fault" name="fault" {
                                @for f in Fault::ALL { option value=(f.as_str()) selected[f == c.fault] { (f.label()) } }
                            }
                        }
                        div.field { label for="delay_ms" { "延迟（毫秒，应答缓慢/超时用）" }
                            input type="number" id="delay_ms" name="delay_ms" min="0" max="120000" value=(c.delay_ms);
                        }
                    }
                    button type="submit" { "应用" }
                }
            }
            h2 { "最新记录" @if let Some(f) = set { "（" (f.as_str()) " " (f.label()) "）" } }
            @if rows.is_empty() { p.muted { "还没有收到记录" } }
            @else {
                div.table-wrap { table #supsim-records {
                    thead { tr { th { "字段集" } th { "记录编号" } th { "操作" } th.num { "版本" } th { "内容（个人信息已脱敏）" } th { "更新时间" } } }
                    tbody {
                        @for r in &rows {
                            tr data-set=(r.field_set) data-record=(r.record_id) data-op=(r.op) {
                                td { (r.field_set) }
                                td { code { (r.record_id) } }
                                td { (if r.op == "delete" { "删除" } else { "新增/更新" }) }
                                td.num { (r.version) }
                                td { small { (fields(&receiver, &r.body)) } }
                                td { (when_s(r.updated_at)) }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
struct FaultForm {
    fault: String,
    #[serde(default)]
    delay_ms: String,
}

#[handler]
async fn set_fault(web: Web, Form(f): Form<FaultForm>) -> PageResult {
    web.authorize_platform(&SIM_FAULT).await?;
    let Some(fault) = Fault::parse(&f.fault) else {
        return Err(WebError::Api(ApiError::new(
            crate::kernel::error::ErrorKind::Unprocessable,
            "SIM_FAULT_INVALID",
            "请选择故障模式",
            serde_json::json!({ "fault": f.fault }),
        )));
    };
    let delay = f.delay_ms.trim().parse::<u64>().unwrap_or(0).min(120_000);
    apply_fault(&web.app, &web.auth, fault, delay)
        .await
        .map_err(internal)?;
    Ok(see_other(&format!("{PATH}?done=fault")))
}

/// Sets the simulator's fault mode, audited (the page and the API).
pub async fn apply_fault(
    st: &crate::kernel::ctx::Ctx,
    auth: &crate::auth::model::AuthContext,
    fault: Fault,
    delay: u64,
) -> Result<(), sqlx::Error> {
    sim::set_fault(&st.db_app, fault, delay).await?;
    st.audit_event(
        crate::audit::AuditEvent::new(
            "supervision.sim.fault",
            "supervision:sim",
            crate::audit::Outcome::Success,
        )
        .who(Some(auth.account_id), None)
        .with_ip(auth.source_ip.clone())
        .details(serde_json::json!({ "fault": fault.as_str(), "delay_ms": delay })),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_values_are_masked() {
        assert_eq!(super::masked("440101198001011234"), "440****1234");
        assert_eq!(super::masked("138"), "****");
    }
}
