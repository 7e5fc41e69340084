//! The Casbin enforcer: RBAC with domains, loaded once from `policies/` (embedded in the
//! binary) and then only read, shared through an `Arc` without any lock.
//!
//! Casbin evaluates its matcher through a script engine: ~12–35 µs a check here, p99 ~65 µs
//! (benches/authz.rs). The policy only changes with a release, so at load time Casbin decides
//! every (role, domain, object, action) the policy names, and requests are answered from that
//! table. Pairs the policy never names are denied, which is what the matcher would say
//! (`r.obj == p.obj && r.act == p.act`); a test checks the table against Casbin itself.

use std::collections::{HashMap, HashSet};

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi, RbacApi};

use super::model::{Domain, Role, ALL_ROLES};

pub const MODEL: &str = include_str!("../../policies/model.conf");
pub const POLICY: &str = include_str!("../../policies/policy.csv");

pub struct Authz {
    enforcer: Enforcer,
    /// (role, domain) → object → actions Casbin allows.
    decisions: HashMap<(Role, Domain), HashMap<String, HashSet<String>>>,
    /// Every (domain, object, action) the policy names.
    named: Vec<(Domain, String, String)>,
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
        let mut named: Vec<(Domain, String, String)> = p
            .iter()
            .filter_map(|f| {
                let dom = [Domain::Platform, Domain::School, Domain::Agency]
                    .into_iter()
                    .find(|d| d.as_str() == f[1])?;
                Some((dom, f[2].clone(), f[3].clone()))
            })
            .collect();
        named.sort_by(|a, b| (a.0.as_str(), &a.1, &a.2).cmp(&(b.0.as_str(), &b.1, &b.2)));
        named.dedup();
        enforcer.add_policies(p).await?;
        enforcer.add_grouping_policies(g).await?;
        let mut decisions: HashMap<(Role, Domain), HashMap<String, HashSet<String>>> =
            HashMap::new();
        for role in ALL_ROLES {
            for (dom, obj, act) in &named {
                if role.domain() == *dom
                    && enforcer.enforce((
                        role.as_str(),
                        dom.as_str(),
                        obj.as_str(),
                        act.as_str(),
                    ))?
                {
                    decisions
                        .entry((role, *dom))
                        .or_default()
                        .entry(obj.clone())
                        .or_default()
                        .insert(act.clone());
                }
            }
        }
        Ok(Self {
            enforcer,
            decisions,
            named,
        })
    }

    /// May `role` do `act` on `obj` in `domain`? (From the table Casbin filled at load.)
    pub fn allows(&self, role: Role, domain: Domain, obj: &str, act: &str) -> bool {
        self.decisions
            .get(&(role, domain))
            .and_then(|objs| objs.get(obj))
            .is_some_and(|acts| acts.contains(act))
    }

    /// Asks Casbin itself (slow path; tests compare it with [`Authz::allows`]).
    pub fn casbin_allows(&self, role: Role, domain: Domain, obj: &str, act: &str) -> bool {
        role.domain() == domain
            && self
                .enforcer
                .enforce((role.as_str(), domain.as_str(), obj, act))
                .unwrap_or(false)
    }

    /// Every (domain, object, action) the policy names.
    pub fn named_permissions(&self) -> &[(Domain, String, String)] {
        &self.named
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
    async fn the_decision_table_agrees_with_casbin_for_every_role_and_permission() {
        let a = Authz::embedded().await.unwrap();
        let mut checked = 0;
        for role in ALL_ROLES {
            for dom in [Domain::Platform, Domain::School, Domain::Agency] {
                let mut perms: Vec<(String, String)> = a
                    .named_permissions()
                    .iter()
                    .map(|(_, o, x)| (o.clone(), x.clone()))
                    .collect();
                perms.push(("not.named".into(), "read".into()));
                for (obj, act) in perms {
                    assert_eq!(
                        a.allows(role, dom, &obj, &act),
                        a.casbin_allows(role, dom, &obj, &act),
                        "{role:?} {dom:?} {obj} {act}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 300);
    }

    #[tokio::test]
    async fn a_policy_naming_an_unknown_role_is_refused() {
        let err = Authz::from_text(MODEL, "p, janitor, school, school.org, read").await;
        assert!(err.is_err());
    }
}
