//! The platform console (R-B01, R-X02, R-X03; issue #7 item 2): the pages of the street's
//! bureau officer and of the operator's three roles, under `/console/…` with no tenant.
//!
//! - `/console/platform`: the tenant registry (schools, agencies, status, schema version);
//! - `/console/platform/audit`: audit trail search, CSV export and the chain check;
//! - `/console/platform/roles`: the security administrator's operator roles;
//! - `/console/platform/sim/sms`, `…/sim/wxpay`, `…/sim/bank`: what the built-in SMS,
//!   WeChat Pay and custodian bank simulators hold, and the escrow day close;
//! - `/console/bureau`: the bureau's overview of its schools and agencies, with the escrow
//!   figures the platform ledger has for each school.
//!
//! Every page checks the platform permission of the JSON endpoint it mirrors (denials are
//! audited by the guard) and calls the same service functions. Must never read a tenant
//! schema: cross-tenant figures come from `platform` (registry, ledger, simulators) only.

mod audit;
mod roles;
mod sims;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use poem::{get, handler, post, Route};

use crate::auth::model::{Access, Domain, Permission};
use crate::auth::perms::{AUDIT_SEARCH, ROLES_LIST, TENANTS_LIST};
use crate::clock::cst;
use crate::error::ApiError;
use crate::ledger::{self, Money, TenantId};
use crate::tenancy::lookup as registry;
use crate::tenancy::model::{TenantKind, TenantRecord};
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::yuan;
use crate::web::nav::platform_page;
use crate::web::session::{see_other, Web};

const TENANTS: &str = "/console/platform";
const AUDIT: &str = "/console/platform/audit";
const ROLES: &str = "/console/platform/roles";
const SMS: &str = "/console/platform/sim/sms";
const WXPAY: &str = "/console/platform/sim/wxpay";
const BANK: &str = "/console/platform/sim/bank";
const BUREAU: &str = "/console/bureau";

pub fn mount(r: Route) -> Route {
    r.at(TENANTS, get(tenant_list))
        .at(AUDIT, get(audit::audit_search))
        .at("/console/platform/audit/export", get(audit::audit_export))
        .at("/console/platform/audit/verify", get(audit::audit_verify))
        .at(ROLES, get(roles::roles_page).post(roles::roles_submit))
        .at(SMS, get(sims::sms_outbox))
        .at(WXPAY, get(sims::wxpay_inbox))
        .at(BANK, get(sims::bank_page))
        .at("/console/platform/sim/bank/close", post(sims::bank_close))
        .at(BUREAU, get(bureau))
}

/// Checks a platform permission as the API does (the request's tenant, if the URL carried
/// one, plays no part in a platform permission).
async fn allow(web: &Web, perm: &Permission) -> Result<(), WebError> {
    web.authorize_platform(perm).await
}

/// Whether the caller holds `perm`, without a denial being audited: for choosing what to
/// offer, never instead of [`allow`].
fn may(web: &Web, perm: &Permission) -> bool {
    match perm.access {
        Access::Platform { obj, act } => {
            web.app
                .authz
                .any_allows(&web.auth.platform_roles(), Domain::Platform, obj, act)
        }
        _ => false,
    }
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Api(ApiError::internal(e))
}

fn kind_label(t: &TenantRecord) -> &'static str {
    t.kind().map(TenantKind::label).unwrap_or("未知")
}

fn status_tag(t: &TenantRecord) -> Markup {
    html! {
        @if t.is_suspended() { span.tag.bad { "已暂停" } } @else { span.tag { "正常" } }
    }
}

/// A Beijing-time timestamp to the second (audit and simulator records).
use crate::web::layout::when_s;

/// A `YYYY-MM-DD` date typed into a field; the Chinese message for the field otherwise.
fn parse_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| "日期格式应为 YYYY-MM-DD，例如 2026-10-12".to_string())
}

/// The first instant of `date` in Beijing time.
fn day_start(date: NaiveDate) -> Option<DateTime<Utc>> {
    date.and_hms_opt(0, 0, 0)
        .and_then(|t| cst().from_local_datetime(&t).single())
        .map(|t| t.with_timezone(&Utc))
}

pub(super) use crate::web::forms::FormError;

// ---------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------

