//! The simulated cashier (收银台): a small server-rendered Chinese page where the payer
//! confirms or cancels, standing in for WeChat's own payment sheet. Rendering only; the
//! payment itself is [`Simulator::pay`](super::Simulator::pay). Must escape everything the
//! merchant supplied (the description is merchant text).

use super::repo::OrderRow;

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `12345` fen → `123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; background: #ededed; margin: 0; }}
.sheet {{ max-width: 420px; margin: 40px auto; background: #fff; border-radius: 12px; padding: 28px 24px; text-align: center; }}
.banner {{ font-size: 12px; color: #b26a00; background: #fff4e0; border-radius: 6px; padding: 6px; margin-bottom: 18px; }}
.merchant {{ color: #555; font-size: 15px; }}
.desc {{ color: #333; font-size: 15px; margin-top: 6px; }}
.amount {{ font-size: 40px; font-weight: 600; margin: 18px 0 24px; }}
.amount small {{ font-size: 22px; }}
button {{ width: 100%; padding: 12px; font-size: 17px; border-radius: 8px; border: 0; margin-top: 10px; }}
.pay {{ background: #07c160; color: #fff; }}
.cancel {{ background: #f2f2f2; color: #333; }}
.state {{ font-size: 18px; margin: 20px 0; }}
.meta {{ color: #999; font-size: 12px; margin-top: 18px; word-break: break-all; }}
</style>
</head>
<body><div class="sheet"><div class="banner">微信支付模拟收银台 · 仅供演示与测试，不产生真实扣款</div>{body}</div></body>
</html>"#
    )
}

/// The cashier for an order that can still be paid.
pub fn checkout(order: &OrderRow, merchant_name: &str, redirect_url: Option<&str>) -> String {
    let prepay = escape(&order.prepay_id);
    let back = redirect_url
        .map(|r| {
            format!(
                r#"<input type="hidden" name="redirect_url" value="{}">"#,
                escape(r)
            )
        })
        .unwrap_or_default();
    page(
        "微信支付",
        &format!(
            r#"<div class="merchant">{merchant}</div>
<div class="desc">{desc}</div>
<div class="amount"><small>¥</small>{amount}</div>
<form method="post" action="cashier">
<input type="hidden" name="prepay_id" value="{prepay}">{back}
<button class="pay" type="submit" name="action" value="pay">确认支付</button>
<button class="cancel" type="submit" name="action" value="cancel">取消</button>
</form>
<div class="meta">商户号 {mchid} · 商户订单号 {no}</div>"#,
            merchant = escape(merchant_name),
            desc = escape(&order.description),
            amount = yuan(order.total),
            mchid = escape(&order.mchid),
            no = escape(&order.out_trade_no),
        ),
    )
}

/// The merchant page the payer returns to (WeChat's H5 `redirect_url`): only a path on this
/// site, so the cashier cannot be used to send payers elsewhere.
pub fn safe_redirect(r: Option<&str>) -> Option<&str> {
    r.filter(|u| u.starts_with('/') && !u.starts_with("//") && !u.contains('\\'))
}

/// `page` with a "return to the merchant" link at its end.
pub fn with_back_link(page: String, redirect_url: Option<&str>) -> String {
    match redirect_url {
        Some(r) => page.replacen(
            "</body>",
            &format!(r#"<p style="text-align:center"><a class="back" id="back-to-merchant" href="{}">返回商户</a></p></body>"#, escape(r)),
            1,
        ),
        None => page,
    }
}

/// A page that only states something (paid, cancelled, closed, unknown).
pub fn notice(title: &str, message: &str, order: Option<&OrderRow>) -> String {
    let meta = order
        .map(|o| {
            format!(
                r#"<div class="amount"><small>¥</small>{}</div><div class="meta">商户订单号 {}{}</div>"#,
                yuan(o.total),
                escape(&o.out_trade_no),
                o.transaction_id
                    .as_deref()
                    .map(|t| format!(" · 微信支付单号 {}", escape(t)))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    page(
        title,
        &format!(r#"<div class="state">{}</div>{meta}"#, escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_yuan_with_two_decimals() {
        assert_eq!(yuan(12_345), "123.45");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(100), "1.00");
    }

    #[test]
    fn merchant_text_is_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
