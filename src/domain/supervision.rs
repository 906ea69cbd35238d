//! Supervision findings: what they are, and how a refresh turns what the facts show today into
//! findings opened, updated and resolved. Pure: the store reads the facts, this decides.
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// The kinds of shortfall an agency follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// Orders refused for missing cover on a day; the measure is the number of orders.
    UncoveredOrders,
    /// A month with accepted orders and no declaration by its due date; the measure is the days
    /// past the due date (until declared).
    UndeclaredMonth,
    /// A declared month still owing after its due date; the measure is the fen owed, the detail
    /// its age band.
    Arrears,
    /// Claims reported in a month for workers the platform had not covered; the measure is the
    /// number of claims.
    UncoveredClaims,
    /// An enrolment opened after the worker's first refused order; the measure is the days late.
    LateEnrolment,
}

impl FindingKind {
    pub const ALL: [FindingKind; 5] = [
        Self::UncoveredOrders,
        Self::UndeclaredMonth,
        Self::Arrears,
        Self::UncoveredClaims,
        Self::LateEnrolment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UncoveredOrders => "uncovered_orders",
            Self::UndeclaredMonth => "undeclared_month",
            Self::Arrears => "arrears",
            Self::UncoveredClaims => "uncovered_claims",
            Self::LateEnrolment => "late_enrolment",
        }
    }
}

crate::code_from_as_str!(FindingKind, "finding kind");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingState {
    Open,
    Resolved,
}

impl FindingState {
    pub const ALL: [FindingState; 2] = [Self::Open, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }
}

crate::code_from_as_str!(FindingState, "finding state");

/// Arrears by how long they are past the due date.
pub fn age_band(days_past_due: i64) -> &'static str {
    match days_past_due {
        ..=30 => "0-30",
        31..=90 => "31-90",
        _ => "over-90",
    }
}

/// What identifies a finding within its province.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FindingKey {
    pub platform_id: String,
    pub kind: FindingKind,
    pub period_start: NaiveDate,
    /// Empty, or what a finding of the kind is about (a late enrolment's id).
    pub subject: String,
}

/// A finding as the facts show it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub key: FindingKey,
    pub period_end: NaiveDate,
    pub measure: i64,
    pub detail: String,
    /// Whether the shortfall still needs action (a late enrolment, say, is born resolved).
    pub open: bool,
}

/// A finding as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub province_code: String,
    pub finding_id: Uuid,
    pub key: FindingKey,
    pub period_end: NaiveDate,
    pub measure: i64,
    pub detail: String,
    pub state: FindingState,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A state change of a finding: what its event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened,
    Resolved,
}

/// A finding to write, and the event its change makes (none for a changed measure only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub finding: Finding,
    pub transition: Option<Transition>,
}

/// Reconciles the kept findings of a province with what the facts show now. A finding not shown
/// any more is resolved (keeping its last measure); one shown again is reopened; new ones are
/// opened (or kept resolved when born so). Only what changes is returned, so a second refresh
/// with the same facts returns nothing: the refresh is idempotent.
pub fn reconcile(
    province_code: &str,
    kept: Vec<Finding>,
    observed: Vec<Observed>,
    now: DateTime<Utc>,
) -> Vec<Change> {
    let mut kept: HashMap<FindingKey, Finding> = kept
        .into_iter()
        .map(|finding| (finding.key.clone(), finding))
        .collect();
    let mut changes = Vec::new();
    for seen in observed {
        let state = if seen.open {
            FindingState::Open
        } else {
            FindingState::Resolved
        };
        match kept.remove(&seen.key) {
            None => {
                let finding = Finding {
                    province_code: province_code.to_owned(),
                    finding_id: Uuid::now_v7(),
                    key: seen.key,
                    period_end: seen.period_end,
                    measure: seen.measure,
                    detail: seen.detail,
                    state,
                    opened_at: now,
                    resolved_at: (state == FindingState::Resolved).then_some(now),
                    updated_at: now,
                };
                let transition = match state {
                    FindingState::Open => Transition::Opened,
                    FindingState::Resolved => Transition::Resolved,
                };
                changes.push(Change {
                    finding,
                    transition: Some(transition),
                });
            }
            Some(mut finding) => {
                let transition = match (finding.state, state) {
                    (FindingState::Resolved, FindingState::Open) => {
                        finding.opened_at = now;
                        finding.resolved_at = None;
                        Some(Transition::Opened)
                    }
                    (FindingState::Open, FindingState::Resolved) => {
                        finding.resolved_at = Some(now);
                        Some(Transition::Resolved)
                    }
                    _ => None,
                };
                let same = transition.is_none()
                    && finding.measure == seen.measure
                    && finding.detail == seen.detail
                    && finding.period_end == seen.period_end;
                if !same {
                    finding.state = state;
                    finding.measure = seen.measure;
                    finding.detail = seen.detail;
                    finding.period_end = seen.period_end;
                    finding.updated_at = now;
                    changes.push(Change {
                        finding,
                        transition,
                    });
                }
            }
        }
    }
    for (_, mut finding) in kept {
        if finding.state == FindingState::Open {
            finding.state = FindingState::Resolved;
            finding.resolved_at = Some(now);
            finding.updated_at = now;
            changes.push(Change {
                finding,
                transition: Some(Transition::Resolved),
            });
        }
    }
    changes
}

