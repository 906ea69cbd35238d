//! ContributionService requests into service commands: one `TryFrom` per request, each
//! destructured exhaustively (a new proto field breaks the build), every field violation collected
//! and reported at once. Nothing is trimmed or rewritten.
use crate::api::convert::{
    date_from_proto, industry_from_proto, instant_from_proto, non_empty, optional_date_from_proto,
};
use crate::api::paging;
use crate::api::request_key as key;
use crate::domain::Invalid;
use crate::domain::clock::{check_fact_day, china_date};
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::id_number::IdNumber;
use crate::domain::industry::Industry;
use crate::domain::late_fee::{Period, check_declarable};
use crate::domain::money::Fen;
use crate::domain::pension::{Frequency, MonthsRefused, months_covered};
use crate::domain::platform::PlatformId;
use crate::domain::rates::{check_accepted_at, check_completed_at, check_declared_orders};
use crate::domain::text::{check_reference, parse_id};
use crate::error::{AppError, Violations};
use crate::pb;
use crate::service::contribution::coverage::{CheckCoverage, CoverageWorker};
use crate::service::contribution::declarations::{DeclareContributions, GetDeclaration, Source};
use crate::service::contribution::orders::{OrderLine, OrderWorker};
use crate::service::contribution::payments::{GetStatement, ListArrears, RecordPayment};
use crate::service::pension::{
    DeclarePensionContribution, EnrolPension, PensionLookup, TransferPension,
};
use crate::service::rates::GetRate;
use chrono::{DateTime, NaiveDate, Utc};

/// A request with the clock reading its rules need: facts not in the future, months that have
/// ended, rates that start later.
pub struct AsOf<M> {
    pub message: M,
    pub now: DateTime<Utc>,
}

impl<M> AsOf<M> {
    pub fn new(message: M, now: DateTime<Utc>) -> Self {
        Self { message, now }
    }

    /// Today in China Standard Time.
    pub fn today(&self) -> NaiveDate {
        china_date(self.now)
    }
}

/// An optional platform filter: empty is unset (`Some(None)`); `None` when refused.
pub fn optional_platform(violations: &mut Violations, raw: &str) -> Option<Option<PlatformId>> {
    match non_empty(raw) {
        None => Some(None),
        Some(raw) => violations
            .check("platform_id", PlatformId::parse(raw))
            .map(Some),
    }
}

/// An optional instant: unset is `Some(None)`; `None` when refused.
fn optional_instant(
    violations: &mut Violations,
    field: &str,
    at: Option<&prost_types::Timestamp>,
) -> Option<Option<DateTime<Utc>>> {
    match at {
        None => Some(None),
        Some(at) => violations.check(field, instant_from_proto(at)).map(Some),
    }
}

fn industry(violations: &mut Violations, field: &str, value: i32) -> Option<Industry> {
    violations.check(field, industry_from_proto(value))
}

impl TryFrom<pb::GetRateRequest> for GetRate {
    type Error = AppError;

    fn try_from(request: pb::GetRateRequest) -> Result<Self, AppError> {
        let pb::GetRateRequest {
            province_code,
            platform_id,
            industry: industry_value,
            at,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = optional_platform(&mut violations, &platform_id);
        let industry = industry(&mut violations, "industry", industry_value);
        let at = optional_instant(&mut violations, "at", at.as_ref());
        let (Some(province), Some(platform), Some(industry), Some(at)) =
            (province, platform, industry, at)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(GetRate {
            province,
            platform,
            industry,
            at,
        })
    }
}

impl TryFrom<AsOf<pb::OrderRecord>> for OrderLine {
    type Error = AppError;

