//! The pension service's commands and answers: plain structs of domain values.
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::id_number::IdNumber;
use crate::domain::money::Fen;
use crate::domain::pension::PaidMonth;
use crate::service::RequestKey;
use crate::store::pension::PensionRow;
use chrono::NaiveDate;
use uuid::Uuid;

/// EnrolPension: a person's pension enrolment at a place of employment.
#[derive(Debug, Clone)]
pub struct EnrolPension {
    pub key: RequestKey,
    pub id_number: IdNumber,
    pub place: PlaceOfEmployment,
    /// 1 to `MAX_AMOUNT_FEN`, and within the province's range.
    pub monthly_base: Fen,
}

/// TransferPension: the enrolment moves to a new place (and province).
#[derive(Debug, Clone)]
pub struct TransferPension {
    pub key: RequestKey,
    pub pension_id: Uuid,
    pub new_place: PlaceOfEmployment,
    /// Unset: the current base (it must fit the new province's range).
    pub monthly_base: Option<Fen>,
}

/// DeclarePensionContribution: months of one year paid under an enrolment.
#[derive(Debug, Clone)]
pub struct DeclarePensionContribution {
    pub key: RequestKey,
    pub pension_id: Uuid,
    /// From `domain::pension::months_covered`.
    pub months: Vec<NaiveDate>,
}

/// GetPensionAccount: by enrolment, or the person's current enrolment by ID number.
#[derive(Debug, Clone)]
pub enum PensionLookup {
    PensionId(Uuid),
    IdNumber(IdNumber),
}

/// SetAverageWage: a province's average wage of a year.
#[derive(Debug, Clone)]
pub struct SetAverageWage {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub year: i32,
    /// 1 to `MAX_AMOUNT_FEN`.
    pub annual: Fen,
}

/// A payment's months, each at 20% of the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PensionContribution {
    pub pension_id: Uuid,
    pub months: Vec<PaidMonth>,
    pub total: Fen,
    pub individual: Fen,
}

/// The person's account: their current (or latest) enrolment, months paid, gaps, balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PensionAccount {
    pub enrolment: PensionRow,
    pub months_paid: Vec<PaidMonth>,
    pub gaps: Vec<NaiveDate>,
    pub individual_balance: Fen,
}

/// A province's average wage of a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AverageWage {
    pub province: ProvinceCode,
    pub year: i32,
    pub annual: Fen,
}
