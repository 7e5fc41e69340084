//! Tenant types: validated code, kind, status and the registry row.

use std::fmt;

use once_cell::sync::Lazy;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

static CODE_RE: Lazy<Regex> = Lazy::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"^[a-z][a-z0-9_]{1,30}$").unwrap()
});

/// A tenant code: `^[a-z][a-z0-9_]{1,30}$`. The only way to get one is [`TenantCode::parse`],
/// so schema and role names built from it are safe identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct TenantCode(String);

impl TenantCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        if CODE_RE.is_match(s) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "租户代码 '{s}' 不合法：须以小写字母开头，只含小写字母、数字和下划线，长度 2–31"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TenantCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    School,
    Agency,
}

impl TenantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::School => "school",
            TenantKind::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "school" => Some(TenantKind::School),
            "agency" => Some(TenantKind::Agency),
            _ => None,
        }
    }

    /// The embedded migration set of this kind of tenant.
    pub fn migration_path(self) -> &'static str {
        match self {
            TenantKind::School => "tenant/school",
            TenantKind::Agency => "tenant/agency",
        }
    }

    pub fn schema_name(self, code: &TenantCode) -> String {
        format!("{}_{}", self.as_str(), code.as_str())
    }

    pub fn label(self) -> &'static str {
        match self {
            TenantKind::School => "学校",
            TenantKind::Agency => "机构",
        }
    }
}

/// `platform.tenants.status`: a suspended tenant answers nothing but its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    Active,
    Suspended,
}
crate::text_column!(TenantStatus { Active => "active", Suspended => "suspended" });

/// A row of `platform.tenants`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TenantRecord {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub name: String,
    pub status: TenantStatus,
    pub schema_name: String,
    pub db_role: String,
    pub schema_version: i32,
    pub manifest_hash: Option<String>,
}

impl TenantRecord {
    pub fn kind(&self) -> Option<TenantKind> {
        TenantKind::parse(&self.kind)
    }

    pub fn is_suspended(&self) -> bool {
        self.status == TenantStatus::Suspended
    }

    pub fn is_school(&self) -> bool {
        self.kind() == Some(TenantKind::School)
    }

    pub fn is_agency(&self) -> bool {
        self.kind() == Some(TenantKind::Agency)
    }
}

/// The tenant a request acts in, resolved from the registry. Built only by the resolver
/// (or by tests), never from user input directly.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub id: i64,
    pub code: TenantCode,
    pub kind: TenantKind,
    pub name: String,
    pub schema: String,
    pub role: String,
}

impl TenantContext {
    pub fn from_record(r: &TenantRecord) -> Option<Self> {
        Some(Self {
            id: r.id,
            code: TenantCode::parse(&r.code).ok()?,
            kind: r.kind()?,
            name: r.name.clone(),
            schema: r.schema_name.clone(),
            role: r.db_role.clone(),
        })
    }
}
