//! Who may do what: the one place that decides, for (caller, action, resource), whether a call is
//! allowed, refused as NOT_FOUND, or refused as PERMISSION_DENIED.
//!
//! The rule, stated once:
//! - A **record** (something named by an id or a natural key: an enrolment, a claim, a pension, a
//!   declaration) is *visible* to national admins and auditors, to the agency of its province, and
//!   to its platform (records without a platform, like pensions, are not visible to platforms).
//!   A caller who may not see a record gets NOT_FOUND, exactly as for one that does not exist.
//! - A **scope** (a collection or a target named by public codes: a province's log or arrears, the
//!   place a platform enrols in, the administration) is within reach of national admins and
//!   auditors, of the agency of its province and of its platform; outside it the caller gets
//!   PERMISSION_DENIED, because nothing is hidden by saying so.
//! - Within sight or reach, the caller's kind must be one the action allows (the table below);
//!   otherwise PERMISSION_DENIED.
//!
//! `ACTIONS` is that table; the README's who-may-do-what table is rendered from it by
//! `markdown_table`, and a unit test keeps the two equal.
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::AppError;

/// The kinds of caller a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    NationalAdmin,
    Auditor,
    Agency,
    Platform,
}

impl CallerKind {
    pub fn of(role: &Role) -> Self {
        match role {
            Role::NationalAdmin => CallerKind::NationalAdmin,
            Role::Auditor => CallerKind::Auditor,
            Role::ProvinceAgency(_) => CallerKind::Agency,
            Role::Platform(_) => CallerKind::Platform,
        }
    }
}

/// Every act the policy distinguishes. Several RPCs may share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // Enrolment
    EnrolWorker,
    ReadEnrolment,
    ChangeEnrolment,
    ListEnrolments,
    FindPerson,
    // Contributions
    ReadRate,
    RecordOrders,
    CheckCoverage,
    DeclareContributions,
    ReadDeclaration,
    RecordContributionPayment,
    ListArrears,
    // Pension
    EnrolPension,
    ChangePension,
    ReadPension,
    // Claims
    ReportIncident,
    ReadClaim,
    ReadDuplicateFlags,
    ListClaims,
    ApplyAsPlatform,
    ApplyAtCounter,
    DecideClaim,
    PayFundItem,
    PayPlatformItem,
    ChangePeriodicBenefit,
    ListBenefitsDue,
    AppealOrWithdraw,
    // Supervision
    ReadFindings,
    RankPlatforms,
    // Federation
    ReadProvinceLog,
    AcknowledgeProvinceLog,
    ResolvePerson,
    // Administration
    Administer,
    ReadAdministration,
    ReadPilotScope,
}

/// One row of the table: an action, who may do it, and what a refusal says.
pub struct ActionRule {
    pub action: Action,
    pub allowed: &'static [CallerKind],
    /// The act in words, for refusals: "<what> is for <who>".
    pub what: &'static str,
    /// The RPCs that ask for this action (documentation and the README table).
    pub rpcs: &'static [&'static str],
}

use CallerKind::{Agency, Auditor, NationalAdmin, Platform};

const EVERYONE: &[CallerKind] = &[NationalAdmin, Auditor, Agency, Platform];
const READERS_BUT_PLATFORMS: &[CallerKind] = &[NationalAdmin, Auditor, Agency];

