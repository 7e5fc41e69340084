//! One integration-test binary, a module per domain (zero-to-production layout).

mod audit;
mod auth;
mod cli;
mod courses;
mod enrollment;
mod enrollment_requests;
mod fixtures;
mod helpers;
mod http_api;
mod isolation;
mod ledger;
mod migrate;
mod payments;
mod people;
mod route_walk;
mod school_config;
mod storage;
mod tenancy;
mod wechatpay;
