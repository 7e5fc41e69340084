//! The pages of attendance: the teacher's sessions of the day on the phone with the one-tap
//! check-in and the roll call (`/m/teacher/sessions`), and the admin's day in the console
//! with the sessions nobody checked in to and the check-in rules (`/console/attendance`).
//!
//! Every page calls the same service function, with the same permission, as the endpoint
//! of `attendance::api` it mirrors. Must never decide a window or a scope here: a refusal
//! comes from the service and is shown in Chinese next to what it is about.

mod console;
mod inspections;
mod lessons;
mod teacher;
mod whereabouts;

use maud::{html, Markup};
use poem::Route;

use crate::attendance::model::AttendanceSession;
use crate::web::layout::when;

pub fn mount(r: Route) -> Route {
    let r = inspections::mount(whereabouts::mount(console::mount(teacher::mount(r))));
    lessons::mount(r)
}

/// The session's check-in state in words, tagged.
fn checkin_tag(s: &AttendanceSession) -> Markup {
    html! {
        @if let Some(k) = s.checkins.first() {
            @if k.late { span.tag.warn { "迟到签到 " (when(k.checked_in_at)) } }
            @else { span.tag { "已签到 " (when(k.checked_in_at)) } }
        } @else if s.missed {
            span.tag.bad data-missed="true" { "未签到" }
        } @else {
            span.tag.grey { "待签到" }
        }
    }
}