/// The table. Order is the README's.
pub const ACTIONS: &[ActionRule] = &[
    ActionRule {
        action: Action::EnrolWorker,
        allowed: &[Platform],
        what: "enrolling workers",
        rpcs: &["EnrolWorker", "BatchEnrolWorkers"],
    },
    ActionRule {
        action: Action::ReadEnrolment,
        allowed: EVERYONE,
        what: "reading an enrolment",
        rpcs: &["GetEnrolment", "GetEnrolmentHistory"],
    },
    ActionRule {
        action: Action::ChangeEnrolment,
        allowed: &[Platform],
        what: "changing an enrolment",
        rpcs: &[
            "SuspendEnrolment",
            "ResumeEnrolment",
            "TerminateEnrolment",
            "TransferEnrolment",
        ],
    },
    ActionRule {
        action: Action::ListEnrolments,
        allowed: EVERYONE,
        what: "listing enrolments",
        rpcs: &["ListEnrolments"],
    },
    ActionRule {
        action: Action::FindPerson,
        allowed: EVERYONE,
        what: "finding a person's enrolments",
        rpcs: &["FindEnrolmentsByIdNumber"],
    },
    ActionRule {
        action: Action::ReadRate,
        allowed: EVERYONE,
        what: "reading a rate",
        rpcs: &["GetRate"],
    },
    ActionRule {
        action: Action::RecordOrders,
        allowed: &[Platform],
        what: "recording orders",
        rpcs: &["RecordOrders"],
    },
    ActionRule {
        action: Action::CheckCoverage,
        allowed: EVERYONE,
        what: "checking coverage",
        rpcs: &["CheckCoverage"],
    },
    ActionRule {
        action: Action::DeclareContributions,
        allowed: &[Platform],
        what: "declaring contributions",
        rpcs: &["DeclareContributions"],
    },
    ActionRule {
        action: Action::ReadDeclaration,
        allowed: EVERYONE,
        what: "reading a declaration",
        rpcs: &["GetDeclaration", "GetStatement"],
    },
    ActionRule {
        action: Action::RecordContributionPayment,
        allowed: &[NationalAdmin, Agency],
        what: "recording a contribution payment",
        rpcs: &["RecordPayment"],
    },
    ActionRule {
        action: Action::ListArrears,
        allowed: READERS_BUT_PLATFORMS,
        what: "listing arrears",
        rpcs: &["ListArrears"],
    },
    ActionRule {
        action: Action::EnrolPension,
        allowed: &[NationalAdmin, Agency],
        what: "enrolling in pension insurance",
        rpcs: &["EnrolPension"],
    },
    ActionRule {
        action: Action::ChangePension,
        allowed: &[NationalAdmin, Agency],
        what: "changing a pension enrolment",
        rpcs: &["TransferPension", "DeclarePensionContribution"],
    },
    ActionRule {
        action: Action::ReadPension,
        allowed: READERS_BUT_PLATFORMS,
        what: "reading a pension account",
        rpcs: &["GetPensionAccount"],
    },
    ActionRule {
        action: Action::ReportIncident,
        allowed: &[Platform],
        what: "reporting an incident",
        rpcs: &["ReportIncident"],
    },
    ActionRule {
        action: Action::ReadClaim,
        allowed: EVERYONE,
        what: "reading a claim",
        rpcs: &["GetClaim"],
    },
    ActionRule {
        action: Action::ReadDuplicateFlags,
        allowed: READERS_BUT_PLATFORMS,
        what: "reading duplicate flags (they point at other platforms' reports)",
        rpcs: &["possible_duplicate and possible_duplicate_of in every claim answer"],
    },
    ActionRule {
        action: Action::ListClaims,
        allowed: EVERYONE,
        what: "listing claims",
        rpcs: &["ListClaims"],
    },
    ActionRule {
        action: Action::ApplyAsPlatform,
        allowed: &[Platform],
        what: "applying as APPLICANT_PLATFORM",
        rpcs: &["ApplyForConfirmation (APPLICANT_PLATFORM)"],
    },
    ActionRule {
        action: Action::ApplyAtCounter,
        allowed: &[Agency],
        what: "recording a worker's or relative's application",
        rpcs: &["ApplyForConfirmation (APPLICANT_WORKER, APPLICANT_RELATIVE)"],
    },
    ActionRule {
        action: Action::DecideClaim,
        allowed: &[Agency],
        what: "deciding, appraising and assessing a claim",
        rpcs: &[
            "DecideConfirmation",
            "RecordAppraisal",
            "AssessBenefits",
            "RecordRelapse",
        ],
    },
    ActionRule {
        action: Action::PayFundItem,
        allowed: &[Agency],
        what: "recording a payment of a fund-paid benefit",
        rpcs: &["RecordBenefitPayment (items the fund pays)"],
    },
    ActionRule {
        action: Action::PayPlatformItem,
        allowed: &[Platform],
        what: "recording a payment of a platform-paid benefit",
        rpcs: &["RecordBenefitPayment (items the platform pays)"],
    },
    ActionRule {
        action: Action::ChangePeriodicBenefit,
        allowed: &[Agency],
        what: "ending, suspending or resuming a periodic benefit",
        rpcs: &["ChangePeriodicBenefit"],
    },
    ActionRule {
        action: Action::ListBenefitsDue,
        allowed: READERS_BUT_PLATFORMS,
        what: "listing the periodic benefits due",
        rpcs: &["ListBenefitsDue"],
    },
    ActionRule {
        action: Action::AppealOrWithdraw,
        allowed: &[Agency, Platform],
        what: "appealing or withdrawing a claim",
        rpcs: &["AppealDecision", "WithdrawClaim"],
    },
    ActionRule {
        action: Action::ReadFindings,
        allowed: EVERYONE,
        what: "reading supervision findings",
        rpcs: &["ListFindings", "GetFinding", "GetComplianceSummary"],
    },
    ActionRule {
        action: Action::RankPlatforms,
        allowed: READERS_BUT_PLATFORMS,
        what: "ranking platforms by uncovered orders",
        rpcs: &["RankPlatforms"],
    },
    ActionRule {
        action: Action::ReadProvinceLog,
        allowed: &[NationalAdmin, Agency],
        what: "reading a province's event log",
        rpcs: &["StreamEvents", "GetDigest"],
    },
    ActionRule {
        action: Action::AcknowledgeProvinceLog,
        allowed: &[NationalAdmin, Agency],
        what: "acknowledging a province's event log",
        rpcs: &["AcknowledgeEvents"],
    },
    ActionRule {
        action: Action::ResolvePerson,
        allowed: &[NationalAdmin, Agency],
        what: "resolving a person key",
        rpcs: &["ResolvePerson"],
    },
    ActionRule {
        action: Action::Administer,
        allowed: &[NationalAdmin],
        what: "administration",
        rpcs: &[
            "RegisterPlatform",
            "CreateToken",
            "RevokeToken",
            "AddPilotScope",
            "EndPilotScope",
            "SetBackdatingWindow",
            "SetBaseRate",
            "SetRateMultiplier",
            "SetPlatformRateClass",
            "SetAverageWage",
            "SetPublicHoliday",
            "SetNationalIncome",
            "SetClaimPolicy",
            "SetPrivateSectorWage",
            "SetBenefitAdjustment",
        ],
    },
    ActionRule {
        action: Action::ReadAdministration,
        allowed: &[NationalAdmin, Auditor],
        what: "reading platforms and tokens",
        rpcs: &["ListPlatforms", "ListTokens"],
    },
    ActionRule {
        action: Action::ReadPilotScope,
        allowed: EVERYONE,
        what: "reading the pilot scope",
        rpcs: &["ListPilotScope"],
    },
];

