//! Claims as the API shows them, and the domain's closed sets as their proto enums.
use crate::api::convert::{date_to_proto, timestamp};
use crate::domain::benefits::{BenefitKind, Payer, Relation};
use crate::domain::claim::{Applicant, ClaimStatus, IncidentKind, StepTaken};
use crate::domain::periodic::{ChangeKind, ChangeReason, Standing, show};
use crate::pb;
use crate::service::claim::{BenefitsDuePage, ClaimAnswer, ClaimPage, ItemView};
use crate::store::claims::{ClaimRow, TimelineRow};

impl From<ClaimStatus> for pb::ClaimStatus {
    fn from(status: ClaimStatus) -> Self {
        match status {
            ClaimStatus::Reported => Self::Reported,
            ClaimStatus::Applied => Self::Applied,
            ClaimStatus::Confirmed => Self::Confirmed,
            ClaimStatus::NotConfirmed => Self::NotConfirmed,
            ClaimStatus::Appraised => Self::Appraised,
            ClaimStatus::Assessed => Self::Assessed,
            ClaimStatus::InPayment => Self::InPayment,
            ClaimStatus::Closed => Self::Closed,
            ClaimStatus::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<StepTaken> for pb::ClaimStep {
    fn from(step: StepTaken) -> Self {
        match step {
            StepTaken::Reported => Self::Reported,
            StepTaken::Applied => Self::Applied,
            StepTaken::Decided => Self::Decided,
            StepTaken::Appraised => Self::Appraised,
            StepTaken::Assessed => Self::Assessed,
            StepTaken::Paid => Self::Paid,
            StepTaken::Appealed => Self::Appealed,
            StepTaken::Withdrawn => Self::Withdrawn,
            StepTaken::BenefitEnded => Self::BenefitEnded,
            StepTaken::BenefitSuspended => Self::BenefitSuspended,
            StepTaken::BenefitResumed => Self::BenefitResumed,
            StepTaken::Reviewed => Self::Reviewed,
            StepTaken::Relapsed => Self::Relapsed,
            StepTaken::DueRecounted => Self::DueRecounted,
        }
    }
}

impl From<IncidentKind> for pb::IncidentKind {
    fn from(kind: IncidentKind) -> Self {
        match kind {
            IncidentKind::Injury => Self::Injury,
            IncidentKind::Death => Self::Death,
        }
    }
}

impl From<Applicant> for pb::Applicant {
    fn from(applicant: Applicant) -> Self {
        match applicant {
            Applicant::Platform => Self::Platform,
            Applicant::Worker => Self::Worker,
            Applicant::Relative => Self::Relative,
        }
    }
}

impl From<Relation> for pb::Relation {
    fn from(relation: Relation) -> Self {
        match relation {
            Relation::Spouse => Self::Spouse,
            Relation::Other => Self::Other,
            Relation::Child => Self::Child,
        }
    }
}

impl From<BenefitKind> for pb::BenefitKind {
    fn from(kind: BenefitKind) -> Self {
        match kind {
            BenefitKind::Medical => Self::Medical,
            BenefitKind::Rehabilitation => Self::Rehabilitation,
            BenefitKind::AssistiveDevices => Self::AssistiveDevices,
            BenefitKind::OneTimeDisabilitySubsidy => Self::OneTimeDisabilitySubsidy,
            BenefitKind::DisabilityAllowance => Self::DisabilityAllowance,
            BenefitKind::LivingAllowance => Self::LivingAllowance,
            BenefitKind::FuneralSubsidy => Self::FuneralSubsidy,
            BenefitKind::DeathSubsidy => Self::DeathSubsidy,
            BenefitKind::DependantPension => Self::DependantPension,
            BenefitKind::OneTimeDisabilityAllowance => Self::OneTimeDisabilityAllowance,
        }
    }
}

impl From<Payer> for pb::BenefitPayer {
    fn from(payer: Payer) -> Self {
        match payer {
            Payer::Fund => Self::Fund,
            Payer::Platform => Self::Platform,
        }
    }
}

/// The summary fields, without description, timeline, benefits or duplicate flags (listings).
pub fn summary(claim: &ClaimRow) -> pb::Claim {
    pb::Claim {
        claim_id: claim.claim_id.to_string(),
        province_code: claim.province_code.clone(),
        platform_id: claim.platform_id.clone(),
        id_number_masked: claim.id_masked.clone(),
        order_id: claim.order_id.clone(),
        occurred_at: Some(timestamp(claim.occurred_at)),
        place_code: claim.place_code.clone(),
        kind: pb::IncidentKind::from(claim.kind) as i32,
        description: String::new(),
        status: pb::ClaimStatus::from(claim.status) as i32,
        covered: claim.covered,
        enrolment_id: claim
            .enrolment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        covering_order_id: claim.covering_order_id.clone().unwrap_or_default(),
        reported_at: Some(timestamp(claim.reported_at)),
        platform_application_due: Some(date_to_proto(claim.platform_application_due)),
        worker_application_due: Some(date_to_proto(claim.worker_application_due)),
        decision_due: claim.decision_due.map(date_to_proto),
        decision_due_provisional: claim.decision_due_provisional,
        applicant: claim
            .applicant
            .map_or(pb::Applicant::Unspecified, pb::Applicant::from) as i32,
        late_explanation: claim.late_explanation.clone().unwrap_or_default(),
        decision_reasons: claim.decision_reasons.clone().unwrap_or_default(),
        grade: claim.grade.map(i32::from),
        benefits: Vec::new(),
        timeline: Vec::new(),
        possible_duplicate: false,
        possible_duplicate_of: Vec::new(),
    }
}

fn timeline_entry(entry: &TimelineRow) -> pb::TimelineEntry {
    pb::TimelineEntry {
        seq: entry.seq,
        step: pb::ClaimStep::from(entry.step) as i32,
        status: pb::ClaimStatus::from(entry.status) as i32,
        at: Some(timestamp(entry.at)),
        actor: entry.actor.clone(),
        detail: entry.detail.clone(),
    }
}

impl From<ChangeKind> for pb::PeriodicChange {
    fn from(change: ChangeKind) -> Self {
        match change {
            ChangeKind::End => Self::End,
            ChangeKind::Suspend => Self::Suspend,
            ChangeKind::Resume => Self::Resume,
        }
    }
}

impl From<ChangeReason> for pb::PeriodicChangeReason {
    fn from(reason: ChangeReason) -> Self {
        match reason {
            ChangeReason::WorkerDied => Self::WorkerDied,
            ChangeReason::DependantDied => Self::DependantDied,
            ChangeReason::EligibilityEnded => Self::EligibilityEnded,
            ChangeReason::RefusedAppraisal => Self::RefusedAppraisal,
            ChangeReason::RefusedTreatment => Self::RefusedTreatment,
            ChangeReason::Imprisoned => Self::Imprisoned,
            ChangeReason::GroundsEnded => Self::GroundsEnded,
        }
    }
}

impl From<Standing> for pb::PeriodicStanding {
    fn from(standing: Standing) -> Self {
        match standing {
            Standing::Running => Self::Running,
            Standing::Suspended { .. } => Self::Suspended,
            Standing::Ended { .. } => Self::Ended,
        }
    }
}

fn benefit_item(view: &ItemView) -> pb::BenefitItem {
    let item = &view.row;
    pb::BenefitItem {
        item: item.item,
        standing: view.standing.map_or(
            pb::PeriodicStanding::Unspecified,
            pb::PeriodicStanding::from,
        ) as i32,
        eligible_before: item.eligible_before.map(date_to_proto),
        kind: pb::BenefitKind::from(item.kind) as i32,
        payer: pb::BenefitPayer::from(item.payer) as i32,
        amount_fen: item.amount_fen,
        monthly: item.monthly,
        formula: item.formula.clone(),
        inputs: item
            .input_names
            .iter()
            .cloned()
            .zip(item.input_values.iter().copied())
            .collect(),
        paid_fen: item.paid_fen,
    }
}

impl From<&ClaimAnswer> for pb::Claim {
    fn from(answer: &ClaimAnswer) -> Self {
        let duplicates = answer.duplicates.as_deref().unwrap_or_default();
        pb::Claim {
            description: answer.description.clone(),
            timeline: answer.timeline.iter().map(timeline_entry).collect(),
            benefits: answer.benefits.iter().map(benefit_item).collect(),
            possible_duplicate: !duplicates.is_empty(),
            possible_duplicate_of: duplicates.iter().map(ToString::to_string).collect(),
            ..summary(&answer.claim)
        }
    }
}

impl From<&BenefitsDuePage> for pb::ListBenefitsDueResponse {
    fn from(page: &BenefitsDuePage) -> Self {
        pb::ListBenefitsDueResponse {
            due: page
                .due
                .iter()
                .map(|due| pb::BenefitDue {
                    claim_id: due.claim_id.to_string(),
                    kind: pb::BenefitKind::from(due.kind) as i32,
                    item: due.item,
                    month: show(due.month),
                    entitlement_fen: due.entitlement.0,
                    paid_fen: due.paid.0,
                    shortfall_fen: due.shortfall().0,
                    adjustment_version: due.adjustment_version.clone(),
                })
                .collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}

impl From<&ClaimPage> for pb::ListClaimsResponse {
    fn from(page: &ClaimPage) -> Self {
        pb::ListClaimsResponse {
            claims: page.claims.iter().map(summary).collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}
