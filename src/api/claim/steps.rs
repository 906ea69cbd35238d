//! The steps of a claim after its report. Each locks the claim, checks the caller and the state
//! machine (`domain::claim`), applies the step, and records it in the claim, its timeline and the
//! event outbox in one transaction; the answer is the claim as the caller may see it.
use super::view::{self, parse_claim_id};
use crate::api::convert::{date_from_proto, timestamp};
use crate::api::{AppState, Idempotent, record_province};
use crate::auth::Principal;
use crate::domain::benefits::{self, BenefitKind, Dependant, Relation};
use crate::domain::claim::{self, ClaimStatus, IncidentKind, Step};
use crate::domain::clock::china_date;
use crate::domain::money::{Fen, div_round_half_up};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::claims::{self as store, ClaimRow, NewItem};
use crate::store::{Tx, events};
use chrono::Datelike;
use prost::Message;

const MAX_TEXT_CHARS: usize = 2000;
/// Calendar days searched for the working days of a decision deadline (30 working days never
/// span more than about 50 calendar days, even over the Spring Festival).
const CALENDAR_LOOKAHEAD_DAYS: i64 = 120;

/// What a step changes, for the claim row, its timeline and its event.
pub struct Change {
    pub step: &'static str,
    pub status: ClaimStatus,
    /// IAIABC maintenance type code: 00 original, 04 denial, IP initial payment, FN final, 02 change.
    pub maintenance_type_code: &'static str,
    pub detail: String,
    pub benefit_kind: &'static str,
    pub amount_fen: i64,
}

impl Change {
    pub fn new(
        step: &'static str,
        status: ClaimStatus,
        maintenance_type_code: &'static str,
        detail: String,
    ) -> Self {
        Self {
            step,
            status,
            maintenance_type_code,
            detail,
            benefit_kind: "",
            amount_fen: 0,
        }
    }
}

