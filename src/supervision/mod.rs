//! The city supervision push (R-X01, issue #15): the field sets F1–F6 pushed to the city
//! bureau's supervision platform as things change, through the outbox, over the protocol
//! of docs/supervision-protocol.md (SM2withSM3 signatures, SM4 personal fields, message ids
//! for idempotency), and the receiver simulator this server serves under `/sim/supervision`
//! as the embedded default.
//!
//! - [`push`]: what features call in their transactions (a [`model::Record`] per change);
//! - [`client`]: the outbox handler that signs and sends;
//! - [`sim`]: the receiver simulator (verifies, decrypts, dedups, stores per field set,
//!   fault control), its endpoint in [`sim_api`] and its inbox in [`pages`].
//!
//! Owns `platform.supsim_*` (migration `0009_supervision_sim.sql`). Must never send a
//! personal field in clear, nor start in live mode pointing at the simulator or a loopback
//! address.

pub mod api;
pub mod client;
pub mod crypto;
pub mod feature;
pub mod model;
pub mod pages;
pub mod perms;
pub mod protocol;
pub mod push;
pub mod runtime;
pub mod sim;
pub mod sim_api;

pub use model::SIM_PREFIX;
pub use runtime::Supervision;

/// Privileges on the simulator's tables, for the role bootstrap. Replace `{app}`.
pub const APP_GRANTS: &str = "\
grant select, insert, update, delete on platform.supsim_nonces, platform.supsim_messages, \
platform.supsim_records, platform.supsim_control to {app};
";
