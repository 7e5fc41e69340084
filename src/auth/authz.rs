//! The Casbin enforcer: RBAC with domains, loaded once from `policies/` (embedded in the
//! binary) and then only read. `Enforcer::enforce` takes `&self`, so request threads share
//! it through an `Arc` without any lock.

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi, RbacApi};

use super::model::{Domain, Role};

pub const MODEL: &str = include_str!("../../policies/model.conf");
pub const POLICY: &str = include_str!("../../policies/policy.csv");

pub struct Authz {
    enforcer: Enforcer,
}

impl Authz {
    /// Builds the enforcer from the embedded model and policy.
    pub async fn embedded() -> anyhow::Result<Self> {
        Self::from_text(MODEL, POLICY).await
    }

    pub async fn from_text(model: &str, policy: &str) -> anyhow::Result<Self> {
        let model = DefaultModel::from_str(model).await?;
        let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await?;
        let mut p = Vec::new();
        let mut g = Vec::new();
        for (n, raw) in policy.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();
            match fields.first().map(String::as_str) {
                Some("p") if fields.len() == 5 => {
                    check_role(&fields[1], n)?;
                    p.push(fields[1..].to_vec());
                }
                Some("g") if fields.len() == 4 => {
                    check_role(&fields[1], n)?;
                    check_role(&fields[2], n)?;
                    g.push(fields[1..].to_vec());
                }
                _ => anyhow::bail!("policy.csv line {}: cannot read '{line}'", n + 1),
            }
        }
        enforcer.add_policies(p).await?;
        enforcer.add_grouping_policies(g).await?;
        Ok(Self { enforcer })
    }

    /// May `role` do `act` on `obj` in `domain`?
    pub fn allows(&self, role: Role, domain: Domain, obj: &str, act: &str) -> bool {
        if role.domain() != domain {
            return false;
        }
        self.enforcer
            .enforce((role.as_str(), domain.as_str(), obj, act))
            .unwrap_or(false)
    }

    /// Whether any of `roles` may.
    pub fn any_allows(&self, roles: &[Role], domain: Domain, obj: &str, act: &str) -> bool {
        roles.iter().any(|r| self.allows(*r, domain, obj, act))
    }

    /// Roles the policy knows to inherit from `role` (for listing what a role can do).
    pub fn inherited(&self, role: Role, domain: Domain) -> Vec<String> {
        self.enforcer
            .get_implicit_roles_for_user(role.as_str(), Some(domain.as_str()))
    }
}

fn check_role(name: &str, line: usize) -> anyhow::Result<()> {
    if Role::parse(name).is_none() {
        anyhow::bail!("policy.csv line {}: unknown role '{name}'", line + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn school_roles_get_what_the_policy_grants_and_nothing_across_domains() {
        let a = Authz::embedded().await.unwrap();
        assert!(a.allows(Role::Teacher, Domain::School, "school.org", "read"));
        assert!(!a.allows(Role::Teacher, Domain::School, "school.org", "write"));
        // Inherited: school admin ⊇ homeroom teacher ⊇ teacher.
        assert!(a.allows(Role::SchoolAdmin, Domain::School, "school.org", "read"));
        assert!(a.allows(Role::SchoolAdmin, Domain::School, "tenant.roles", "write"));
        assert!(!a.allows(Role::Inspector, Domain::School, "school.org", "write"));
        assert!(!a.allows(Role::Parent, Domain::School, "school.org", "read"));
        // A school role means nothing in the platform domain, and vice versa.
        assert!(!a.allows(
            Role::SchoolAdmin,
            Domain::Platform,
            "platform.audit",
            "read"
        ));
        assert!(!a.allows(Role::OperatorSys, Domain::School, "school.org", "read"));
    }

    #[tokio::test]
    async fn the_three_operator_roles_are_separate() {
        let a = Authz::embedded().await.unwrap();
        assert!(a.allows(
            Role::OperatorAudit,
            Domain::Platform,
            "platform.audit",
            "read"
        ));
        assert!(!a.allows(
            Role::OperatorSys,
            Domain::Platform,
            "platform.audit",
            "read"
        ));
        assert!(!a.allows(
            Role::OperatorSec,
            Domain::Platform,
            "platform.audit",
            "read"
        ));
        assert!(!a.allows(
            Role::OperatorAudit,
            Domain::Platform,
            "platform.accounts",
            "write"
        ));
        assert!(!a.allows(
            Role::OperatorAudit,
            Domain::Platform,
            "platform.roles",
            "write"
        ));
    }

    #[tokio::test]
    async fn a_policy_naming_an_unknown_role_is_refused() {
        let err = Authz::from_text(MODEL, "p, janitor, school, school.org, read").await;
        assert!(err.is_err());
    }
}