/// Writes the claim's new state, a timeline entry and an event.
pub async fn record_change(
    state: &AppState,
    tx: &mut Tx,
    principal: &Principal,
    claim: &mut ClaimRow,
    change: Change,
) -> AppResult<()> {
    let now = state.clock.now();
    let actor = principal.caller_key();
    claim.status = change.status.as_str().to_owned();
    store::update(tx, claim, now).await?;
    store::append_timeline(tx, claim, change.step, &actor, &change.detail, now).await?;
    let payload = pb::ClaimStepV1 {
        claim_id: claim.claim_id.to_string(),
        province_code: claim.province_code.clone(),
        platform_id: claim.platform_id.clone(),
        step: change.step.to_owned(),
        status: claim.status.clone(),
        maintenance_type_code: change.maintenance_type_code.to_owned(),
        person_key: hex::encode(&claim.person_key),
        id_number_masked: claim.id_masked.clone(),
        kind: view::kind_to_proto(&claim.kind),
        benefit_kind: change.benefit_kind.to_owned(),
        amount_fen: change.amount_fen,
        grade: claim.grade.map_or(-1, i32::from),
        occurred_at: Some(timestamp(now)),
        actor,
    };
    let event_type = format!("claim.{}.v1", change.step);
    events::append(
        tx,
        events::NewEvent {
            province_code: &claim.province_code,
            event_type: &event_type,
            aggregate_id: claim.claim_id,
            payload: payload.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await
}

/// The claim locked for a step; returns the stored answer of an earlier identical request.
macro_rules! begin_or_replay {
    ($state:expr, $principal:expr, $idempotent:expr, $claim_id:expr) => {
        match begin($state, $principal, $idempotent, $claim_id).await? {
            Begun::Fresh(tx, claim) => (tx, claim),
            Begun::Replayed(answer) => return Ok(answer),
        }
    };
}

/// The claim locked for a step, or the stored answer of an earlier identical request.
enum Begun {
    Fresh(Tx, ClaimRow),
    Replayed(pb::Claim),
}

async fn begin(
    state: &AppState,
    principal: &Principal,
    idempotent: &Idempotent,
    raw_claim_id: &str,
) -> AppResult<Begun> {
    let claim_id = parse_claim_id(raw_claim_id)?;
    let mut tx = match idempotent.begin::<pb::Claim>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(Begun::Replayed(replayed)),
    };
    let claim = store::lock(&mut tx, claim_id)
        .await?
        .filter(|claim| view::visible_to(principal, claim))
        .ok_or_else(|| view::not_found(claim_id))?;
    record_province(&claim.province_code);
    Ok(Begun::Fresh(tx, claim))
}

async fn finish(
    state: &AppState,
    mut tx: Tx,
    principal: &Principal,
    idempotent: &Idempotent,
    claim: &ClaimRow,
    rpc: &str,
) -> AppResult<pb::Claim> {
    let response = view::full(state, &mut tx, principal, claim, rpc).await?;
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

/// Whether every one-time kind is paid in full, with `paid_now(kind)` added to what was paid.
fn kinds_settled(items: &[store::ItemRow], paid_now: impl Fn(&str) -> i64) -> bool {
    let mut owed: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for item in items.iter().filter(|i| !i.monthly) {
        *owed.entry(item.kind.as_str()).or_default() += item.amount_fen - item.paid_fen;
    }
    owed.iter().all(|(kind, owed)| *owed <= paid_now(kind))
}

/// Records the step and answers with the claim (stored for replays of the request).
async fn conclude(
    state: &AppState,
    mut tx: Tx,
    principal: &Principal,
    idempotent: &Idempotent,
    mut claim: ClaimRow,
    change: Change,
    rpc: &str,
) -> AppResult<pb::Claim> {
    record_change(state, &mut tx, principal, &mut claim, change).await?;
    finish(state, tx, principal, idempotent, &claim, rpc).await
}

/// The status after `step`, or FAILED_PRECONDITION naming the current one.
fn advance(claim: &ClaimRow, step: Step) -> AppResult<ClaimStatus> {
    let status = ClaimStatus::parse(&claim.status)
        .ok_or_else(|| anyhow::anyhow!("claim {} has status {:?}", claim.claim_id, claim.status))?;
    let kind = IncidentKind::parse(&claim.kind)
        .ok_or_else(|| anyhow::anyhow!("claim {} has kind {:?}", claim.claim_id, claim.kind))?;
    claim::next(status, kind, step).map_err(|refused| AppError::FailedPrecondition(refused.0))
}

fn is_agency_of(principal: &Principal, claim: &ClaimRow) -> bool {
    matches!(&principal.role, Role::ProvinceAgency(own) if own.as_str() == claim.province_code)
}

fn is_platform_of(principal: &Principal, claim: &ClaimRow) -> bool {
    matches!(&principal.role, Role::Platform(own) if own.as_str() == claim.platform_id)
}

fn require_agency(principal: &Principal, claim: &ClaimRow, what: &str) -> AppResult<()> {
    if is_agency_of(principal, claim) {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "{what} is for the province agency of {}",
            claim.province_code
        )))
    }
}

fn require_platform_or_agency(
    principal: &Principal,
    claim: &ClaimRow,
    what: &str,
) -> AppResult<()> {
    if is_platform_of(principal, claim) || is_agency_of(principal, claim) {
        Ok(())
    } else {
        Err(AppError::PermissionDenied(format!(
            "{what} is for the reporting platform or the province agency of {}",
            claim.province_code
        )))
    }
}

/// A required free text, trimmed.
fn required_text(violations: &mut Violations, field: &str, value: &str, what: &str) -> String {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT_CHARS {
        violations.add(
            field,
            format!("required: {what}, up to {MAX_TEXT_CHARS} characters"),
        );
    }
    value.to_owned()
}

async fn decision_due(
    state: &AppState,
    tx: &mut Tx,
    claim: &ClaimRow,
) -> AppResult<chrono::NaiveDate> {
    let policy = store::policy(&mut **tx, &claim.province_code).await?;
    let today = state.clock.today();
    let calendar = store::calendar(&mut **tx, today, CALENDAR_LOOKAHEAD_DAYS).await?;
    Ok(calendar.add_working_days(today, policy.decision_working_days.unsigned_abs()))
}

