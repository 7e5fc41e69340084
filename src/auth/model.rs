//! Roles, permissions and the authenticated caller.

use serde::{Deserialize, Serialize};

use crate::tenancy::model::TenantKind;

/// Every role of the platform. The operator's work is split three ways (三员分立).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员
    OperatorSys,
    /// 安全管理员
    OperatorSec,
    /// 审计管理员
    OperatorAudit,
    /// 街道教体中心
    BureauOfficer,
    /// 学校管理员
    SchoolAdmin,
    /// 班主任
    HomeroomTeacher,
    /// 任课教师
    Teacher,
    /// 巡课（只读）
    Inspector,
    /// 家长
    Parent,
    /// 机构管理员
    AgencyAdmin,
    /// 机构教师
    AgencyTeacher,
}

pub const ALL_ROLES: [Role; 11] = [
    Role::OperatorSys,
    Role::OperatorSec,
    Role::OperatorAudit,
    Role::BureauOfficer,
    Role::SchoolAdmin,
    Role::HomeroomTeacher,
    Role::Teacher,
    Role::Inspector,
    Role::Parent,
    Role::AgencyAdmin,
    Role::AgencyTeacher,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::OperatorSys => "operator_sys",
            Role::OperatorSec => "operator_sec",
            Role::OperatorAudit => "operator_audit",
            Role::BureauOfficer => "bureau_officer",
            Role::SchoolAdmin => "school_admin",
            Role::HomeroomTeacher => "homeroom_teacher",
            Role::Teacher => "teacher",
            Role::Inspector => "inspector",
            Role::Parent => "parent",
            Role::AgencyAdmin => "agency_admin",
            Role::AgencyTeacher => "agency_teacher",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::OperatorSys => "系统管理员",
            Role::OperatorSec => "安全管理员",
            Role::OperatorAudit => "审计管理员",
            Role::BureauOfficer => "街道教体中心",
            Role::SchoolAdmin => "学校管理员",
            Role::HomeroomTeacher => "班主任",
            Role::Teacher => "任课教师",
            Role::Inspector => "巡课人员",
            Role::Parent => "家长",
            Role::AgencyAdmin => "机构管理员",
            Role::AgencyTeacher => "机构教师",
        }
    }

    /// The Casbin domain the role acts in.
    pub fn domain(self) -> Domain {
        match self {
            Role::OperatorSys | Role::OperatorSec | Role::OperatorAudit | Role::BureauOfficer => {
                Domain::Platform
            }
            Role::SchoolAdmin
            | Role::HomeroomTeacher
            | Role::Teacher
            | Role::Inspector
            | Role::Parent => Domain::School,
            Role::AgencyAdmin | Role::AgencyTeacher => Domain::Agency,
        }
    }

    /// Admin roles must add a TOTP second factor (等保).
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Role::OperatorSys
                | Role::OperatorSec
                | Role::OperatorAudit
                | Role::BureauOfficer
                | Role::SchoolAdmin
                | Role::AgencyAdmin
        )
    }

    /// Staff passwords expire after 90 days; parents usually sign in by SMS code.
    pub fn is_staff(self) -> bool {
        self != Role::Parent
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Platform,
    School,
    Agency,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Platform => "platform",
            Domain::School => "school",
            Domain::Agency => "agency",
        }
    }

    pub fn of_tenant(kind: TenantKind) -> Self {
        match kind {
            TenantKind::School => Domain::School,
            TenantKind::Agency => Domain::Agency,
        }
    }
}

/// What a route needs, declared next to the route (`const ... : Permission`). The test
/// suite walks every operation of the OpenAPI document against this registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub operation_id: &'static str,
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (sign-in itself).
    Public,
    /// Any signed-in account, acting on itself.
    SignedIn,
    /// A role in the request's tenant holding `obj`/`act` in the tenant's domain.
    Tenant {
        obj: &'static str,
        act: &'static str,
    },
    /// A platform role holding `obj`/`act`.
    Platform {
        obj: &'static str,
        act: &'static str,
    },
}

impl Permission {
    pub const fn public(operation_id: &'static str) -> Self {
        Self {
            operation_id,
            access: Access::Public,
        }
    }

    pub const fn signed_in(operation_id: &'static str) -> Self {
        Self {
            operation_id,
            access: Access::SignedIn,
        }
    }

    pub const fn tenant(operation_id: &'static str, obj: &'static str, act: &'static str) -> Self {
        Self {
            operation_id,
            access: Access::Tenant { obj, act },
        }
    }

    pub const fn platform(
        operation_id: &'static str,
        obj: &'static str,
        act: &'static str,
    ) -> Self {
        Self {
            operation_id,
            access: Access::Platform { obj, act },
        }
    }
}

/// One role an account holds, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub role: Role,
    pub tenant_id: Option<i64>,
}

/// The signed-in caller, built from a valid session.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub account_id: i64,
    pub session_id: i64,
    pub display_name: String,
    pub assignments: Vec<Assignment>,
    pub mfa_passed: bool,
    pub totp_enabled: bool,
    pub password_expired: bool,
    pub source_ip: Option<String>,
}

impl AuthContext {
    pub fn roles_in_tenant(&self, tenant_id: i64) -> Vec<Role> {
        self.assignments
            .iter()
            .filter(|a| a.tenant_id == Some(tenant_id))
            .map(|a| a.role)
            .collect()
    }

    pub fn platform_roles(&self) -> Vec<Role> {
        self.assignments
            .iter()
            .filter(|a| a.tenant_id.is_none())
            .map(|a| a.role)
            .collect()
    }

    pub fn is_admin(&self) -> bool {
        self.assignments.iter().any(|a| a.role.is_admin())
    }

    pub fn is_staff(&self) -> bool {
        self.assignments.iter().any(|a| a.role.is_staff())
    }
}