/// The rule of `action`.
pub fn rule(action: Action) -> &'static ActionRule {
    ACTIONS
        .iter()
        .find(|rule| rule.action == action)
        .unwrap_or(&ADMINISTER_FALLBACK)
}

/// Never reached (every action has a row, as a unit test checks); the strictest rule if it were.
const ADMINISTER_FALLBACK: ActionRule = ActionRule {
    action: Action::Administer,
    allowed: &[NationalAdmin],
    what: "this call",
    rpcs: &[],
};

/// Who owns what an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    pub province: Option<&'a ProvinceCode>,
    pub platform: Option<&'a PlatformId>,
}

impl<'a> Owner<'a> {
    /// National data with no province or platform (platforms, tokens, rates, calendars).
    pub const NATIONAL: Owner<'static> = Owner {
        province: None,
        platform: None,
    };

    pub fn province(province: &'a ProvinceCode) -> Self {
        Owner {
            province: Some(province),
            platform: None,
        }
    }

    pub fn of(province: &'a ProvinceCode, platform: &'a PlatformId) -> Self {
        Owner {
            province: Some(province),
            platform: Some(platform),
        }
    }
}

/// What an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// An existing record, named by id or natural key: unseen is NOT_FOUND.
    Record(Owner<'a>),
    /// A collection or target named by public codes: out of reach is PERMISSION_DENIED.
    Scope(Owner<'a>),
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Answer exactly as for a record that does not exist.
    NotFound,
    PermissionDenied(String),
}

/// Whether `role` may see what `owner` owns. National data is seen by every caller; national
/// readers see everything; an agency its province; a platform its own.
fn within_sight(role: &Role, owner: Owner<'_>) -> bool {
    if owner.province.is_none() && owner.platform.is_none() {
        return true;
    }
    match role {
        Role::NationalAdmin | Role::Auditor => true,
        Role::ProvinceAgency(own) => owner.province == Some(own),
        Role::Platform(own) => owner.platform == Some(own),
    }
}

fn who(allowed: &[CallerKind]) -> String {
    let names: Vec<&str> = allowed
        .iter()
        .map(|kind| match kind {
            NationalAdmin => "national admins",
            Auditor => "auditors",
            Agency => "the province's agency",
            Platform => "the platform concerned",
        })
        .collect();
    match names.as_slice() {
        [] => "nobody".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The one decision: may `role` do `action` on `resource`?
pub fn decide(role: &Role, action: Action, resource: Resource<'_>) -> Decision {
    let rule = rule(action);
    let (owner, hidden_if_unseen) = match resource {
        Resource::Record(owner) => (owner, true),
        Resource::Scope(owner) => (owner, false),
    };
    if !within_sight(role, owner) {
        return if hidden_if_unseen {
            Decision::NotFound
        } else {
            Decision::PermissionDenied(format!(
                "{} is for {}, within their own province or platform",
                rule.what,
                who(rule.allowed)
            ))
        };
    }
    if rule.allowed.contains(&CallerKind::of(role)) {
        Decision::Allow
    } else {
        Decision::PermissionDenied(format!("{} is for {}", rule.what, who(rule.allowed)))
    }
}

/// `decide` as a result: `not_found` builds the error a missing record gives, so a hidden record
/// answers with the very same code and message.
pub fn authorize(
    role: &Role,
    action: Action,
    resource: Resource<'_>,
    not_found: impl FnOnce() -> AppError,
) -> Result<(), AppError> {
    match decide(role, action, resource) {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(not_found()),
        Decision::PermissionDenied(message) => Err(AppError::PermissionDenied(message)),
    }
}

/// `authorize` for scopes, which are never hidden.
pub fn authorize_scope(role: &Role, action: Action, owner: Owner<'_>) -> Result<(), AppError> {
    authorize(role, action, Resource::Scope(owner), || {
        AppError::PermissionDenied(rule(action).what.to_owned())
    })
}

/// A listing's filters after the policy: what the caller asked for, narrowed to what it may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowed {
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
}

/// Narrows a listing to the caller's sight: an agency to its province, a platform to its own
/// records. Asking explicitly for someone else's is PERMISSION_DENIED (a filter reveals nothing).
pub fn narrow(
    role: &Role,
    action: Action,
    province: Option<ProvinceCode>,
    platform: Option<PlatformId>,
) -> Result<Narrowed, AppError> {
    let rule = rule(action);
    if !rule.allowed.contains(&CallerKind::of(role)) {
        return Err(AppError::PermissionDenied(format!(
            "{} is for {}",
            rule.what,
            who(rule.allowed)
        )));
    }
    let elsewhere = || {
        AppError::PermissionDenied(format!(
            "{}: a caller sees only its own province or platform",
            rule.what
        ))
    };
    match role {
        Role::NationalAdmin | Role::Auditor => Ok(Narrowed { province, platform }),
        Role::ProvinceAgency(own) => {
            if province.as_ref().is_some_and(|asked| asked != own) {
                return Err(elsewhere());
            }
            Ok(Narrowed {
                province: Some(own.clone()),
                platform,
            })
        }
        Role::Platform(own) => {
            if platform.as_ref().is_some_and(|asked| asked != own) {
                return Err(elsewhere());
            }
            Ok(Narrowed {
                province,
                platform: Some(own.clone()),
            })
        }
    }
}

/// The README's who-may-do-what table, rendered from `ACTIONS`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| RPC | national admin | auditor | province agency | platform |\n|---|---|---|---|---|\n",
    );
    for rule in ACTIONS {
        let mark = |kind: CallerKind| {
            if rule.allowed.contains(&kind) {
                "✓"
            } else {
                "—"
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            rule.rpcs.join(", "),
            mark(NationalAdmin),
            mark(Auditor),
            mark(Agency),
            mark(Platform)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn province(code: &str) -> ProvinceCode {
        ProvinceCode::parse(code).expect("province")
    }

    fn platform(id: &str) -> PlatformId {
        PlatformId::parse(id).expect("platform")
    }

    #[test]
    fn every_action_has_exactly_one_rule() {
        use std::collections::HashSet;
        let seen: HashSet<Action> = ACTIONS.iter().map(|rule| rule.action).collect();
        assert_eq!(seen.len(), ACTIONS.len(), "an action has two rows");
        for row in ACTIONS {
            let found = rule(row.action);
            assert_eq!(found.action, row.action);
            assert_eq!(
                found.what, row.what,
                "the fallback was used for {:?}",
                row.action
            );
        }
    }

    #[test]
    fn unseen_records_are_not_found_and_seen_ones_may_be_denied() {
        let (gd, bj) = (province("44"), province("11"));
        let (meituan, didi) = (platform("meituan"), platform("didi"));
        let record = Resource::Record(Owner::of(&gd, &meituan));
        let agency_bj = Role::ProvinceAgency(bj.clone());
        let agency_gd = Role::ProvinceAgency(gd.clone());
        assert_eq!(
            decide(&agency_bj, Action::ChangePension, record),
            Decision::NotFound
        );
        assert_eq!(
            decide(&agency_gd, Action::ChangePension, record),
            Decision::Allow
        );
        assert!(matches!(
            decide(&agency_gd, Action::ChangeEnrolment, record),
            Decision::PermissionDenied(_)
        ));
        assert_eq!(
            decide(&Role::Platform(didi), Action::ReadEnrolment, record),
            Decision::NotFound
        );
        assert_eq!(
            decide(
                &Role::Platform(meituan.clone()),
                Action::ReadEnrolment,
                record
            ),
            Decision::Allow
        );
        assert!(matches!(
            decide(&Role::Auditor, Action::ChangeEnrolment, record),
            Decision::PermissionDenied(_)
        ));
    }

    #[test]
    fn records_without_a_platform_are_unseen_by_platforms() {
        let gd = province("44");
        let pension = Resource::Record(Owner::province(&gd));
        assert_eq!(
            decide(
                &Role::Platform(platform("meituan")),
                Action::ReadPension,
                pension
            ),
            Decision::NotFound
        );
    }

    #[test]
    fn scopes_out_of_reach_are_permission_denied() {
        let (gd, bj) = (province("44"), province("11"));
        let scope = Resource::Scope(Owner::province(&gd));
        assert!(matches!(
            decide(&Role::ProvinceAgency(bj), Action::ListArrears, scope),
            Decision::PermissionDenied(_)
        ));
        assert!(matches!(
            decide(
                &Role::Auditor,
                Action::Administer,
                Resource::Scope(Owner::NATIONAL)
            ),
            Decision::PermissionDenied(_)
        ));
    }

    #[test]
    fn listings_are_narrowed_to_the_callers_sight() {
        let (gd, bj) = (province("44"), province("11"));
        let narrowed = narrow(
            &Role::ProvinceAgency(gd.clone()),
            Action::ListClaims,
            None,
            Some(platform("meituan")),
        )
        .expect("allowed");
        assert_eq!(narrowed.province, Some(gd.clone()));
        assert!(
            narrow(
                &Role::ProvinceAgency(gd),
                Action::ListClaims,
                Some(bj),
                None
            )
            .is_err()
        );
        let own = narrow(
            &Role::Platform(platform("meituan")),
            Action::ListEnrolments,
            None,
            None,
        )
        .expect("allowed");
        assert_eq!(own.platform, Some(platform("meituan")));
    }
}

#[cfg(test)]
mod readme {
    /// The README states the policy as a table rendered from `ACTIONS`; they must agree.
    #[test]
    fn the_readme_table_is_the_policy() {
        let readme = include_str!("../README.md");
        let table = super::markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's who-may-do-what table differs from src/policy.rs; replace it with:\n\n{table}"
        );
    }
}
