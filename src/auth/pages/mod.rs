//! The pages of `auth`: sign-in, and the operator's console (tenants, roles, audit, the
//! simulators' inboxes).

pub mod operator;
pub mod sign_in;