    fn try_from(request: AsOf<pb::OrderRecord>) -> Result<Self, AppError> {
        let now = request.now;
        let pb::OrderRecord {
            order_id,
            worker,
            place_of_employment,
            industry: industry_value,
            accepted_at,
            completed_at,
        } = request.message;
        let mut violations = Violations::new();
        violations.check("order_id", check_reference(&order_id));
        let worker = match worker {
            Some(pb::order_record::Worker::IdNumber(id)) => violations
                .check("id_number", IdNumber::parse(&id))
                .map(OrderWorker::IdNumber),
            Some(pb::order_record::Worker::EnrolmentId(id)) => violations
                .check("enrolment_id", parse_id(&id))
                .map(OrderWorker::Enrolment),
            None => {
                violations.add("worker", "required: id_number or enrolment_id");
                None
            }
        };
        let place = violations.check(
            "place_of_employment",
            PlaceOfEmployment::parse(&place_of_employment),
        );
        let industry = industry(&mut violations, "industry", industry_value);
        let accepted_at = violations.check(
            "accepted_at",
            accepted_at
                .as_ref()
                .ok_or_else(|| Invalid::new("required"))
                .and_then(instant_from_proto)
                .and_then(|at| check_accepted_at(at, now).map(|()| at)),
        );
        let completed_at = optional_instant(&mut violations, "completed_at", completed_at.as_ref());
        if let (Some(accepted), Some(Some(completed))) = (accepted_at, completed_at) {
            violations.check("completed_at", check_completed_at(accepted, completed));
        }
        let (Some(worker), Some(place), Some(industry), Some(accepted_at), Some(completed_at)) =
            (worker, place, industry, accepted_at, completed_at)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(OrderLine {
            order_id,
            worker,
            place,
            industry,
            accepted_at,
            completed_at,
        })
    }
}

impl TryFrom<pb::CheckCoverageRequest> for CheckCoverage {
    type Error = AppError;

    fn try_from(request: pb::CheckCoverageRequest) -> Result<Self, AppError> {
        let pb::CheckCoverageRequest {
            worker,
            platform_id,
            at,
        } = request;
        let mut violations = Violations::new();
        let worker = match worker {
            Some(pb::check_coverage_request::Worker::IdNumber(id)) => violations
                .check("id_number", IdNumber::parse(&id))
                .map(CoverageWorker::IdNumber),
            Some(pb::check_coverage_request::Worker::EnrolmentId(id)) => violations
                .check("enrolment_id", parse_id(&id))
                .map(CoverageWorker::Enrolment),
            None => {
                violations.add("worker", "required: id_number or enrolment_id");
                None
            }
        };
        let platform = optional_platform(&mut violations, &platform_id);
        let at = optional_instant(&mut violations, "at", at.as_ref());
        let (Some(worker), Some(platform), Some(at)) = (worker, platform, at) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(CheckCoverage {
            worker,
            platform,
            at,
        })
    }
}

/// Declared counts: one per industry, each 0 to `MAX_DECLARED_ORDERS`.
fn declared_counts(
    violations: &mut Violations,
    counts: Vec<pb::IndustryOrders>,
) -> Vec<(Industry, i64)> {
    let mut lines: Vec<(Industry, i64)> = Vec::with_capacity(counts.len());
    for (
        i,
        pb::IndustryOrders {
            industry: value,
            orders,
        },
    ) in counts.into_iter().enumerate()
    {
        let field = |name: &str| format!("declared_counts.counts[{i}].{name}");
        let industry = industry(violations, &field("industry"), value);
        let orders = violations.check(&field("orders"), check_declared_orders(orders));
        if let Some(industry) = industry {
            if lines.iter().any(|(seen, _)| *seen == industry) {
                violations.add(&field("industry"), "appears twice");
            }
            if let Some(orders) = orders {
                lines.push((industry, orders));
            }
        }
    }
    lines
}

impl TryFrom<AsOf<pb::DeclareContributionsRequest>> for DeclareContributions {
    type Error = AppError;

    fn try_from(request: AsOf<pb::DeclareContributionsRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let mut violations = Violations::new();
        let key = key(
            &mut violations,
            &request.message.request_id,
            &request.message,
        );
        let pb::DeclareContributionsRequest {
            request_id: _,
            province_code,
            period,
            source,
        } = request.message;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let period = violations.check(
            "period",
            Period::parse(&period).and_then(|p| check_declarable(p, today).map(|()| p)),
        );
        let source = match source {
            None => {
                violations.add("source", "required: from_orders or declared_counts");
                None
            }
            Some(pb::declare_contributions_request::Source::FromOrders(pb::FromOrders {})) => {
                Some(Source::FromOrders)
            }
            Some(pb::declare_contributions_request::Source::DeclaredCounts(
                pb::DeclaredCounts { counts },
            )) => Some(Source::DeclaredCounts(declared_counts(
                &mut violations,
                counts,
            ))),
        };
        let (Some(key), Some(province), Some(period), Some(source)) =
            (key, province, period, source)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(DeclareContributions {
            key,
            province,
            period,
            source,
        })
    }
}

impl TryFrom<pb::GetDeclarationRequest> for GetDeclaration {
    type Error = AppError;

