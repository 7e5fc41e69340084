//! The school console's people and base-configuration pages (R-S01…R-S05): grades and
//! classes with the yearly promotion and homeroom teachers, departments, staff, students
//! and their guardians, the bulk import, venues and periods, and the term calendar. One
//! submodule per area; this file holds what their forms share: the posted values, the
//! refusal turned into errors next to the fields that caused them, paging, downloads.
//!
//! Every page calls the same service (or repository read) as the matching JSON endpoint,
//! with the same permission constant and inside the same tenant transaction. Must never
//! run SQL of its own, and never show a clear ID number or phone except on the audited
//! "查看完整信息" pages.

mod imports;
mod org;
mod staff;
mod students;

use maud::Markup;
use poem::Route;

pub(crate) use crate::web::forms::*;
use crate::web::layout::{notice, Tone};

pub fn mount(r: Route) -> Route {
    let r = org::mount(r);
    let r = staff::mount(r);
    let r = students::mount(r);
    imports::mount(r)
}

/// The notice on the audited pages that show clear personal data.
fn audited_notice() -> Markup {
    notice(
        Tone::Warn,
        "完整身份信息仅供核对使用，请勿截图或外传。本次查看已记入审计日志。",
    )
}
