//! One integration-test binary, a module per domain (zero-to-production layout).

mod cli;
mod helpers;
mod http_api;
mod isolation;
mod migrate;
mod storage;
mod tenancy;
