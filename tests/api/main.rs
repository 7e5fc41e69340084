//! One integration-test binary, a module per domain (zero-to-production layout).

mod audit;
mod auth;
mod browser;
mod cli;
mod courses;
mod enrollment;
mod enrollment_requests;
mod fixtures;
mod helpers;
mod http_api;
mod isolation;
mod journeys_courses;
mod journeys_parent;
mod journeys_platform;
mod journeys_school;
mod journeys_teacher;
mod ledger;
mod migrate;
mod payments;
mod people;
mod route_walk;
mod school_config;
mod storage;
mod tenancy;
mod web_pages;
mod wechatpay;