    fn try_from(request: pb::GetDeclarationRequest) -> Result<Self, AppError> {
        let pb::GetDeclarationRequest {
            province_code,
            platform_id,
            period,
            version,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = optional_platform(&mut violations, &platform_id);
        let period = violations.check("period", Period::parse(&period));
        if version.is_some_and(|version| version < 1) {
            violations.add(
                "version",
                "must be a version number (1 and up); unset for the latest",
            );
        }
        let (Some(province), Some(platform), Some(period)) = (province, platform, period) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(GetDeclaration {
            province,
            platform,
            period,
            version,
        })
    }
}

impl TryFrom<pb::GetStatementRequest> for GetStatement {
    type Error = AppError;

    fn try_from(request: pb::GetStatementRequest) -> Result<Self, AppError> {
        let pb::GetStatementRequest {
            province_code,
            platform_id,
            period,
            as_of,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = optional_platform(&mut violations, &platform_id);
        let period = violations.check("period", Period::parse(&period));
        let as_of = violations.check("as_of", optional_date_from_proto(as_of.as_ref()));
        let (Some(province), Some(platform), Some(period), Some(as_of)) =
            (province, platform, period, as_of)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(GetStatement {
            province,
            platform,
            period,
            as_of,
        })
    }
}

impl TryFrom<AsOf<pb::RecordPaymentRequest>> for RecordPayment {
    type Error = AppError;

    fn try_from(request: AsOf<pb::RecordPaymentRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let mut violations = Violations::new();
        let key = key(
            &mut violations,
            &request.message.request_id,
            &request.message,
        );
        let pb::RecordPaymentRequest {
            request_id: _,
            province_code,
            platform_id,
            period,
            amount_fen,
            paid_on,
        } = request.message;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
        let period = violations.check("period", Period::parse(&period));
        let amount = violations.check("amount_fen", Fen::positive(amount_fen));
        let paid_on = violations.check(
            "paid_on",
            date_from_proto(paid_on.as_ref())
                .and_then(|day| check_fact_day(day, today).map(|()| day)),
        );
        let (Some(key), Some(province), Some(platform), Some(period), Some(amount), Some(paid_on)) =
            (key, province, platform, period, amount, paid_on)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(RecordPayment {
            key,
            province,
            platform,
            period,
            amount,
            paid_on,
        })
    }
}

/// What an arrears page token is bound to: the province and the day.
pub fn arrears_query(province: &ProvinceCode, as_of: NaiveDate) -> String {
    format!("arrears|{province}|{as_of}")
}

/// An arrears cursor: `<platform>|<YYYY-MM-DD>`.
pub fn arrears_cursor(platform_id: &str, period: NaiveDate) -> String {
    format!("{platform_id}|{period}")
}

fn parse_arrears_cursor(cursor: &str) -> Option<(String, NaiveDate)> {
    let (platform, period) = cursor.split_once('|')?;
    let period = NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?;
    Some((platform.to_owned(), period))
}

impl TryFrom<AsOf<pb::ListArrearsRequest>> for ListArrears {
    type Error = AppError;

    fn try_from(request: AsOf<pb::ListArrearsRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let pb::ListArrearsRequest {
            province_code,
            as_of,
            page_size,
            page_token,
        } = request.message;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let as_of = violations.check("as_of", optional_date_from_proto(as_of.as_ref()));
        let page_size = match paging::page_size(page_size) {
            Ok(size) => Some(size),
            Err(_) => {
                violations.add("page_size", "must not be negative");
                None
            }
        };
        let (Some(province), Some(as_of), Some(page_size)) = (province, as_of, page_size) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        let as_of = as_of.unwrap_or(today);
        let after = paging::decode_token(&arrears_query(&province, as_of), &page_token)?
            .map(|cursor| {
                parse_arrears_cursor(&cursor).ok_or_else(|| {
                    AppError::invalid("page_token", "is not a token from this listing")
                })
            })
            .transpose()?;
        Ok(ListArrears {
            province,
            as_of,
            page_size,
            after,
        })
    }
}

impl TryFrom<pb::EnrolPensionRequest> for EnrolPension {
    type Error = AppError;

