//! The permissions of the notify service's routes.

use crate::auth::model::Permission;

/// The signed-in user's own subscriptions and messages.
pub const MINE: Permission = Permission::signed_in("notify_mine");
pub const SUBSCRIBE_URL: Permission = Permission::signed_in("notify_subscribe_url");
pub const SUBSCRIBE: Permission = Permission::signed_in("notify_subscribe");
pub const TURN_OFF: Permission = Permission::signed_in("notify_turn_off");
/// The delivery log, for operators.
pub const LOG: Permission =
    Permission::platform("platform_notify_log", "platform.integrations", "read");
pub const SIM_INBOX: Permission =
    Permission::platform("platform_wxmsg_sim", "platform.simulators", "read");
pub const SIM_FAULT: Permission =
    Permission::platform("platform_wxmsg_sim_fault", "platform.simulators", "write");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    MINE,
    SUBSCRIBE_URL,
    SUBSCRIBE,
    TURN_OFF,
    LOG,
    SIM_INBOX,
    SIM_FAULT,
];
