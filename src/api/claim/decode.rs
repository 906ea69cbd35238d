//! Every ClaimService request decoded into its service command. Each destructures its message
//! completely, so a new field breaks the build until it is decoded, and reports every refused
//! field at once. Nothing is trimmed: input that is not canonical is INVALID_ARGUMENT naming the
//! field.
use crate::api::convert::{date_from_proto, instant_from_proto, non_empty};
use crate::api::paging;
use crate::api::request_key as key;
use crate::domain::Invalid;
use crate::domain::benefits::{BenefitKind, Relation};
use crate::domain::claim::{Applicant, ClaimStatus, IncidentKind};
use crate::domain::clock::china_date;
use crate::domain::code::Code;
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::id_number::IdNumber;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::platform::PlatformId;
use crate::domain::text::{check_free_text, check_reference, optional_free_text, parse_id};
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::claim::{
    AppealDecision, ApplyForConfirmation, AssessBenefits, ClaimedDependant, DecideConfirmation,
    GetClaim, ListClaims, MAX_TEXT_CHARS, RecordAppraisal, RecordBenefitPayment, ReportIncident,
    WithdrawClaim, Worker,
};

/// A proto enum with its wire names, for refusals that list what is accepted.
pub(super) trait WireEnum: Copy + Into<i32> {
    fn name(self) -> &'static str;
}

macro_rules! wire_enums {
    ($($type:ty),* $(,)?) => {$(
        impl WireEnum for $type {
            fn name(self) -> &'static str {
                self.as_str_name()
            }
        }
    )*};
}

wire_enums!(
    pb::IncidentKind,
    pb::Applicant,
    pb::Relation,
    pb::BenefitKind,
    pb::ClaimStatus,
    pb::PeriodicChange,
    pb::PeriodicChangeReason,
);

/// A required enum field: the domain value whose wire value is `value`, or "required: one of …"
/// listing them (for UNSPECIFIED and for values this server does not know alike).
pub(super) fn one_of<D, P>(value: i32) -> Result<D, Invalid>
where
    D: Code,
    P: WireEnum + From<D>,
{
    D::ALL
        .iter()
        .copied()
        .find(|domain| P::from(*domain).into() == value)
        .ok_or_else(|| {
            let names: Vec<&str> = D::ALL.iter().map(|d| P::from(*d).name()).collect();
            Invalid::new(format!("required: one of {}", names.join(", ")))
        })
}

fn free_text(raw: String) -> Result<String, Invalid> {
    check_free_text(&raw, MAX_TEXT_CHARS)?;
    Ok(raw)
}

fn reference(raw: String) -> Result<String, Invalid> {
    check_reference(&raw)?;
    Ok(raw)
}

/// The command, or every violation collected.
pub(super) fn decoded<T>(violations: Violations, built: Option<T>) -> AppResult<T> {
    violations.into_result()?;
    built.ok_or_else(|| anyhow::anyhow!("a request was refused without a field violation").into())
}

impl TryFrom<pb::ReportIncidentRequest> for ReportIncident {
    type Error = AppError;

