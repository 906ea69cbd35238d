//! What each ClaimService call asks for, decoded and checked by the API layer: plain domain values
//! only. Mutating commands carry their idempotency key.
use crate::domain::benefits::{BenefitKind, Bills, Relation};
use crate::domain::claim::{Applicant, ClaimPolicy, ClaimStatus, IncidentKind};
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::id_number::IdNumber;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic::{ChangeKind, ChangeReason};
use crate::domain::platform::PlatformId;
use crate::service::RequestKey;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Longest description, reasons, grounds or explanation, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest holiday name, in characters.
pub const MAX_HOLIDAY_NAME_CHARS: usize = 200;

/// The worker an incident happened to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worker {
    IdNumber(IdNumber),
    /// One of the reporting platform's enrolments.
    Enrolment(Uuid),
}

#[derive(Debug, Clone)]
pub struct ReportIncident {
    pub key: RequestKey,
    pub worker: Worker,
    pub order_id: String,
    /// Checked against the clock by the service (a fact: not before the pilot, not in the future).
    pub occurred_at: DateTime<Utc>,
    pub place: PlaceOfEmployment,
    pub description: String,
    pub kind: IncidentKind,
}

#[derive(Debug, Clone)]
pub struct ApplyForConfirmation {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub applicant: Applicant,
    pub late_explanation: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DecideConfirmation {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub confirmed: bool,
    pub reasons: String,
}

#[derive(Debug, Clone)]
pub struct RecordAppraisal {
    pub key: RequestKey,
    pub claim_id: Uuid,
    /// 1 (most severe) to 10, or 0 for no disability grade.
    pub grade: i16,
}

#[derive(Debug, Clone)]
pub struct AssessBenefits {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub medical_costs: Fen,
    pub rehabilitation_costs: Fen,
    pub assistive_devices_costs: Fen,
    pub treatment_days: i64,
    pub dependants: Vec<ClaimedDependant>,
}

/// A dependant as the agency records it: a child's birth date sets the end of its pension (the
/// date itself is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDependant {
    pub relation: Relation,
    pub orphan_or_lone_elderly: bool,
    /// Present exactly for a child.
    pub birth_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct RecordBenefitPayment {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub kind: BenefitKind,
    pub amount: Fen,
    /// Checked against the clock by the service (a fact: not before the pilot, not in the future).
    pub paid_on: NaiveDate,
    /// For a periodic kind (required there, absent otherwise): the month paid for.
    pub month: Option<Period>,
    /// For a periodic kind: the item's number; None when the kind has one item only.
    pub item: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct RecordRelapse {
    pub key: RequestKey,
    pub claim_id: Uuid,
    /// Checked against the clock by the service (a fact: not in the future).
    pub relapsed_on: NaiveDate,
    /// At least one above 0.
    pub bills: Bills,
}

#[derive(Debug, Clone)]
pub struct ChangePeriodicBenefit {
    pub key: RequestKey,
    pub claim_id: Uuid,
    /// A periodic kind.
    pub kind: BenefitKind,
    /// None when the kind has one item only.
    pub item: Option<i32>,
    pub change: ChangeKind,
    pub reason: ChangeReason,
    /// Checked against the clock by the service (a fact: not in the future).
    pub effective_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct ListBenefitsDue {
    pub province: ProvinceCode,
    /// None: today (China Standard Time).
    pub as_of: Option<NaiveDate>,
    pub page_size: i64,
    pub page_token: String,
}

#[derive(Debug, Clone)]
pub struct AppealDecision {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub grounds: String,
}

#[derive(Debug, Clone)]
pub struct WithdrawClaim {
    pub key: RequestKey,
    pub claim_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct GetClaim {
    pub claim_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct ListClaims {
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
    pub status: Option<ClaimStatus>,
    /// Only claims overdue on this day (China Standard Time).
    pub overdue_on: Option<NaiveDate>,
    pub page_size: i64,
    pub page_token: String,
}

#[derive(Debug, Clone)]
pub struct SetPublicHoliday {
    pub key: RequestKey,
    pub day: NaiveDate,
    /// A public holiday, or (false) a weekend day declared a working day.
    pub holiday: bool,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct SetNationalIncome {
    pub key: RequestKey,
    pub year: i32,
    pub annual: Fen,
}

#[derive(Debug, Clone)]
pub struct SetPrivateSectorWage {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub year: i32,
    pub annual: Fen,
}

#[derive(Debug, Clone)]
pub struct SetBenefitAdjustment {
    pub key: RequestKey,
    pub province: ProvinceCode,
    /// Checked against the clock by the service (not before the current month).
    pub effective: Period,
    /// Within `periodic::ADJUSTMENT_BASIS_POINTS`, not 0.
    pub basis_points: i32,
}

#[derive(Debug, Clone)]
pub struct SetClaimPolicy {
    pub key: RequestKey,
    /// None for the national default.
    pub province: Option<ProvinceCode>,
    pub policy: ClaimPolicy,
}
