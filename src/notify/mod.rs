//! Messages to parents and staff (issue #15, item 5): one service that sends each message
//! once, through the outbox, by WeChat subscription message (订阅通知, template per kind,
//! WeChat's field limits, the recipient's subscription) or by SMS when WeChat cannot
//! deliver it, within per-recipient rate limits.
//!
//! - [`model`]: the kinds, their templates and SMS texts, the settings;
//! - [`service`]: [`service::emit`] (features call it in their transactions), the outbox
//!   handler, the recipient's subscriptions;
//! - [`wechat`]: the client of WeChat's token and `bizsend` calls;
//! - [`sim`]: the WeChat message simulator (its endpoints in [`sim_api`]), the embedded
//!   default, with its inbox and fault control in [`pages`]. SMS goes through
//!   [`crate::auth::sms`], whose simulator has its own inbox.
//!
//! Owns `platform.notify_subscriptions`, `platform.notify_messages` and
//! `platform.wxmsg_sim_*` (migration `0010_notify.sql`). Must never send one message
//! twice, nor show a child's name to an operator unmasked.

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod runtime;
pub mod service;
pub mod sim;
pub mod sim_api;
pub mod wechat;

pub use model::{Kind, Message, NotifySettings};
pub use service::emit;

/// Privileges on the notify tables, for the role bootstrap. Replace `{app}`.
pub const APP_GRANTS: &str = "\
grant select, insert, update on platform.notify_subscriptions, platform.notify_messages to {app};
grant select, insert, update, delete on platform.wxmsg_sim_grants, platform.wxmsg_sim_inbox, \
platform.wxmsg_sim_control to {app};
";