pub async fn apply(
    state: &AppState,
    principal: &Principal,
    request: pb::ApplyForConfirmationRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "ApplyForConfirmation";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let applicant = match pb::Applicant::try_from(request.applicant) {
        Ok(pb::Applicant::Platform) => "platform",
        Ok(pb::Applicant::Worker) => "worker",
        Ok(pb::Applicant::Relative) => "relative",
        _ => {
            return Err(AppError::invalid(
                "applicant",
                "required: APPLICANT_PLATFORM, APPLICANT_WORKER or APPLICANT_RELATIVE",
            ));
        }
    };
    let explanation = request.late_explanation.trim().to_owned();
    if explanation.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::invalid(
            "late_explanation",
            format!("up to {MAX_TEXT_CHARS} characters"),
        ));
    }
    let (mut tx, mut claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_platform_or_agency(principal, &claim, "applying for confirmation")?;
    let next = advance(&claim, Step::Apply)?;
    let due = if applicant == "platform" {
        claim.platform_application_due
    } else {
        claim.worker_application_due
    };
    let late = state.clock.today() > due;
    if late && explanation.is_empty() {
        return Err(AppError::FailedPrecondition(format!(
            "the {applicant}'s application was due by {due} (China Standard Time); a later application needs a written late_explanation"
        )));
    }
    let decision_due = decision_due(state, &mut tx, &claim).await?;
    claim.applicant = Some(applicant.to_owned());
    claim.late_explanation = (!explanation.is_empty()).then_some(explanation);
    claim.decision_due = Some(decision_due);
    let detail = format!(
        "{applicant} applied{}; decision due by {decision_due}",
        if late {
            " late, with a written explanation"
        } else {
            ""
        }
    );
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change::new("applied", next, "02", detail),
        RPC,
    )
    .await
}

pub async fn decide(
    state: &AppState,
    principal: &Principal,
    request: pb::DecideConfirmationRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "DecideConfirmation";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let mut violations = Violations::new();
    let reasons = required_text(&mut violations, "reasons", &request.reasons, "the reasons");
    violations.into_result()?;
    let (tx, mut claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_agency(principal, &claim, "deciding a confirmation")?;
    let confirmed = request.confirmed;
    let next = advance(&claim, Step::Decide { confirmed })?;
    let detail = format!(
        "{}: {reasons}",
        if confirmed {
            "confirmed"
        } else {
            "not confirmed"
        }
    );
    claim.decision_reasons = Some(reasons);
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change::new("decided", next, if confirmed { "02" } else { "04" }, detail),
        RPC,
    )
    .await
}

pub async fn appraise(
    state: &AppState,
    principal: &Principal,
    request: pb::RecordAppraisalRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "RecordAppraisal";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let grade = i16::try_from(request.grade)
        .ok()
        .filter(|g| (0..=10).contains(g))
        .ok_or_else(|| {
            AppError::invalid("grade", "must be 1 (most severe) to 10, or 0 for no grade")
        })?;
    let (tx, mut claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_agency(principal, &claim, "recording an appraisal")?;
    let next = advance(&claim, Step::Appraise)?;
    let describe = |grade: i16| match grade {
        0 => "no disability grade".to_owned(),
        g => format!("grade {g}"),
    };
    let detail = match claim.grade {
        Some(earlier) => format!(
            "re-appraisal: {} supersedes {}",
            describe(grade),
            describe(earlier)
        ),
        None => describe(grade),
    };
    claim.grade = Some(grade);
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change::new("appraised", next, "02", detail),
        RPC,
    )
    .await
}

fn non_negative(violations: &mut Violations, field: &str, value: i64) -> Fen {
    if value < 0 {
        violations.add(field, "must not be negative");
    }
    Fen(value.max(0))
}

