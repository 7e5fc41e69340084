//! The school console's course pages (R-S06): publishing courses with their pictures and
//! lottery draws. The enrollment status, orders and settlement pages are enrollment's and
//! payments' (`enrollment::pages`, `payments::pages`).
//!
//! Every page calls the same service function, with the same permission, as the JSON
//! endpoint it mirrors (`courses::api`, `enrollment::api`, `enrollment::staff_api`,
//! `payments::api`). Must never check a business rule or run SQL of its own: a refusal comes
//! from the service and is shown next to the field it is about.

mod course_form;
mod course_pages;

pub(crate) use course_pages::read_upload;

use poem::Route;

pub(crate) use crate::web::forms::{err_at, is_domain_refusal, FormError};

pub fn mount(r: Route) -> Route {
    course_pages::mount(r)
}
