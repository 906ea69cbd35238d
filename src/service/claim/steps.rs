//! The steps of a claim between its report and its benefits: application, decision, appraisal
//! (and the review appraisal of a claim whose benefits ran), appeal and withdrawal. Each locks the claim, asks the policy, checks the state machine
//! (`domain::claim`), and records the step in one transaction.
use super::record::{Change, advance, open_or_replay, set_decision_due};
use super::{
    AppealDecision, ApplyForConfirmation, ClaimReply, DecideConfirmation, RecordAppraisal,
    WithdrawClaim,
};
use crate::auth::Principal;
use crate::domain::claim::{self, Applicant, ApplicationDeadlines, ClaimStatus, Step, StepTaken};
use crate::domain::clock::china_date;
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims as store;

/// Says so when a due date counted into a year whose holiday notice is not loaded.
pub(super) fn provisional_note(due: claim::DecisionDue) -> &'static str {
    if due.provisional {
        " (provisional: counted on the statutory holidays of a year whose notice is not loaded)"
    } else {
        ""
    }
}

/// The platform applies for itself through its backend; the worker and relatives apply at the
/// agency's counter, which records their application.
fn application_action(applicant: Applicant) -> Action {
    match applicant {
        Applicant::Platform => Action::ApplyAsPlatform,
        Applicant::Worker | Applicant::Relative => Action::ApplyAtCounter,
    }
}

pub async fn apply_for_confirmation<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: ApplyForConfirmation,
) -> AppResult<R> {
    let applicant = command.applicant;
    let mut locked = open_or_replay!(
        state,
        principal,
        "ApplyForConfirmation",
        &command.key,
        command.claim_id,
        application_action(applicant)
    );
    let next = advance(&locked.claim, Step::Apply)?;
    let deadlines = ApplicationDeadlines {
        platform: locked.claim.platform_application_due,
        worker: locked.claim.worker_application_due,
    };
    let late = deadlines
        .check_application(
            applicant,
            state.clock.today(),
            command.late_explanation.is_some(),
        )
        .map_err(|refused| AppError::FailedPrecondition(refused.0))?;
    let due = set_decision_due(&mut locked.tx, &mut locked.claim, state.clock.today()).await?;
    locked.claim.applicant = Some(applicant);
    locked.claim.late_explanation = command.late_explanation;
    let detail = format!(
        "{applicant} applied{}; decision due by {}{}",
        if late {
            " late, with a written explanation"
        } else {
            ""
        },
        due.day,
        provisional_note(due)
    );
    locked
        .conclude(
            state,
            principal,
            Change::new(StepTaken::Applied, next, detail),
        )
        .await
}

pub async fn decide_confirmation<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: DecideConfirmation,
) -> AppResult<R> {
    let mut locked = open_or_replay!(
        state,
        principal,
        "DecideConfirmation",
        &command.key,
        command.claim_id,
        Action::DecideClaim
    );
    let confirmed = command.confirmed;
    let next = advance(&locked.claim, Step::Decide { confirmed })?;
    let detail = format!(
        "{}: {}",
        if confirmed {
            "confirmed"
        } else {
            "not confirmed"
        },
        command.reasons
    );
    locked.claim.decision_reasons = Some(command.reasons);
    locked
        .conclude(
            state,
            principal,
            Change::new(StepTaken::Decided, next, detail),
        )
        .await
}

pub async fn record_appraisal<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: RecordAppraisal,
) -> AppResult<R> {
    let mut locked = open_or_replay!(
        state,
        principal,
        "RecordAppraisal",
        &command.key,
        command.claim_id,
        Action::DecideClaim
    );
    // On a claim whose benefits ran (in payment or closed) an appraisal is a review.
    let review = matches!(
        locked.claim.status,
        ClaimStatus::InPayment | ClaimStatus::Closed
    );
    let (next, step) = if review {
        (advance(&locked.claim, Step::Review)?, StepTaken::Reviewed)
    } else {
        (
            advance(&locked.claim, Step::Appraise)?,
            StepTaken::Appraised,
        )
    };
    if review {
        let policy = state
            .cache
            .claim_policy(&mut *locked.tx, &locked.claim.province_code)
            .await?;
        let last = store::last_taken(&mut *locked.tx, &locked.claim, StepTaken::Appraised)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "claim {} has benefits but no appraisal",
                    locked.claim.claim_id
                )
            })?;
        let last_review =
            store::last_taken(&mut *locked.tx, &locked.claim, StepTaken::Reviewed).await?;
        let concluded = china_date(last_review.map_or(last, |review| review.max(last)));
        claim::check_review(&policy, concluded, state.clock.today())
            .map_err(|refused| AppError::FailedPrecondition(refused.0))?;
    }
    let describe = |grade: i16| match grade {
        0 => "no disability grade".to_owned(),
        g => format!("grade {g}"),
    };
    let grade = command.grade;
    let detail = match (locked.claim.grade, review) {
        (Some(earlier), true) => format!(
            "review appraisal: {} supersedes {}; the benefits are to be re-assessed",
            describe(grade),
            describe(earlier)
        ),
        (Some(earlier), false) => format!(
            "re-appraisal: {} supersedes {}",
            describe(grade),
            describe(earlier)
        ),
        (None, _) => describe(grade),
    };
    locked.claim.grade = Some(grade);
    locked
        .conclude(state, principal, Change::new(step, next, detail))
        .await
}

pub async fn appeal_decision<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: AppealDecision,
) -> AppResult<R> {
    let mut locked = open_or_replay!(
        state,
        principal,
        "AppealDecision",
        &command.key,
        command.claim_id,
        Action::AppealOrWithdraw
    );
    let next = advance(&locked.claim, Step::Appeal)?;
    let due = set_decision_due(&mut locked.tx, &mut locked.claim, state.clock.today()).await?;
    locked.claim.decision_reasons = None;
    let detail = format!(
        "decision reopened, due by {}{}: {}",
        due.day,
        provisional_note(due),
        command.grounds
    );
    locked
        .conclude(
            state,
            principal,
            Change::new(StepTaken::Appealed, next, detail),
        )
        .await
}

pub async fn withdraw_claim<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: WithdrawClaim,
) -> AppResult<R> {
    let locked = open_or_replay!(
        state,
        principal,
        "WithdrawClaim",
        &command.key,
        command.claim_id,
        Action::AppealOrWithdraw
    );
    let next = advance(&locked.claim, Step::Withdraw)?;
    let detail = format!("withdrawn: {}", command.reason);
    locked
        .conclude(
            state,
            principal,
            Change::new(StepTaken::Withdrawn, next, detail),
        )
        .await
}