    fn try_from(request: pb::EnrolPensionRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::EnrolPensionRequest {
            request_id: _,
            id_number,
            place_of_employment,
            monthly_base_fen,
        } = request;
        let id_number = violations.check("id_number", IdNumber::parse(&id_number));
        let place = violations.check(
            "place_of_employment",
            PlaceOfEmployment::parse(&place_of_employment),
        );
        let monthly_base = violations.check("monthly_base_fen", Fen::positive(monthly_base_fen));
        let (Some(key), Some(id_number), Some(place), Some(monthly_base)) =
            (key, id_number, place, monthly_base)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(EnrolPension {
            key,
            id_number,
            place,
            monthly_base,
        })
    }
}

impl TryFrom<pb::TransferPensionRequest> for TransferPension {
    type Error = AppError;

    fn try_from(request: pb::TransferPensionRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::TransferPensionRequest {
            request_id: _,
            pension_id,
            new_place_of_employment,
            monthly_base_fen,
        } = request;
        let pension_id = violations.check("pension_id", parse_id(&pension_id));
        let new_place = violations.check(
            "new_place_of_employment",
            PlaceOfEmployment::parse(&new_place_of_employment),
        );
        let monthly_base = match monthly_base_fen {
            None => Some(None),
            Some(fen) => violations
                .check("monthly_base_fen", Fen::positive(fen))
                .map(Some),
        };
        let (Some(key), Some(pension_id), Some(new_place), Some(monthly_base)) =
            (key, pension_id, new_place, monthly_base)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(TransferPension {
            key,
            pension_id,
            new_place,
            monthly_base,
        })
    }
}

fn frequency_from_proto(value: i32) -> Result<Frequency, Invalid> {
    match pb::PaymentFrequency::try_from(value) {
        Ok(pb::PaymentFrequency::Monthly) => Ok(Frequency::Monthly),
        Ok(pb::PaymentFrequency::Quarterly) => Ok(Frequency::Quarterly),
        Ok(pb::PaymentFrequency::HalfYearly) => Ok(Frequency::HalfYearly),
        Ok(pb::PaymentFrequency::Yearly) => Ok(Frequency::Yearly),
        Ok(pb::PaymentFrequency::Unspecified) | Err(_) => Err(Invalid::new(
            "required: monthly, quarterly, half-yearly or yearly",
        )),
    }
}

impl TryFrom<AsOf<pb::DeclarePensionContributionRequest>> for DeclarePensionContribution {
    type Error = AppError;

    fn try_from(request: AsOf<pb::DeclarePensionContributionRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let mut violations = Violations::new();
        let key = key(
            &mut violations,
            &request.message.request_id,
            &request.message,
        );
        let pb::DeclarePensionContributionRequest {
            request_id: _,
            pension_id,
            year,
            first_month,
            frequency,
        } = request.message;
        let pension_id = violations.check("pension_id", parse_id(&pension_id));
        let months = violations
            .check("frequency", frequency_from_proto(frequency))
            .and_then(
                |frequency| match months_covered(year, first_month, frequency, today) {
                    Ok(months) => Some(months),
                    Err(MonthsRefused::Year(why)) => violations.check("year", Err(why)),
                    Err(MonthsRefused::FirstMonth(why)) => {
                        violations.check("first_month", Err(why))
                    }
                },
            );
        let (Some(key), Some(pension_id), Some(months)) = (key, pension_id, months) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(DeclarePensionContribution {
            key,
            pension_id,
            months,
        })
    }
}

impl TryFrom<pb::GetPensionAccountRequest> for PensionLookup {
    type Error = AppError;

    fn try_from(request: pb::GetPensionAccountRequest) -> Result<Self, AppError> {
        let pb::GetPensionAccountRequest { worker } = request;
        match worker {
            Some(pb::get_pension_account_request::Worker::PensionId(id)) => parse_id(&id)
                .map(PensionLookup::PensionId)
                .map_err(|invalid| AppError::invalid("pension_id", invalid.0)),
            Some(pb::get_pension_account_request::Worker::IdNumber(id)) => IdNumber::parse(&id)
                .map(PensionLookup::IdNumber)
                .map_err(|invalid| AppError::invalid("id_number", invalid.0)),
            None => Err(AppError::invalid(
                "worker",
                "required: pension_id or id_number",
            )),
        }
    }
}
