//! Third-party after-school agencies (课后服务机构). For now: the validated unified social
//! credit code every agency registers with (R-A02).

pub mod credit_code;
