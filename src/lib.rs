//! afterschool — 校内课后服务管理平台.
//!
//! One crate, domain modules by feature. `main.rs` only parses the command line and calls
//! into these modules.
// No panics on request paths; unit tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::await_holding_lock
    )
)]

pub mod agency;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod bank;
pub mod cli;
pub mod clock;
pub mod config;
pub mod courses;
pub mod db;
pub mod enrollment;
pub mod error;
pub mod evaluations;
pub mod http;
pub mod kernel;
pub mod keys;
pub mod ledger;
pub mod meals;
pub mod notices;
pub mod notify;
pub mod outbox;
pub mod payments;
pub mod people;
pub mod pii;
pub mod school;
pub mod storage;
pub mod supervision;
pub mod tabular;
pub mod telemetry;
pub mod tenancy;
pub mod web;
pub mod wechatpay;
