//! ListBenefitsDue: a province's periodic benefits due and not paid in full, month by month, as of
//! a day. Items are read by claim and item in batches, each item's schedule gives its due months,
//! and months paid in full are left out; a page ends after `page_size` months.
use super::ListBenefitsDue;
use super::periodic::earlier_segments;
use crate::api::paging;
use crate::auth::Principal;
use crate::domain::benefits::BenefitKind;
use crate::domain::clock::check_fact_day;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic::{Adjustment, Schedule, show};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner};
use crate::service::AppState;
use crate::store::periodic::{self as store, ChangeRow, DueItemRow, VersionRow};
use std::collections::HashMap;
use uuid::Uuid;

/// Items read per round trip.
const BATCH: i64 = 200;

/// One month of one periodic item not paid in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitDue {
    pub claim_id: Uuid,
    pub kind: BenefitKind,
    pub item: i32,
    pub month: Period,
    pub entitlement: Fen,
    /// The adjustment versions the entitlement used.
    pub adjustment_version: String,
    pub paid: Fen,
}

impl BenefitDue {
    pub fn shortfall(&self) -> Fen {
        Fen(self.entitlement.0.saturating_sub(self.paid.0))
    }

    /// Where a page after this entry starts: claim, item, month.
    fn cursor(&self) -> String {
        format!("{}/{}/{}", self.claim_id, self.item, show(self.month))
    }
}

#[derive(Debug, Clone)]
pub struct BenefitsDuePage {
    pub due: Vec<BenefitDue>,
    pub next_page_token: String,
}

fn parse_cursor(cursor: &str) -> Option<(Uuid, i32, Period)> {
    let mut parts = cursor.splitn(3, '/');
    let claim_id = Uuid::parse_str(parts.next()?).ok()?;
    let item = parts.next()?.parse().ok()?;
    let month = Period::parse(parts.next()?).ok()?;
    Some((claim_id, item, month))
}

pub async fn list_benefits_due(
    state: &AppState,
    principal: &Principal,
    command: ListBenefitsDue,
) -> AppResult<BenefitsDuePage> {
    policy::authorize_scope(
        &principal.role,
        Action::ListBenefitsDue,
        Owner::province(&command.province),
    )?;
    let today = state.clock.today();
    let as_of = command.as_of.unwrap_or(today);
    check_fact_day(as_of, today).map_err(|invalid| AppError::invalid("as_of", invalid.0))?;
    let province = command.province.as_str();
    let query = format!("benefits-due|{}|{province}|{as_of}", principal.caller_key());
    let after = paging::decode_token(&query, &command.page_token)?
        .map(|cursor| {
            parse_cursor(&cursor)
                .ok_or_else(|| AppError::invalid("page_token", "is not a token from this listing"))
        })
        .transpose()?;
    let through = Period::containing(as_of);
    let adjustments = store::adjustments(&state.pool, province).await?;
    let mut due = Vec::new();
    let mut from = after.map(|(claim_id, item, _)| (claim_id, item));
    loop {
        let items = store::due_items(&state.pool, province, as_of, from, BATCH).await?;
        let claims: Vec<Uuid> = items.iter().map(|item| item.claim_id).collect();
        let changes = store::changes_of(&state.pool, province, &claims, Some(as_of)).await?;
        let versions = store::periodic_versions(&state.pool, province, &claims).await?;
        let mut paid: HashMap<(Uuid, BenefitKind, i32, Period), Fen> = HashMap::new();
        for row in store::month_payments_of(&state.pool, province, &claims, as_of).await? {
            let sum = paid
                .entry((
                    row.claim_id,
                    row.kind,
                    row.item,
                    Period::containing(row.month),
                ))
                .or_default();
            *sum = Fen(sum.0.saturating_add(row.amount_fen));
        }
        for item in &items {
            let schedule = schedule(item, &changes, &adjustments, &versions);
            for month in schedule.due_months(through) {
                let key = (item.claim_id, item.kind, item.item, month);
                if after.is_some_and(|(claim, number, last)| {
                    (item.claim_id, item.item, month) <= (claim, number, last)
                }) {
                    continue;
                }
                let paid = paid.get(&key).copied().unwrap_or_default();
                let entitlement = schedule.entitlement(month);
                if paid < entitlement.amount {
                    due.push(BenefitDue {
                        claim_id: item.claim_id,
                        kind: item.kind,
                        item: item.item,
                        month,
                        adjustment_version: entitlement.version(),
                        entitlement: entitlement.amount,
                        paid,
                    });
                }
            }
        }
        if due.len() as i64 > command.page_size || (items.len() as i64) < BATCH {
            break;
        }
        from = items.last().map(|last| (last.claim_id, last.item + 1));
    }
    let next_page_token = paging::next_token(&mut due, command.page_size, |last| {
        paging::encode_token(&query, &last.cursor())
    });
    Ok(BenefitsDuePage {
        due,
        next_page_token,
    })
}

/// An item's schedule with its own changes (`changes` holds those of its whole batch).
fn schedule(
    item: &DueItemRow,
    changes: &[ChangeRow],
    adjustments: &[Adjustment],
    versions: &[VersionRow],
) -> Schedule {
    Schedule {
        earlier: earlier_segments(
            (item.claim_id, item.kind, item.item),
            item.assessed_on,
            versions,
        ),
        kind: item.kind,
        monthly: Fen(item.amount_fen),
        assessed_on: item.assessed_on,
        eligible_before: item.eligible_before,
        changes: changes
            .iter()
            .filter(|row| {
                (row.claim_id, row.kind, row.item) == (item.claim_id, item.kind, item.item)
            })
            .map(|row| row.change)
            .collect(),
        adjustments: adjustments.to_vec(),
    }
}
