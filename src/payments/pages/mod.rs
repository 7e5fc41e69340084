//! The pages of `payments`: paying on the phone, the parent's 我的 page, and the
//! console's orders and settlement.

pub mod me;
pub mod meal_refunds;
pub mod orders;
pub mod parent_pay;
pub mod settlement;
