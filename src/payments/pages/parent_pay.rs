//! Paying on the parent's phone (R-P06): the pending-payment card with each booking's amount
//! and the total, paying at WeChat's cashier (H5) or sheet (JSAPI, in WeChat's browser),
//! WeChat's silent authorisation before the first JSAPI payment, and the open orders a
//! parent left unpaid, with 继续支付 and 取消订单 wherever they are shown.
//!
//! Every change goes through [`crate::payments`]'s service functions, as the API's do: an
//! order is never paid, replaced or closed here.

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Request, Response, Route};
use serde::Deserialize;

use crate::auth::guard::client_info;
use crate::enrollment::model::{EnrollmentView, OfferView};
use crate::kernel::ids::{EnrollmentId, OrderId, StudentId};
use crate::payments::error::PaymentsError;
use crate::payments::model::{NewOrder, OrderView, PayChannel};
use crate::payments::perms as pay_perms;
use crate::payments::service as pay;
use crate::web::forms::form_urlencoded;
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::{self, notice, when, yuan, Tone};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/m/pay", post(pay_now))
        .at("/m/orders/:id/pay", get(resume).post(resume))
        .at("/m/orders/:id/cancel", post(cancel))
        .at("/m/wechat-return", get(wechat_return))
}

/// Inside WeChat's browser WeChat Pay takes JSAPI orders only (H5 payment is refused
/// there); any other browser pays through the H5 cashier.
fn channel_of(req: &Request) -> PayChannel {
    let in_wechat = req
        .header("user-agent")
        .is_some_and(|ua| ua.contains("MicroMessenger"));
    if in_wechat {
        PayChannel::Jsapi
    } else {
        PayChannel::H5
    }
}

/// The caller's orders with a line for `child`, newest first.
pub async fn orders_of_child(web: &Web, child: i64) -> Result<Vec<OrderView>, WebError> {
    let tenant = web.authorize(&pay_perms::ORDERS_MINE).await?;
    Ok(pay::my_orders(&web.app, &web.auth, tenant)
        .await?
        .into_iter()
        .filter(|o| o.lines.iter().any(|l| l.student_id == StudentId(child)))
        .collect())
}

/// Whether a held enrollment is in an order that can still be paid.
pub fn in_open_order(orders: &[OrderView], enrollment: i64) -> bool {
    orders.iter().any(|o| {
        o.payable
            && o.lines
                .iter()
                .any(|l| l.enrollment_id == Some(EnrollmentId(enrollment)))
    })
}

/// 继续支付 and 取消订单 of an order that can still be paid; `back` is where cancelling
/// returns to (`home` or `records`).
pub fn order_actions(web: &Web, child: i64, o: &OrderView, back: &str) -> Markup {
    html! {
        @if o.payable {
            div.actions.order-actions {
                form.inline method="post" action=(web.post_url(&format!("/m/orders/{}/pay?child={child}", o.id))) {
                    button type="submit" id={ "resume-" (o.id) } { "继续支付" }
                }
                " "
                form.inline method="post" action=(web.post_url(&format!("/m/orders/{}/cancel?child={child}&back={back}", o.id))) {
                    button.link type="submit" id={ "cancel-order-" (o.id) } { "取消订单" }
                }
            }
        }
    }
}

/// An open order on the home page: what it pays for, each amount, the total, until when.
pub fn open_order_card(web: &Web, child: i64, o: &OrderView) -> Markup {
    html! {
        div.card.open-order id={ "open-order-" (o.id) } data-status=(o.status) {
            div.row { h3 { "待支付订单" } span.tag.warn { (o.status_label) } }
            @for l in &o.lines {
                div.row.line { span { (l.description) } span { (yuan(&l.amount)) } }
            }
            div.row.total { strong { "合计" } strong.price { (yuan(&o.amount)) } }
            p.muted { small { "请在 " (when(o.expires_at)) " 前完成支付，超时名额将自动释放" } }
            (order_actions(web, child, o, "home"))
        }
    }
}

