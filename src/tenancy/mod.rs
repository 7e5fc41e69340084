//! Tenancy: the registry of schools and agencies, provisioning from manifests, tenant
//! schema migrations, and the per-request tenant transaction.
//!
//! Owns everything that names a tenant schema or role. Must never let request code reach a
//! tenant schema except through [`crate::kernel::tx::TenantTx`].

pub mod api;
pub mod feature;
pub mod lookup;
pub mod manifest;
pub mod migrate;
pub mod model;
pub mod perms;
pub mod provision;
pub mod repo;
pub mod resolve;
pub mod sample;
