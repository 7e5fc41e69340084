//! The permissions of `meals`: one constant per route, which its API handlers and its pages
//! both check, and the list the route walk and the policy check read.

use crate::auth::model::Permission;

const fn read(op: &'static str) -> Permission {
    Permission::tenant(op, "school.meals", "read")
}

const fn write(op: &'static str) -> Permission {
    Permission::tenant(op, "school.meals", "write")
}

const fn order(op: &'static str) -> Permission {
    Permission::tenant(op, "school.meals", "order")
}

const fn canteen(op: &'static str) -> Permission {
    Permission::tenant(op, "school.meals", "canteen")
}

pub const COUNTS: Permission = canteen("meal_counts");
pub const COUNTS_FILE: Permission = canteen("meal_counts_download");
const fn review(op: &'static str) -> Permission {
    Permission::tenant(op, "school.meals", "stop_review")
}

pub const PAYMENT_STATS: Permission =
    Permission::tenant("meal_payment_stats", "school.meals", "class_view");
pub const REMIND: Permission =
    Permission::tenant("meal_payment_remind", "school.meals", "class_view");
pub const STOP_FILE: Permission = order("meal_stop_request");
pub const STOP_WITHDRAW: Permission = order("meal_stop_withdraw");
pub const CHILD_STOPS: Permission = order("child_meal_stops");
pub const STOP_REGISTER: Permission = review("meal_stop_register");
pub const STOPS: Permission = review("meal_stops");
pub const STOP_APPROVE: Permission = review("meal_stop_approve");
pub const STOP_REJECT: Permission = review("meal_stop_reject");
pub const ITEMS: Permission = read("meal_items");
pub const ITEM_CREATE: Permission = write("meal_item_create");
pub const ITEM_UPDATE: Permission = write("meal_item_update");
pub const ITEM_PUBLISH: Permission = write("meal_item_publish");
pub const ITEM_WITHDRAW: Permission = write("meal_item_withdraw");
pub const PACKAGES: Permission = read("meal_packages");
pub const PACKAGE_CREATE: Permission = write("meal_package_create");
pub const PACKAGE_UPDATE: Permission = write("meal_package_update");
pub const PACKAGE_PUBLISH: Permission = write("meal_package_publish");
pub const PACKAGE_WITHDRAW: Permission = write("meal_package_withdraw");
pub const MENU: Permission = read("meal_menu");
pub const MENU_SET: Permission = write("meal_menu_set");
pub const MENU_PICTURE_ADD: Permission = write("meal_menu_picture_add");
pub const MENU_PICTURE: Permission = read("meal_menu_picture");
pub const RULES: Permission = read("meal_rules");
pub const RULES_UPDATE: Permission = write("meal_rules_update");
pub const EXCLUDED_ADD: Permission = write("meal_excluded_day_add");
pub const EXCLUDED_REMOVE: Permission = write("meal_excluded_day_remove");
pub const OFFER: Permission = order("child_meal_offer");
pub const ORDER: Permission = order("meal_order_create");
pub const ORDER_CANCEL: Permission = order("meal_order_cancel");
pub const RECORDS: Permission = order("child_meal_orders");
pub const WEEK: Permission = order("child_meal_week");
pub const ALLERGIES: Permission = order("child_allergies");
pub const ALLERGIES_SET: Permission = order("child_allergies_set");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    REMIND,
    PAYMENT_STATS,
    STOP_FILE,
    STOP_WITHDRAW,
    CHILD_STOPS,
    STOP_REGISTER,
    STOPS,
    STOP_APPROVE,
    STOP_REJECT,
    COUNTS,
    COUNTS_FILE,
    ITEMS,
    ITEM_CREATE,
    ITEM_UPDATE,
    ITEM_PUBLISH,
    ITEM_WITHDRAW,
    PACKAGES,
    PACKAGE_CREATE,
    PACKAGE_UPDATE,
    PACKAGE_PUBLISH,
    PACKAGE_WITHDRAW,
    MENU,
    MENU_SET,
    MENU_PICTURE_ADD,
    MENU_PICTURE,
    RULES,
    RULES_UPDATE,
    EXCLUDED_ADD,
    EXCLUDED_REMOVE,
    OFFER,
    ORDER,
    ORDER_CANCEL,
    RECORDS,
    WEEK,
    ALLERGIES,
    ALLERGIES_SET,
];
