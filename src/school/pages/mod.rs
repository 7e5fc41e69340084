//! The pages of `school`: venues and periods, and the term calendar.

pub mod calendar;
pub mod settings;
