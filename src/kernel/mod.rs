//! The ground floor: what every feature builds on, knowing nothing of HTTP, pages or any
//! feature.
//!
//! - [`ctx::Ctx`]: the shared context (database, clock, keys, storage, outside parties'
//!   clients, authorisation);
//! - [`tx::TenantTx`]: the one way into a tenant's schema;
//! - [`actor::Actor`]: who makes a change, for its audit record;
//! - [`ids`]: the entity id newtypes;
//! - [`text`]: enums stored in text columns (`text_column!`);
//! - [`error`]: how a refusal is described ([`error::DomainError`]) and carried across
//!   features ([`error::Refusal`]).
//!
//! Must never import `http`, `web` or a feature module.

pub mod actor;
pub mod ctx;
pub mod error;
pub mod ids;
pub mod json;
pub mod text;
pub mod tx;