pub async fn assess(
    state: &AppState,
    principal: &Principal,
    request: pb::AssessBenefitsRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "AssessBenefits";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let mut violations = Violations::new();
    let medical = non_negative(
        &mut violations,
        "medical_costs_fen",
        request.medical_costs_fen,
    );
    let rehabilitation = non_negative(
        &mut violations,
        "rehabilitation_costs_fen",
        request.rehabilitation_costs_fen,
    );
    let devices = non_negative(
        &mut violations,
        "assistive_devices_costs_fen",
        request.assistive_devices_costs_fen,
    );
    if !(0..=3650).contains(&request.treatment_days) {
        violations.add("treatment_days", "must be 0 to 3650");
    }
    let mut dependants = Vec::new();
    for (n, dependant) in request.dependants.iter().enumerate() {
        let relation = match pb::Relation::try_from(dependant.relation) {
            Ok(pb::Relation::Spouse) => Relation::Spouse,
            Ok(pb::Relation::Other) => Relation::Other,
            _ => {
                violations.add(
                    &format!("dependants[{n}].relation"),
                    "required: RELATION_SPOUSE or RELATION_OTHER",
                );
                continue;
            }
        };
        dependants.push(Dependant {
            relation,
            orphan_or_lone_elderly: dependant.orphan_or_lone_elderly,
        });
    }
    if dependants
        .iter()
        .filter(|d| d.relation == Relation::Spouse)
        .count()
        > 1
    {
        violations.add("dependants", "at most one spouse");
    }
    violations.into_result()?;
    let (mut tx, claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_agency(principal, &claim, "assessing benefits")?;
    let next = advance(&claim, Step::Assess)?;
    let kind = IncidentKind::parse(&claim.kind)
        .ok_or_else(|| anyhow::anyhow!("claim {} has kind {:?}", claim.claim_id, claim.kind))?;
    if kind == IncidentKind::Injury && !dependants.is_empty() {
        return Err(AppError::invalid("dependants", "only for a death"));
    }
    let policy = store::policy(&mut *tx, &claim.province_code).await?;
    let accident_year = china_date(claim.occurred_at).year();
    let wage_year = accident_year + policy.wage_base_year_offset;
    let annual = crate::store::pension::average_wage(&mut *tx, &claim.province_code, wage_year)
        .await?
        .ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "no {wage_year} average wage is recorded for province {} (SetAverageWage)",
                claim.province_code
            ))
        })?;
    let average_monthly = Fen(div_round_half_up(i128::from(annual), 12) as i64);
    let wage_base = Fen(div_round_half_up(
        i128::from(average_monthly.0) * i128::from(policy.wage_base_percent),
        100,
    ) as i64);
    let national_income = if kind == IncidentKind::Death {
        let year = accident_year - 1;
        let income = store::national_income(&mut *tx, year).await?.ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "no {year} national urban per-capita disposable income is recorded (SetNationalIncome)"
            ))
        })?;
        Some(Fen(income))
    } else {
        None
    };
    let items = benefits::assess(&benefits::Inputs {
        kind,
        grade: claim
            .grade
            .and_then(|g| u8::try_from(g).ok())
            .filter(|g| *g > 0),
        wage_base,
        average_monthly_wage: average_monthly,
        national_income,
        medical_costs: medical,
        rehabilitation_costs: rehabilitation,
        assistive_devices_costs: devices,
        treatment_days: i64::from(request.treatment_days),
        dependants,
    });
    let rows: Vec<NewItem<'_>> = items
        .iter()
        .map(|item| NewItem {
            kind: item.kind.as_str(),
            payer: item.kind.payer().as_str(),
            amount_fen: item.amount.0,
            monthly: item.kind.monthly(),
            formula: item.formula,
            input_names: item.inputs.iter().map(|(name, _)| *name).collect(),
            input_values: item.inputs.iter().map(|(_, value)| *value).collect(),
        })
        .collect();
    store::insert_items(&mut tx, &claim, &rows).await?;
    let once: i64 = items
        .iter()
        .filter(|i| !i.kind.monthly())
        .map(|i| i.amount.0)
        .sum();
    let monthly: i64 = items
        .iter()
        .filter(|i| i.kind.monthly())
        .map(|i| i.amount.0)
        .sum();
    let detail = format!(
        "{} items on a wage base of {wage_base} yuan a month ({wage_year}): {} yuan once, {} yuan a month",
        items.len(),
        Fen(once),
        Fen(monthly)
    );
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change {
            amount_fen: once,
            ..Change::new("assessed", next, "02", detail)
        },
        RPC,
    )
    .await
}