    fn try_from(request: pb::ReportIncidentRequest) -> AppResult<Self> {
        use pb::report_incident_request::Worker as WireWorker;
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::ReportIncidentRequest {
            request_id: _,
            worker,
            order_id,
            occurred_at,
            place_code,
            description,
            kind,
        } = request;
        let worker = match worker {
            Some(WireWorker::IdNumber(id)) => violations
                .check("id_number", IdNumber::parse(&id))
                .map(Worker::IdNumber),
            Some(WireWorker::EnrolmentId(id)) => violations
                .check("enrolment_id", parse_id(&id))
                .map(Worker::Enrolment),
            None => {
                violations.add("worker", "required: id_number or enrolment_id");
                None
            }
        };
        let order_id = violations.check("order_id", reference(order_id));
        let occurred_at = violations.check(
            "occurred_at",
            occurred_at
                .as_ref()
                .ok_or_else(|| Invalid::new("required"))
                .and_then(instant_from_proto),
        );
        let place = violations.check("place_code", PlaceOfEmployment::parse(&place_code));
        let description = violations.check("description", free_text(description));
        let kind = violations.check("kind", one_of::<IncidentKind, pb::IncidentKind>(kind));
        let built = (|| {
            Some(ReportIncident {
                key: key?,
                worker: worker?,
                order_id: order_id?,
                occurred_at: occurred_at?,
                place: place?,
                description: description?,
                kind: kind?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::ApplyForConfirmationRequest> for ApplyForConfirmation {
    type Error = AppError;

    fn try_from(request: pb::ApplyForConfirmationRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::ApplyForConfirmationRequest {
            request_id: _,
            claim_id,
            applicant,
            late_explanation,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let applicant =
            violations.check("applicant", one_of::<Applicant, pb::Applicant>(applicant));
        let late_explanation = violations.check(
            "late_explanation",
            optional_free_text(&late_explanation, MAX_TEXT_CHARS),
        );
        let built = (|| {
            Some(ApplyForConfirmation {
                key: key?,
                claim_id: claim_id?,
                applicant: applicant?,
                late_explanation: late_explanation?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::DecideConfirmationRequest> for DecideConfirmation {
    type Error = AppError;

    fn try_from(request: pb::DecideConfirmationRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::DecideConfirmationRequest {
            request_id: _,
            claim_id,
            confirmed,
            reasons,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let reasons = violations.check("reasons", free_text(reasons));
        let built = (|| {
            Some(DecideConfirmation {
                key: key?,
                claim_id: claim_id?,
                confirmed,
                reasons: reasons?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::RecordAppraisalRequest> for RecordAppraisal {
    type Error = AppError;

    fn try_from(request: pb::RecordAppraisalRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::RecordAppraisalRequest {
            request_id: _,
            claim_id,
            grade,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let grade = violations.check(
            "grade",
            grade
                .and_then(|g| i16::try_from(g).ok())
                .filter(|g| (0..=10).contains(g))
                .ok_or_else(|| {
                    Invalid::new("required: 1 (most severe) to 10, or 0 for no disability grade")
                }),
        );
        let built = (|| {
            Some(RecordAppraisal {
                key: key?,
                claim_id: claim_id?,
                grade: grade?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::AssessBenefitsRequest> for AssessBenefits {
    type Error = AppError;

    fn try_from(request: pb::AssessBenefitsRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::AssessBenefitsRequest {
            request_id: _,
            claim_id,
            medical_costs_fen,
            rehabilitation_costs_fen,
            assistive_devices_costs_fen,
            treatment_days,
            dependants,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let medical = violations.check("medical_costs_fen", Fen::non_negative(medical_costs_fen));
        let rehabilitation = violations.check(
            "rehabilitation_costs_fen",
            Fen::non_negative(rehabilitation_costs_fen),
        );
        let devices = violations.check(
            "assistive_devices_costs_fen",
            Fen::non_negative(assistive_devices_costs_fen),
        );
        let treatment_days = violations.check(
            "treatment_days",
            (0..=3650)
                .contains(&treatment_days)
                .then_some(i64::from(treatment_days))
                .ok_or_else(|| Invalid::new("must be 0 to 3650")),
        );
        let mut decoded_dependants = Some(Vec::new());
        for (n, dependant) in dependants.into_iter().enumerate() {
            let pb::Dependant {
                relation,
                orphan_or_lone_elderly,
                birth_date,
            } = dependant;
            let relation = violations.check(
                &format!("dependants[{n}].relation"),
                one_of::<Relation, pb::Relation>(relation),
            );
            // A child's birth date sets the end of its pension; nobody else's is asked for.
            let birth_date = match (relation, birth_date) {
                (Some(Relation::Child), Some(day)) => violations
                    .check(
                        &format!("dependants[{n}].birth_date"),
                        date_from_proto(Some(&day)),
                    )
                    .map(Some),
                (Some(Relation::Child), None) => {
                    violations.add(
                        &format!("dependants[{n}].birth_date"),
                        "required for a child",
                    );
                    None
                }
                (_, Some(_)) => {
                    violations.add(&format!("dependants[{n}].birth_date"), "only for a child");
                    None
                }
                (_, None) => Some(None),
            };
            match (relation, birth_date, decoded_dependants.as_mut()) {
                (Some(relation), Some(birth_date), Some(list)) => list.push(ClaimedDependant {
                    relation,
                    orphan_or_lone_elderly,
                    birth_date,
                }),
                _ => decoded_dependants = None,
            }
        }
        if decoded_dependants.as_ref().is_some_and(|list| {
            list.iter()
                .filter(|d| d.relation == Relation::Spouse)
                .count()
                > 1
        }) {
            violations.add("dependants", "at most one spouse");
        }
        let built = (|| {
            Some(AssessBenefits {
                key: key?,
                claim_id: claim_id?,
                medical_costs: medical?,
                rehabilitation_costs: rehabilitation?,
                assistive_devices_costs: devices?,
                treatment_days: treatment_days?,
                dependants: decoded_dependants?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::RecordBenefitPaymentRequest> for RecordBenefitPayment {
    type Error = AppError;

    fn try_from(request: pb::RecordBenefitPaymentRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::RecordBenefitPaymentRequest {
            request_id: _,
            claim_id,
            kind,
            amount_fen,
            paid_on,
            month,
            item,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let kind = violations.check("kind", one_of::<BenefitKind, pb::BenefitKind>(kind));
        let amount = violations.check("amount_fen", Fen::positive(amount_fen));
        let paid_on = violations.check("paid_on", date_from_proto(paid_on.as_ref()));
        let item = violations.check("item", super::decode_periodic::item_number(item));
        // A periodic item is paid for a month; a one-time item is not.
        let month = match (kind.map(BenefitKind::monthly), month.is_empty()) {
            (Some(true), true) => {
                violations.add("month", "required for a periodic benefit");
                None
            }
            (Some(false), false) => {
                violations.add("month", "only for a periodic benefit");
                None
            }
            (_, true) => Some(None),
            (_, false) => violations.check("month", Period::parse(&month)).map(Some),
        };
        if kind.is_some_and(|kind| !kind.monthly()) && item.flatten().is_some() {
            violations.add("item", "only for a periodic benefit");
        }
        let built = (|| {
            Some(RecordBenefitPayment {
                key: key?,
                claim_id: claim_id?,
                kind: kind?,
                amount: amount?,
                paid_on: paid_on?,
                month: month?,
                item: item?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::AppealDecisionRequest> for AppealDecision {
    type Error = AppError;

    fn try_from(request: pb::AppealDecisionRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::AppealDecisionRequest {
            request_id: _,
            claim_id,
            grounds,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let grounds = violations.check("grounds", free_text(grounds));
        let built = (|| {
            Some(AppealDecision {
                key: key?,
                claim_id: claim_id?,
                grounds: grounds?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::WithdrawClaimRequest> for WithdrawClaim {
    type Error = AppError;

    fn try_from(request: pb::WithdrawClaimRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::WithdrawClaimRequest {
            request_id: _,
            claim_id,
            reason,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let reason = violations.check("reason", free_text(reason));
        let built = (|| {
            Some(WithdrawClaim {
                key: key?,
                claim_id: claim_id?,
                reason: reason?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::GetClaimRequest> for GetClaim {
    type Error = AppError;

    fn try_from(request: pb::GetClaimRequest) -> AppResult<Self> {
        let pb::GetClaimRequest { claim_id } = request;
        let claim_id =
            parse_id(&claim_id).map_err(|invalid| AppError::invalid("claim_id", invalid.0))?;
        Ok(GetClaim { claim_id })
    }
}

impl TryFrom<pb::ListClaimsRequest> for ListClaims {
    type Error = AppError;

    fn try_from(request: pb::ListClaimsRequest) -> AppResult<Self> {
        let pb::ListClaimsRequest {
            province_code,
            status,
            platform_id,
            overdue_at,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::new();
        let province = non_empty(&province_code)
            .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
        let platform = non_empty(&platform_id)
            .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
        // UNSPECIFIED lists every status.
        let status = match status {
            0 => None,
            value => violations.check("status", one_of::<ClaimStatus, pb::ClaimStatus>(value)),
        };
        let overdue_on = overdue_at
            .as_ref()
            .and_then(|at| violations.check("overdue_at", instant_from_proto(at)))
            .map(china_date);
        let page_size = violations.check(
            "page_size",
            paging::page_size(page_size).map_err(|_| Invalid::new("must not be negative")),
        );
        let built = (|| {
            Some(ListClaims {
                province,
                platform,
                status,
                overdue_on,
                page_size: page_size?,
                page_token,
            })
        })();
        decoded(violations, built)
    }
}