/// Uncovered orders per thousand orders sent (accepted or refused), rounded half up; 0 when
/// nothing was sent.
pub fn per_thousand(refused: i64, accepted: i64) -> i64 {
    let sent = i128::from(refused.max(0)) + i128::from(accepted.max(0));
    if sent == 0 {
        return 0;
    }
    let scaled = (i128::from(refused.max(0)) * 2000 + sent) / (2 * sent);
    i64::try_from(scaled).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0)
            .single()
            .expect("time")
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, d).expect("day")
    }

    fn seen(d: u32, measure: i64, open: bool) -> Observed {
        Observed {
            key: FindingKey {
                platform_id: "meituan".into(),
                kind: FindingKind::UncoveredOrders,
                period_start: day(d),
                subject: String::new(),
            },
            period_end: day(d + 1),
            measure,
            detail: String::new(),
            open,
        }
    }

    fn kept(changes: Vec<Change>) -> Vec<Finding> {
        changes.into_iter().map(|c| c.finding).collect()
    }

    #[test]
    fn a_new_shortfall_opens_and_a_second_refresh_changes_nothing() {
        let first = reconcile("44", vec![], vec![seen(3, 5, true)], at(1));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].transition, Some(Transition::Opened));
        assert_eq!(first[0].finding.measure, 5);
        let again = reconcile("44", kept(first), vec![seen(3, 5, true)], at(2));
        assert!(again.is_empty());
    }

    #[test]
    fn a_growing_measure_updates_without_an_event_and_a_fix_resolves() {
        let first = kept(reconcile("44", vec![], vec![seen(3, 5, true)], at(1)));
        let grown = reconcile("44", first, vec![seen(3, 7, true)], at(2));
        assert_eq!(grown.len(), 1);
        assert_eq!(grown[0].transition, None);
        assert_eq!(grown[0].finding.measure, 7);
        let fixed = reconcile("44", kept(grown), vec![seen(3, 7, false)], at(3));
        assert_eq!(fixed[0].transition, Some(Transition::Resolved));
        assert_eq!(fixed[0].finding.resolved_at, Some(at(3)));
        assert_eq!(fixed[0].finding.opened_at, at(1));
    }

    #[test]
    fn a_finding_no_longer_shown_resolves_with_its_last_measure_and_may_reopen() {
        let first = kept(reconcile("44", vec![], vec![seen(3, 900, true)], at(1)));
        let paid = reconcile("44", first, vec![], at(2));
        assert_eq!(paid[0].transition, Some(Transition::Resolved));
        assert_eq!(paid[0].finding.measure, 900);
        assert!(reconcile("44", kept(paid.clone()), vec![], at(3)).is_empty());
        let again = reconcile("44", kept(paid), vec![seen(3, 100, true)], at(4));
        assert_eq!(again[0].transition, Some(Transition::Opened));
        assert_eq!(again[0].finding.resolved_at, None);
        assert_eq!(again[0].finding.opened_at, at(4));
    }

    #[test]
    fn born_resolved_findings_say_so_once() {
        let first = reconcile("44", vec![], vec![seen(3, 4, false)], at(1));
        assert_eq!(first[0].transition, Some(Transition::Resolved));
        assert_eq!(first[0].finding.state, FindingState::Resolved);
        assert!(reconcile("44", kept(first), vec![seen(3, 4, false)], at(2)).is_empty());
    }

    #[test]
    fn age_bands_and_rates_per_thousand() {
        assert_eq!(age_band(0), "0-30");
        assert_eq!(age_band(30), "0-30");
        assert_eq!(age_band(31), "31-90");
        assert_eq!(age_band(90), "31-90");
        assert_eq!(age_band(91), "over-90");
        // 3 refused of 3 + 997 sent: 3 per thousand; 1 of 1 + 1,999: 0.5, rounded up to 1.
        assert_eq!(per_thousand(3, 997), 3);
        assert_eq!(per_thousand(1, 1999), 1);
        assert_eq!(per_thousand(1, 2001), 0);
        assert_eq!(per_thousand(0, 0), 0);
        assert_eq!(per_thousand(4, 0), 1000);
    }
}