pub async fn pay(
    state: &AppState,
    principal: &Principal,
    request: pb::RecordBenefitPaymentRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "RecordBenefitPayment";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let mut violations = Violations::new();
    let kind = BenefitKind::parse(request.kind.trim());
    if kind.is_none() {
        violations.add("kind", "required: a benefit item kind, e.g. medical");
    }
    if request.amount_fen <= 0 {
        violations.add("amount_fen", "must be positive");
    }
    let paid_on = violations.check("paid_on", date_from_proto(request.paid_on.as_ref()));
    let (Some(kind), Some(paid_on)) = (kind, paid_on) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let (mut tx, claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    let platform_item = kind.payer() == benefits::Payer::Platform;
    if !(is_agency_of(principal, &claim) || (platform_item && is_platform_of(principal, &claim))) {
        return Err(AppError::PermissionDenied(format!(
            "a {} payment is recorded by the province agency of {}{}",
            kind.as_str(),
            claim.province_code,
            if platform_item {
                " or the platform"
            } else {
                ""
            }
        )));
    }
    // Checked before the amount, so a claim not yet assessed says so.
    advance(&claim, Step::Pay { settled: false })?;
    let items = store::items(&mut *tx, &claim).await?;
    let of_kind: Vec<_> = items.iter().filter(|i| i.kind == kind.as_str()).collect();
    if of_kind.is_empty() {
        return Err(AppError::FailedPrecondition(format!(
            "the current assessment has no {} item",
            kind.as_str()
        )));
    }
    if !kind.monthly() {
        let remaining: i64 = of_kind.iter().map(|i| i.amount_fen - i.paid_fen).sum();
        if request.amount_fen > remaining {
            return Err(AppError::FailedPrecondition(format!(
                "only {} yuan of {} remain to be paid",
                Fen(remaining),
                kind.as_str()
            )));
        }
    }
    let first = store::payments_count(&mut tx, &claim).await? == 0;
    let actor = principal.caller_key();
    store::insert_payment(
        &mut tx,
        &claim,
        kind.as_str(),
        request.amount_fen,
        paid_on,
        &actor,
        state.clock.now(),
    )
    .await?;
    // Settled when every one-time item is paid in full, counting this payment against its kind.
    let paid_now = |kind_of_item: &str| {
        if kind_of_item == kind.as_str() {
            request.amount_fen
        } else {
            0
        }
    };
    let settled = kinds_settled(&items, paid_now);
    let next = advance(&claim, Step::Pay { settled })?;
    let code = match (first, next) {
        (_, ClaimStatus::Closed) => "FN",
        (true, _) => "IP",
        _ => "02",
    };
    let detail = format!(
        "{} yuan of {} paid on {paid_on}{}",
        Fen(request.amount_fen),
        kind.as_str(),
        if settled {
            "; every one-time item is paid in full"
        } else {
            ""
        }
    );
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change {
            benefit_kind: kind.as_str(),
            amount_fen: request.amount_fen,
            ..Change::new("paid", next, code, detail)
        },
        RPC,
    )
    .await
}

pub async fn appeal(
    state: &AppState,
    principal: &Principal,
    request: pb::AppealDecisionRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "AppealDecision";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let mut violations = Violations::new();
    let grounds = required_text(&mut violations, "grounds", &request.grounds, "the grounds");
    violations.into_result()?;
    let (mut tx, mut claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_platform_or_agency(principal, &claim, "appealing a decision")?;
    let next = advance(&claim, Step::Appeal)?;
    let due = decision_due(state, &mut tx, &claim).await?;
    claim.decision_due = Some(due);
    claim.decision_reasons = None;
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change::new(
            "appealed",
            next,
            "02",
            format!("decision reopened, due by {due}: {grounds}"),
        ),
        RPC,
    )
    .await
}

pub async fn withdraw(
    state: &AppState,
    principal: &Principal,
    request: pb::WithdrawClaimRequest,
) -> AppResult<pb::Claim> {
    const RPC: &str = "WithdrawClaim";
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let mut violations = Violations::new();
    let reason = required_text(&mut violations, "reason", &request.reason, "the reason");
    violations.into_result()?;
    let (tx, claim) = begin_or_replay!(state, principal, &idempotent, &request.claim_id);
    require_platform_or_agency(principal, &claim, "withdrawing a claim")?;
    let next = advance(&claim, Step::Withdraw)?;
    conclude(
        state,
        tx,
        principal,
        &idempotent,
        claim,
        Change::new("withdrawn", next, "FN", format!("withdrawn: {reason}")),
        RPC,
    )
    .await
}