#[handler]
async fn tenant_list(web: Web) -> PageResult {
    // The three operator roles are kept apart (三员分立): an audit or security administrator
    // opening the operator's console lands here too, so send them to what they may use
    // instead of a refusal.
    if !may(&web, &TENANTS_LIST) {
        if may(&web, &ROLES_LIST) {
            return Ok(see_other(ROLES));
        }
        if may(&web, &AUDIT_SEARCH) {
            return Ok(see_other(AUDIT));
        }
    }
    allow(&web, &TENANTS_LIST).await?;
    let list = registry::list(&web.app.db_app).await?;
    let schools = list.iter().filter(|t| t.is_school()).count();
    let suspended = list.iter().filter(|t| t.is_suspended()).count();
    page(platform_page(
        &web,
        "租户",
        TENANTS,
        html! {
            p.muted {
                "共 " (list.len()) " 个租户：学校 " (schools) " 所，机构 " (list.len() - schools) " 家"
                @if suspended > 0 { "，已暂停 " (suspended) " 个" }
                "。"
            }
            div.table-wrap {
                table #tenants {
                    thead { tr { th { "代码" } th { "名称" } th { "类型" } th { "状态" } th.num { "数据版本" } } }
                    tbody {
                        @for t in &list {
                            tr data-code=(t.code) {
                                td { code { (t.code) } }
                                td { (t.name) }
                                td { (kind_label(t)) }
                                td { (status_tag(t)) }
                                td.num { (t.schema_version) }
                            }
                        }
                    }
                }
            }
            p.muted {
                small {
                    "租户由清单文件开通（afterschool tenant apply）；暂停与恢复在服务器上执行 "
                    code { "afterschool tenant suspend|resume <代码>" }
                    "，暂停后该租户的所有请求均被拒绝。"
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------
// The bureau's overview
// ---------------------------------------------------------------------------------------

/// One school's escrow figures from the platform ledger.
struct SchoolFigures {
    paid_orders: usize,
    paid: Money,
    released: Money,
    refunded: Money,
    held: Money,
    payable: Money,
}

fn add(total: &mut Money, m: Money) {
    *total = total.checked_add(m).unwrap_or(*total);
}

#[handler]
async fn bureau(web: Web) -> PageResult {
    allow(&web, &TENANTS_LIST).await?;
    let list = registry::list(&web.app.db_app).await?;
    let today = web.app.clock.today();
    let since = DateTime::<Utc>::UNIX_EPOCH;
    // The ledger's periods are half-open and postings carry the instant they were made, so
    // the period ends when today does: everything up to now, this very instant included.
    let until = today
        .succ_opt()
        .and_then(day_start)
        .ok_or_else(|| internal("date out of range"))?;
    let mut figures: Vec<(&TenantRecord, SchoolFigures)> = Vec::new();
    {
        // The ledger lives in `platform`: one school's figures are a few indexed queries
        // there, never a read of the school's own schema.
        let mut conn = web.app.db_app.acquire().await?;
        for t in list.iter().filter(|t| t.is_school()) {
            let s = ledger::tenant_statement(&mut conn, TenantId(t.id), since, until)
                .await
                .map_err(|e| WebError::Api(ApiError::from_domain(&e)))?;
            let orders: HashSet<i64> = s
                .lines
                .iter()
                .filter(|l| !l.paid.is_zero())
                .map(|l| l.order_id.0)
                .collect();
            figures.push((
                t,
                SchoolFigures {
                    paid_orders: orders.len(),
                    paid: s.totals.paid,
                    released: s.totals.released,
                    refunded: s.totals.refunds_settled,
                    held: s.totals.held_at_end,
                    payable: s.totals.payable_at_end,
                },
            ));
        }
    }
    let mut sum = SchoolFigures {
        paid_orders: 0,
        paid: Money::ZERO,
        released: Money::ZERO,
        refunded: Money::ZERO,
        held: Money::ZERO,
        payable: Money::ZERO,
    };
    for (_, f) in &figures {
        sum.paid_orders += f.paid_orders;
        add(&mut sum.paid, f.paid);
        add(&mut sum.released, f.released);
        add(&mut sum.refunded, f.refunded);
        add(&mut sum.held, f.held);
        add(&mut sum.payable, f.payable);
    }
    let agencies: Vec<&TenantRecord> = list.iter().filter(|t| t.is_agency()).collect();
    let suspended = list.iter().filter(|t| t.is_suspended()).count();
    let m = |m: Money| yuan(&m.to_string());
    page(platform_page(
        &web,
        "辖区概况",
        BUREAU,
        html! {
            div.card #bureau-summary {
                dl.kv {
                    dt { "学校" } dd { (figures.len()) " 所" }
                    dt { "服务机构" } dd { (agencies.len()) " 家" }
                    @if suspended > 0 { dt { "已暂停" } dd { span.tag.bad { (suspended) " 个" } } }
                    dt { "已缴费订单" } dd #sum-orders { (sum.paid_orders) " 笔" }
                    dt { "家长缴费合计" } dd #sum-paid { (m(sum.paid)) }
                    dt { "存管账户在管" } dd #sum-held { (m(sum.held)) }
                }
                p.muted { small { "金额来自存管账本，统计至 " (today) "（含当日）。" } }
                p.muted #coming-soon { "各校课后服务的参与人数、课程开设和考勤等统计将在后续版本提供；目前可在此查看辖区学校、机构与缴费存管情况。" }
            }
            h2 { "学校" }
            div.table-wrap {
                table #bureau-schools {
                    thead { tr {
                        th { "学校" } th { "状态" } th.num { "已缴费订单" } th.num { "缴费" }
                        th.num { "已结算给学校" } th.num { "已退款" } th.num { "存管在管" } th.num { "待划付学校" }
                    } }
                    tbody {
                        @for (t, f) in &figures {
                            tr data-code=(t.code) {
                                td { (t.name) }
                                td { (status_tag(t)) }
                                td.num { (f.paid_orders) }
                                td.num { (m(f.paid)) }
                                td.num { (m(f.released)) }
                                td.num { (m(f.refunded)) }
                                td.num { (m(f.held)) }
                                td.num { (m(f.payable)) }
                            }
                        }
                    }
                }
            }
            h2 { "服务机构" }
            @if agencies.is_empty() { p.muted { "还没有登记服务机构" } }
            @else {
                div.table-wrap {
                    table #bureau-agencies {
                        thead { tr { th { "机构" } th { "状态" } } }
                        tbody {
                            @for a in &agencies {
                                tr data-code=(a.code) { td { (a.name) } td { (status_tag(a)) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}
