//! The permissions of `payments`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

pub const ORDER_CREATE: Permission =
    Permission::tenant("payment_order_create", "school.payments", "pay");
pub const ORDER_PAY: Permission = Permission::tenant("payment_order_pay", "school.payments", "pay");
pub const ORDER_CANCEL: Permission =
    Permission::tenant("payment_order_cancel", "school.payments", "pay");
pub const ORDERS_MINE: Permission =
    Permission::tenant("payment_orders_mine", "school.payments", "pay");
pub const ORDERS_SCHOOL: Permission =
    Permission::tenant("payment_orders_school", "school.payments", "manage");
pub const REFUND_CREATE: Permission =
    Permission::tenant("payment_refund_create", "school.payments", "manage");
pub const MEAL_REFUNDS_DUE: Permission =
    Permission::tenant("meal_refunds_due", "school.payments", "manage");
pub const MEAL_REFUND_BATCH: Permission =
    Permission::tenant("meal_refund_batch", "school.payments", "manage");
pub const DAY_CLOSE: Permission =
    Permission::platform("escrow_day_close", "platform.escrow", "manage");
pub const SETTLEMENT: Permission =
    Permission::tenant("payment_settlement", "school.payments", "manage");
pub const SETTLEMENT_FILE: Permission =
    Permission::tenant("payment_settlement_download", "school.payments", "manage");
pub const OAUTH_URL: Permission = Permission::signed_in("wechat_oauth_url");
pub const OAUTH_BIND: Permission = Permission::signed_in("wechat_openid_bind");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    ORDER_CREATE,
    ORDER_PAY,
    ORDER_CANCEL,
    ORDERS_MINE,
    ORDERS_SCHOOL,
    REFUND_CREATE,
    MEAL_REFUNDS_DUE,
    MEAL_REFUND_BATCH,
    SETTLEMENT,
    SETTLEMENT_FILE,
    OAUTH_URL,
    OAUTH_BIND,
    DAY_CLOSE,
];
