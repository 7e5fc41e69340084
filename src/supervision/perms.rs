//! The permissions of the supervision simulator's pages.

use crate::auth::model::Permission;

pub const SIM_INBOX: Permission =
    Permission::platform("platform_supervision_sim", "platform.simulators", "read");
pub const SIM_FAULT: Permission = Permission::platform(
    "platform_supervision_sim_fault",
    "platform.simulators",
    "write",
);

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[SIM_INBOX, SIM_FAULT];
