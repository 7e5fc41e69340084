//! Payments (issue #6; R-P06, R-P05's refund, R-S08): a parent pays held enrollments with
//! WeChat Pay, the enrollment is confirmed only when WeChat confirms the payment (callback
//! or query), unpaid orders close with their holds, refunds give back the unreleased part.
//!
//! Owns `platform.payment_orders`, `order_lines`, `refunds`, `payment_callbacks` and
//! `wx_openids` (migration `0007_payments.sql`). Money moves through the escrow ledger
//! ([`crate::ledger`]) in the same transaction as the order or refund it belongs to;
//! WeChat is reached only through [`crate::wechatpay::WechatPay`].
//!
//! Must never: confirm an enrollment on the client's word, call WeChat inside a database
//! transaction (a slow WeChat must not hold locks), refund more than a line's unreleased
//! part, or process one callback twice.

pub mod api;
pub mod callback;
pub mod daily;
pub mod error;
pub mod feature;
pub mod model;
pub mod oauth;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod report;
pub mod service;

/// Where the H5 page starts WeChat's silent OAuth (`snsapi_base`) to learn the parent's
/// openid before a JSAPI payment.
pub const OAUTH_START_PATH: &str = "/api/v1/payments/wechatpay/oauth-url";

/// Privileges of the app login role (tenant code reaches these tables only after
/// `TenantTx::leave_role`). Replace `{app}`.
pub const APP_GRANTS: &str = "\
grant select, insert, update on platform.payment_orders, platform.order_lines, platform.refunds to {app};
grant select, insert, update on platform.wx_openids to {app};
grant select, insert on platform.payment_callbacks to {app};
";
