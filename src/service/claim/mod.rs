//! Occupational-injury claims, from the report to the last benefit payment, and the claim
//! reference data. Every function asks `policy` whether the caller may act on the claim (a claim
//! the caller may not see is NOT_FOUND, as a missing one), applies the rules of `domain::claim`
//! and `domain::benefits`, and writes the step, its timeline entry and its event in one
//! transaction with the sealed reply stored for replays.
mod benefits;
mod commands;
mod due;
mod events;
mod later_death;
mod payments;
mod periodic;
mod read;
mod record;
mod reference;
mod relapse;
mod report;
mod steps;

pub use benefits::assess_benefits;
pub use commands::*;
pub use due::{BenefitDue, BenefitsDuePage, list_benefits_due};
pub use events::event_type;
pub use payments::record_benefit_payment;
pub use periodic::change_periodic_benefit;
pub use read::{ClaimPage, get_claim, list_claims};
pub use record::{ClaimAnswer, ItemView, may_read_duplicate_flags, not_found};
pub use reference::{
    BenefitAdjustment, NationalIncome, PolicyInForce, PrivateSectorWage, PublicHoliday,
    set_benefit_adjustment, set_claim_policy, set_national_income, set_private_sector_wage,
    set_public_holiday,
};
pub use relapse::record_relapse;
pub use report::report_incident;
pub use steps::{
    appeal_decision, apply_for_confirmation, decide_confirmation, record_appraisal, withdraw_claim,
};

/// A reply the API layer builds from a claim answer; mutating calls store it (sealed) for replays.
pub trait ClaimReply: prost::Message + Default + for<'a> From<&'a ClaimAnswer> {}

impl<R> ClaimReply for R where R: prost::Message + Default + for<'a> From<&'a ClaimAnswer> {}
