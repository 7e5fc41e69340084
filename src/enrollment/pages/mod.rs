//! The pages of `enrollment`: booking on the phone, the teacher's roll, requests (filed
//! by parents, reviewed by staff) and the console's enrollment list.

pub mod console_enrollments;
pub mod parent;
pub mod requests_parent;
pub mod requests_review;
pub mod teacher;
