//! Who makes a change: the signed-in account and the context it acts in, which a service
//! needs for the change's audit record (actor, source address, time, audit key).

use super::ctx::Ctx;
use crate::auth::model::AuthContext;

/// The caller of a service that changes something.
pub struct Actor<'a> {
    pub st: &'a Ctx,
    pub auth: &'a AuthContext,
}
