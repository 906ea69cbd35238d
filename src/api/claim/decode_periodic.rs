//! The ClaimService requests of a claim's later life decoded into their commands: periodic
//! benefits changed and listed when due, and relapses. As in `decode`, each destructures its
//! message completely and reports every refused field at once.
use super::decode::{decoded, one_of};
use crate::api::convert::date_from_proto;
use crate::api::paging;
use crate::api::request_key as key;
use crate::domain::Invalid;
use crate::domain::benefits::{BenefitKind, Bills};
use crate::domain::division::ProvinceCode;
use crate::domain::money::Fen;
use crate::domain::periodic::{ChangeKind, ChangeReason};
use crate::domain::text::parse_id;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::claim::{ChangePeriodicBenefit, ListBenefitsDue, RecordRelapse};

/// A periodic item's number: 0 for none (the kind's only item), else 1 to 1000.
pub(super) fn item_number(item: i32) -> Result<Option<i32>, Invalid> {
    match item {
        0 => Ok(None),
        1..=1000 => Ok(Some(item)),
        _ => Err(Invalid::new(
            "must be 0 (the kind's only item) or 1 to 1000",
        )),
    }
}

impl TryFrom<pb::RecordRelapseRequest> for RecordRelapse {
    type Error = AppError;

    fn try_from(request: pb::RecordRelapseRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::RecordRelapseRequest {
            request_id: _,
            claim_id,
            relapsed_on,
            medical_costs_fen,
            rehabilitation_costs_fen,
            assistive_devices_costs_fen,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let relapsed_on = violations.check("relapsed_on", date_from_proto(relapsed_on.as_ref()));
        let medical = violations.check("medical_costs_fen", Fen::non_negative(medical_costs_fen));
        let rehabilitation = violations.check(
            "rehabilitation_costs_fen",
            Fen::non_negative(rehabilitation_costs_fen),
        );
        let devices = violations.check(
            "assistive_devices_costs_fen",
            Fen::non_negative(assistive_devices_costs_fen),
        );
        let bills = match (medical, rehabilitation, devices) {
            (Some(medical), Some(rehabilitation), Some(assistive_devices)) => Some(Bills {
                medical,
                rehabilitation,
                assistive_devices,
            }),
            _ => None,
        };
        if bills.is_some_and(|b| b == Bills::default()) {
            violations.add(
                "medical_costs_fen",
                "a relapse needs at least one bill above 0",
            );
        }
        let built = (|| {
            Some(RecordRelapse {
                key: key?,
                claim_id: claim_id?,
                relapsed_on: relapsed_on?,
                bills: bills?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::ChangePeriodicBenefitRequest> for ChangePeriodicBenefit {
    type Error = AppError;

    fn try_from(request: pb::ChangePeriodicBenefitRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::ChangePeriodicBenefitRequest {
            request_id: _,
            claim_id,
            kind,
            item,
            change,
            reason,
            effective_on,
        } = request;
        let claim_id = violations.check("claim_id", parse_id(&claim_id));
        let kind = violations.check("kind", one_of::<BenefitKind, pb::BenefitKind>(kind));
        if kind.is_some_and(|kind| !kind.monthly()) {
            violations.add("kind", "must be a periodic benefit");
        }
        let item = violations.check("item", item_number(item));
        let change = violations.check("change", one_of::<ChangeKind, pb::PeriodicChange>(change));
        let reason = violations.check(
            "reason",
            one_of::<ChangeReason, pb::PeriodicChangeReason>(reason),
        );
        if let (Some(change), Some(reason), Some(kind)) = (change, reason, kind)
            && kind.monthly()
            && !reason.fits(change, kind)
        {
            violations.add(
                "reason",
                format!(
                    "{} is not a reason to {} a {}",
                    reason.as_str(),
                    change.as_str(),
                    kind.as_str()
                ),
            );
        }
        let effective_on = violations.check("effective_on", date_from_proto(effective_on.as_ref()));
        let built = (|| {
            Some(ChangePeriodicBenefit {
                key: key?,
                claim_id: claim_id?,
                kind: kind.filter(|kind| kind.monthly())?,
                item: item?,
                change: change?,
                reason: reason?,
                effective_on: effective_on?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::ListBenefitsDueRequest> for ListBenefitsDue {
    type Error = AppError;

    fn try_from(request: pb::ListBenefitsDueRequest) -> AppResult<Self> {
        let pb::ListBenefitsDueRequest {
            province_code,
            as_of,
            page_size,
            page_token,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let as_of = match as_of {
            None => Some(None),
            Some(day) => violations
                .check("as_of", date_from_proto(Some(&day)))
                .map(Some),
        };
        let page_size = violations.check(
            "page_size",
            paging::page_size(page_size).map_err(|_| Invalid::new("must not be negative")),
        );
        let built = (|| {
            Some(ListBenefitsDue {
                province: province?,
                as_of: as_of?,
                page_size: page_size?,
                page_token,
            })
        })();
        decoded(violations, built)
    }
}
