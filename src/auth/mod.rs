//! Sign-in, sessions, roles and permissions (issue #3; R-X04 等保, R-X05).
//!
//! Owns accounts (keyed by phone, stored encrypted), server-side sessions, the second
//! factor, SMS codes, rate limits, the Casbin policy and role assignments, and the guard
//! every protected route calls. Must never let a request act in a tenant where the caller
//! holds no role, nor answer a denial without auditing it.

pub mod api;
pub mod authz;
pub mod bootstrap;
pub mod error;
pub mod feature;
pub mod grants;
pub mod guard;
pub mod lookup;
pub mod model;
pub mod pages;
pub mod password;
pub mod perms;
pub mod platform_api;
pub mod ratelimit;
pub mod repo;
pub mod role_api;
pub mod roles;
pub mod service;
pub mod sms;
pub mod totp;
