//! Fault control of the simulator, for tests and the demo: make the next calls fail,
//! delay answers, corrupt response signatures, deliver every callback several times at
//! once, make refunds end ABNORMAL or CLOSED, sign with the certificate serial instead of
//! the public-key id.
//!
//! Held in memory by each simulator instance (set through `POST /sim/wxpay/control` or
//! [`Simulator::update_faults`](super::Simulator::update_faults)); never persisted, so a
//! restart clears it.

use serde::{Deserialize, Serialize};

use crate::wechatpay::model::RefundStatus;

/// Which serial the simulator presents in `Wechatpay-Serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignWith {
    /// `PUB_KEY_ID_…` (public-key mode, what new merchants get).
    #[default]
    PublicKey,
    /// The platform certificate's serial (platform-certificate mode).
    Certificate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Faults {
    /// The next N `/v3` calls answer 500 `SYSTEM_ERROR` and change nothing.
    pub fail_next: u32,
    /// Every `/v3` answer is held back this long (after the work is done).
    pub delay_ms: u64,
    /// The next N `/v3` answers carry a wrong signature.
    pub corrupt_signature_next: u32,
    /// Callbacks queued from now on are delivered this many times at once (0 or 1: once).
    pub duplicate_callbacks: u32,
    /// The next `refund_outcome_count` refunds end in this state instead of SUCCESS.
    pub refund_outcome: Option<RefundStatus>,
    pub refund_outcome_count: u32,
    /// Overrides `wechatpay.sim.refund_delay_secs`.
    pub refund_delay_secs: Option<i64>,
    pub sign_with: SignWith,
}

impl Faults {
    /// Counts one `/v3` call against `fail_next`; true when it must fail.
    pub(super) fn take_failure(&mut self) -> bool {
        if self.fail_next > 0 {
            self.fail_next -= 1;
            true
        } else {
            false
        }
    }

    pub(super) fn take_corruption(&mut self) -> bool {
        if self.corrupt_signature_next > 0 {
            self.corrupt_signature_next -= 1;
            true
        } else {
            false
        }
    }

    /// The final state of a refund being created now.
    pub(super) fn take_refund_outcome(&mut self) -> RefundStatus {
        match self.refund_outcome {
            Some(outcome) if self.refund_outcome_count > 0 => {
                self.refund_outcome_count -= 1;
                if self.refund_outcome_count == 0 {
                    self.refund_outcome = None;
                }
                outcome
            }
            _ => RefundStatus::Success,
        }
    }

    pub(super) fn copies(&self) -> i32 {
        i32::try_from(self.duplicate_callbacks.clamp(1, 20)).unwrap_or(1)
    }
}

/// Body of `POST /sim/wxpay/control`: every field optional; `reset` first, then the
/// others; `deliver_due` runs the delivery of due callbacks and refunds right away.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRequest {
    pub reset: Option<bool>,
    pub fail_next: Option<u32>,
    pub delay_ms: Option<u64>,
    pub corrupt_signature_next: Option<u32>,
    pub duplicate_callbacks: Option<u32>,
    /// `ABNORMAL` or `CLOSED` (or `SUCCESS` to clear).
    pub refund_outcome: Option<RefundStatus>,
    /// How many refunds the outcome applies to (default 1).
    pub refund_outcome_count: Option<u32>,
    pub refund_delay_secs: Option<i64>,
    pub sign_with: Option<SignWith>,
    pub deliver_due: Option<bool>,
}

impl ControlRequest {
    pub(super) fn apply(&self, f: &mut Faults) -> Result<(), String> {
        if self.reset == Some(true) {
            *f = Faults::default();
        }
        if let Some(n) = self.fail_next {
            f.fail_next = n;
        }
        if let Some(ms) = self.delay_ms {
            if ms > 120_000 {
                return Err("delay_ms 不得超过 120000".into());
            }
            f.delay_ms = ms;
        }
        if let Some(n) = self.corrupt_signature_next {
            f.corrupt_signature_next = n;
        }
        if let Some(k) = self.duplicate_callbacks {
            if k > 20 {
                return Err("duplicate_callbacks 不得超过 20".into());
            }
            f.duplicate_callbacks = k;
        }
        if let Some(outcome) = self.refund_outcome {
            match outcome {
                RefundStatus::Processing => {
                    return Err("refund_outcome 只能是 SUCCESS、ABNORMAL 或 CLOSED".into())
                }
                RefundStatus::Success => {
                    f.refund_outcome = None;
                    f.refund_outcome_count = 0;
                }
                other => {
                    f.refund_outcome = Some(other);
                    f.refund_outcome_count = self.refund_outcome_count.unwrap_or(1);
                }
            }
        }
        if let Some(s) = self.refund_delay_secs {
            if !(0..=86_400).contains(&s) {
                return Err("refund_delay_secs 须在 0 到 86400 之间".into());
            }
            f.refund_delay_secs = Some(s);
        }
        if let Some(w) = self.sign_with {
            f.sign_with = w;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out() {
        let mut f = Faults::default();
        ControlRequest {
            fail_next: Some(2),
            refund_outcome: Some(RefundStatus::Abnormal),
            ..Default::default()
        }
        .apply(&mut f)
        .unwrap();
        assert!(f.take_failure());
        assert!(f.take_failure());
        assert!(!f.take_failure());
        assert_eq!(f.take_refund_outcome(), RefundStatus::Abnormal);
        assert_eq!(f.take_refund_outcome(), RefundStatus::Success);
    }

    #[test]
    fn processing_is_not_an_outcome() {
        let mut f = Faults::default();
        let r = ControlRequest {
            refund_outcome: Some(RefundStatus::Processing),
            ..Default::default()
        };
        assert!(r.apply(&mut f).is_err());
    }
}
