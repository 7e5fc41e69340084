//! The permissions of the outbox's pages.

use crate::auth::model::Permission;

pub const QUEUE: Permission =
    Permission::platform("platform_outbox", "platform.integrations", "read");
pub const DEAD_HANDLE: Permission =
    Permission::platform("platform_outbox_dead", "platform.integrations", "write");
pub const DEAD_DISCARD: Permission =
    Permission::platform("platform_outbox_discard", "platform.integrations", "write");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[QUEUE, DEAD_HANDLE, DEAD_DISCARD];
