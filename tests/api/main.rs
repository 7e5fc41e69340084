//! One integration-test binary, a module per domain (zero-to-production layout).

mod audit;
mod auth;
mod cli;
mod helpers;
mod http_api;
mod isolation;
mod migrate;
mod route_walk;
mod storage;
mod tenancy;