/// The pending-payment card for held bookings not in an order yet: each with its amount
/// (as the course page quoted it) and the total of those ticked.
pub fn pay_form(
    web: &Web,
    child: i64,
    held: &[&EnrollmentView],
    offers: &[OfferView],
    key: Option<&str>,
) -> Markup {
    // One key per rendering: pressing 微信支付 twice (or the network retrying the post)
    // finds the same order instead of opening a second one.
    let key = key
        .filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let amount = |e: &EnrollmentView| {
        offers
            .iter()
            .find(|o| o.id == e.course_id)
            .map(|o| o.total.clone())
    };
    let total: rust_decimal::Decimal = held
        .iter()
        .filter_map(|e| amount(e))
        .filter_map(|a| a.parse::<rust_decimal::Decimal>().ok())
        .sum();
    // The total follows the ticks (amounts in fen: no float sums shown to parents).
    let script = r#"(function(){
var f=document.getElementById('pay-form');if(!f)return;
function sum(){var t=0;f.querySelectorAll('input[name=enrollment_id]').forEach(function(c){
if(c.checked){t+=parseInt(c.getAttribute('data-fen')||'0',10);}});
document.getElementById('pay-total').textContent='¥'+(t/100).toFixed(2);}
f.addEventListener('change',sum);})();"#;
    html! {
        form.card method="post" action=(web.post_url(&format!("/m/pay?child={child}"))) id="pay-form" {
            h3 { "待支付" }
            @for e in held {
                @let a = amount(e);
                @let fen = a.as_deref().and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
                    .map(|d| (d * rust_decimal::Decimal::from(100)).round().to_string())
                    .unwrap_or_else(|| "0".into());
                div.row.line {
                    label.inline { input type="checkbox" name="enrollment_id" value=(e.id) data-fen=(fen) checked; " " (e.course_name) }
                    span { @if let Some(a) = &a { (yuan(a)) } }
                }
                @if let Some(t) = e.hold_expires_at { p.muted { small { "名额保留至 " (when(t)) } } }
            }
            div.row.total { strong { "合计" } strong.price #pay-total { (yuan(&format!("{total:.2}"))) } }
            input type="hidden" name="key" value=(key);
            button.block type="submit" id="pay-submit" { "微信支付" }
            script { (maud::PreEscaped(script)) }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ChildOnly {
    child: Option<i64>,
}

#[handler]
async fn pay_now(web: Web, req: &Request, Query(q): Query<ChildOnly>, body: String) -> PageResult {
    // Repeated checkbox names: parsed by hand (serde's urlencoded forms keep only one).
    let (mut ids, mut meals) = (Vec::new(), Vec::new());
    let mut key = String::new();
    for (k, v) in form_urlencoded(&body) {
        match k.as_str() {
            "enrollment_id" => ids.extend(v.parse::<i64>().ok()),
            "meal_order_id" => meals.extend(v.parse::<i64>().ok()),
            "key" => key = v,
            _ => {}
        }
    }
    let child = q.child.unwrap_or_default();
    if ids.is_empty() && meals.is_empty() {
        return Ok(see_other(&web.link(&format!("/m?child={child}"))));
    }
    let tx = web.school_tx(&pay_perms::ORDER_CREATE).await?;
    let result = pay::create_order(
        &web.app,
        &web.auth,
        tx,
        NewOrder {
            enrollment_ids: ids,
            meal_order_ids: meals,
            channel: channel_of(req),
            idempotency_key: key,
        },
        client_info(req).ip,
    )
    .await;
    to_wechat(&web, child, result)
}

#[derive(Debug, Default, Deserialize)]
struct OrderQuery {
    child: Option<i64>,
    /// Where cancelling returns to: `home` or `records`.
    back: Option<String>,
}

/// 继续支付 of an order opened before, and where WeChat's authorisation comes back to.
#[handler]
async fn resume(
    web: Web,
    req: &Request,
    Path(id): Path<i64>,
    Query(q): Query<OrderQuery>,
) -> PageResult {
    let child = q.child.unwrap_or_default();
    let tx = web.school_tx(&pay_perms::ORDER_PAY).await?;
    let result = pay::pay_order(
        &web.app,
        &web.auth,
        tx,
        OrderId(id),
        channel_of(req),
        client_info(req).ip,
    )
    .await;
    to_wechat(&web, child, result)
}

#[handler]
async fn cancel(web: Web, Path(id): Path<i64>, Query(q): Query<OrderQuery>) -> PageResult {
    let child = q.child.unwrap_or_default();
    let tx = web.school_tx(&pay_perms::ORDER_CANCEL).await?;
    pay::cancel_order(&web.app, &web.auth, tx, OrderId(id)).await?;
    let to = match q.back.as_deref() {
        Some("home") => format!("/m?child={child}&done=order_cancelled"),
        _ => format!("/m/records?child={child}&done=order_cancelled"),
    };
    Ok(see_other(&web.link(&to)))
}

/// Sends the parent on to pay an order just opened or resumed: WeChat's silent
/// authorisation first when WeChat does not know the parent yet (it comes back straight to
/// the payment, no second tap), then the JSAPI sheet or the H5 cashier.
fn to_wechat(web: &Web, child: i64, result: Result<OrderView, PaymentsError>) -> PageResult {
    let back = web.link(&format!("/m/records?child={child}&done=paid"));
    let order = match result {
        Ok(o) => o,
        Err(PaymentsError::OpenidRequired { order_id: order }) => {
            let return_to = format!(
                "{}{}",
                web.app.public_base(),
                web.link(&format!("/m/wechat-return?child={child}&order={order}"))
            );
            let url = crate::payments::oauth::authorize_url(&web.app, &web.auth, &return_to)?;
            return Ok(see_other(&url));
        }
        Err(e) => return Err(e.into()),
    };
    let Some(pay) = order.pay.as_ref() else {
        return Ok(see_other(&back));
    };
    if let Some(params) = &pay.jsapi {
        return page(jsapi_page(
            web,
            &order,
            params,
            pay.cashier_url.as_deref(),
            &back,
        ));
    }
    match pay.cashier_url.clone().or(pay.h5_url.clone()) {
        Some(url) => {
            // WeChat's H5 cashier returns the payer to `redirect_url` when done.
            let sep = if url.contains('?') { '&' } else { '?' };
            Ok(see_other(&format!(
                "{url}{sep}redirect_url={}",
                urlencoding::encode(&back)
            )))
        }
        None => Ok(see_other(&back)),
    }
}

/// The JSAPI payment sheet: WeChat's `getBrandWCPayRequest` with the signed parameters. In
/// the demo (no WeChat around the page) the simulator's cashier stands in.
fn jsapi_page(
    web: &Web,
    order: &OrderView,
    p: &crate::payments::model::JsapiParamsView,
    cashier: Option<&str>,
    back: &str,
) -> Markup {
    let params = serde_json::json!({
        "appId": p.app_id, "timeStamp": p.time_stamp, "nonceStr": p.nonce_str,
        "package": p.package, "signType": p.sign_type, "paySign": p.pay_sign,
    })
    .to_string();
    let cashier = cashier.map(|c| {
        let sep = if c.contains('?') { '&' } else { '?' };
        format!("{c}{sep}redirect_url={}", urlencoding::encode(back))
    });
    // The parameters go in a data attribute (escaped by the template), never into the
    // script's source.
    let script = r#"(function(){
var el=document.getElementById('jsapi');if(!el)return;
var p=JSON.parse(el.getAttribute('data-params')),back=el.getAttribute('data-back');
function pay(){WeixinJSBridge.invoke('getBrandWCPayRequest',p,function(r){
if(r.err_msg==='get_brand_wcpay_request:ok'){location.href=back;}
else{document.getElementById('jsapi-state').textContent='支付未完成，可重新点击支付';}});}
if(typeof WeixinJSBridge==='undefined'){document.addEventListener('WeixinJSBridgeReady',pay,false);}
else{pay();}
window.payAgain=function(){if(typeof WeixinJSBridge!=='undefined'){pay();}};
})();"#;
    layout::mobile(
        web,
        "微信支付",
        "/m",
        html! {
            div.card #jsapi data-params=(params) data-back=(back) {
                h2 { (order.description) }
                @for l in &order.lines {
                    div.row.line { span { (l.description) } span { (yuan(&l.amount)) } }
                }
                div.row.total { strong { "合计" } strong.price { (yuan(&order.amount)) } }
                p #jsapi-state.muted { "正在拉起微信支付…" }
                button.block type="button" onclick="payAgain()" { "重新支付" }
            }
            @if let Some(c) = &cashier {
                (notice(Tone::Warn, "演示环境：没有真实的微信支付组件，请使用模拟收银台完成支付"))
                a.btn.block.secondary #sim-cashier href=(c) { "打开模拟收银台" }
            }
            p { a href=(back) { "查看订单" } }
            script { (maud::PreEscaped(script)) }
        },
    )
}

#[derive(Debug, Deserialize)]
struct WechatReturn {
    code: Option<String>,
    state: Option<String>,
    child: Option<i64>,
    order: Option<i64>,
}

/// Where WeChat's silent authorisation comes back: binds the openid, then straight on to
/// paying the order that asked for it.
#[handler]
async fn wechat_return(web: Web, Query(q): Query<WechatReturn>) -> Result<Response, WebError> {
    let (Some(code), Some(state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return Err(PaymentsError::OAuthCodeMissing.into());
    };
    crate::payments::oauth::bind(&web.app, &web.auth, code, state).await?;
    let child = q.child.unwrap_or_default();
    let to = match q.order {
        Some(order) => format!("/m/orders/{order}/pay?child={child}"),
        None => format!("/m?child={child}&done=wx_bound"),
    };
    Ok(see_other(&web.link(&to)))
}
