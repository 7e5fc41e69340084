//! The permissions of `auth`: one constant per route, which its API handlers and its
//! pages both check, and the list the route walk and the policy check read.

use super::model::Permission;

pub const TENANTS_LIST: Permission =
    Permission::platform("platform_tenants", "platform.tenants", "read");
pub const SMS_OUTBOX: Permission =
    Permission::platform("platform_sms_outbox", "platform.simulators", "read");
pub const ROLES_LIST: Permission =
    Permission::platform("platform_roles_list", "platform.roles", "read");
pub const ROLES_ASSIGN: Permission =
    Permission::platform("platform_roles_assign", "platform.roles", "write");
pub const AUDIT_SEARCH: Permission =
    Permission::platform("platform_audit_search", "platform.audit", "read");
pub const AUDIT_EXPORT: Permission =
    Permission::platform("platform_audit_export", "platform.audit", "read");
pub const AUDIT_VERIFY: Permission =
    Permission::platform("platform_audit_verify", "platform.audit", "read");
pub const LIST: Permission = Permission::tenant("roles_list", "tenant.roles", "read");
pub const LOGIN: Permission = Permission::public("auth_login");
pub const SMS_SEND: Permission = Permission::public("auth_sms_send");
pub const SMS_LOGIN: Permission = Permission::public("auth_sms_login");
pub const LOGOUT: Permission = Permission::signed_in("auth_logout");
pub const PASSWORD: Permission = Permission::signed_in("auth_password_change");
pub const TOTP_SETUP: Permission = Permission::signed_in("auth_totp_setup");
pub const TOTP_ENABLE: Permission = Permission::signed_in("auth_totp_enable");
pub const ME: Permission = Permission::signed_in("me_get");
pub const CONSENTS: Permission = Permission::signed_in("me_consents");
pub const CONSENT_GRANT: Permission = Permission::signed_in("me_consent_grant");
pub const CONSENT_WITHDRAW: Permission = Permission::signed_in("me_consent_withdraw");
pub const ACCOUNTS_CREATE: Permission =
    Permission::platform("platform_accounts_create", "platform.accounts", "write");
pub const ASSIGN: Permission = Permission::tenant("roles_assign", "tenant.roles", "write");
pub const REVOKE: Permission = Permission::tenant("roles_revoke", "tenant.roles", "write");

/// Every route's permission in this feature.
pub const PERMISSIONS: &[Permission] = &[
    LOGIN,
    SMS_SEND,
    SMS_LOGIN,
    LOGOUT,
    PASSWORD,
    TOTP_SETUP,
    TOTP_ENABLE,
    ME,
    CONSENTS,
    CONSENT_GRANT,
    CONSENT_WITHDRAW,
    ACCOUNTS_CREATE,
    TENANTS_LIST,
    SMS_OUTBOX,
    ROLES_LIST,
    ROLES_ASSIGN,
    AUDIT_SEARCH,
    AUDIT_EXPORT,
    AUDIT_VERIFY,
    LIST,
    ASSIGN,
    REVOKE,
];
