//! The occupational-injury claim state machine: report → application → decision → appraisal →
//! assessment → payments, with appeal and withdrawal. Each step names the states it may start from,
//! so a refusal can say where the claim stands.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    Reported,
    Applied,
    Confirmed,
    NotConfirmed,
    Appraised,
    Assessed,
    Closed,
    Withdrawn,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 8] = [
        Self::Reported,
        Self::Applied,
        Self::Confirmed,
        Self::NotConfirmed,
        Self::Appraised,
        Self::Assessed,
        Self::Closed,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Applied => "applied",
            Self::Confirmed => "confirmed",
            Self::NotConfirmed => "not_confirmed",
            Self::Appraised => "appraised",
            Self::Assessed => "assessed",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == stored)
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    Injury,
    Death,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Injury => "injury",
            Self::Death => "death",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Injury, Self::Death]
            .into_iter()
            .find(|k| k.as_str() == stored)
    }
}

/// A step of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Apply,
    Decide {
        confirmed: bool,
    },
    Appraise,
    Assess,
    /// A benefit payment; `settled` when every one-time item is then paid in full.
    Pay {
        settled: bool,
    },
    Appeal,
    Withdraw,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Self::Apply => "apply for confirmation",
            Self::Decide { .. } => "decide confirmation",
            Self::Appraise => "record an appraisal",
            Self::Assess => "assess benefits",
            Self::Pay { .. } => "record a benefit payment",
            Self::Appeal => "appeal the decision",
            Self::Withdraw => "withdraw",
        }
    }
}

/// Why a step cannot be taken now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The status after `step`, or why it is refused. A death has no appraisal: its benefits are
/// assessed straight after confirmation. A re-appraisal supersedes the earlier one and calls for a
/// new assessment.
pub fn next(status: ClaimStatus, kind: IncidentKind, step: Step) -> Result<ClaimStatus, Refused> {
    use ClaimStatus::*;
    let next = match (status, step) {
        (Reported, Step::Apply) => Some(Applied),
        (Applied, Step::Decide { confirmed: true }) => Some(Confirmed),
        (Applied, Step::Decide { confirmed: false }) => Some(NotConfirmed),
        (Confirmed | Appraised | Assessed, Step::Appraise) if kind == IncidentKind::Injury => {
            Some(Appraised)
        }
        (Appraised, Step::Assess) => Some(Assessed),
        (Confirmed, Step::Assess) if kind == IncidentKind::Death => Some(Assessed),
        (Assessed, Step::Pay { settled }) => Some(if settled { Closed } else { Assessed }),
        (Confirmed | NotConfirmed, Step::Appeal) => Some(Applied),
        (Reported | Applied | NotConfirmed, Step::Withdraw) => Some(Withdrawn),
        _ => None,
    };
    next.ok_or_else(|| {
        let hint = match (status, step, kind) {
            (_, Step::Appraise, IncidentKind::Death) => " (a death has no disability appraisal)",
            (Confirmed, Step::Assess, IncidentKind::Injury) => {
                " (an injury is appraised before its benefits are assessed)"
            }
            _ => "",
        };
        Refused(format!(
            "cannot {} a claim that is {status}{hint}",
            step.name()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClaimStatus::*;

    const INJURY: IncidentKind = IncidentKind::Injury;
    const DEATH: IncidentKind = IncidentKind::Death;

    #[test]
    fn an_injury_claim_runs_from_report_to_closed() {
        let mut status = Reported;
        for step in [
            Step::Apply,
            Step::Decide { confirmed: true },
            Step::Appraise,
            Step::Assess,
            Step::Pay { settled: false },
            Step::Pay { settled: true },
        ] {
            status = next(status, INJURY, step).expect("allowed");
        }
        assert_eq!(status, Closed);
    }

    #[test]
    fn a_death_is_assessed_without_appraisal() {
        assert_eq!(next(Confirmed, DEATH, Step::Assess), Ok(Assessed));
        let refused = next(Confirmed, DEATH, Step::Appraise).expect_err("no appraisal");
        assert!(refused.0.contains("death has no disability appraisal"));
        assert!(next(Confirmed, INJURY, Step::Assess).is_err());
    }

    #[test]
    fn re_appraisal_reopens_the_assessment() {
        assert_eq!(next(Appraised, INJURY, Step::Appraise), Ok(Appraised));
        assert_eq!(next(Assessed, INJURY, Step::Appraise), Ok(Appraised));
    }

    #[test]
    fn appeals_reopen_a_decision_and_withdrawal_ends_an_undecided_claim() {
        assert_eq!(next(NotConfirmed, INJURY, Step::Appeal), Ok(Applied));
        assert_eq!(next(Confirmed, INJURY, Step::Appeal), Ok(Applied));
        assert!(next(Applied, INJURY, Step::Appeal).is_err());
        for from in [Reported, Applied, NotConfirmed] {
            assert_eq!(next(from, INJURY, Step::Withdraw), Ok(Withdrawn));
        }
        for from in [Confirmed, Appraised, Assessed, Closed, Withdrawn] {
            assert!(next(from, INJURY, Step::Withdraw).is_err());
        }
    }

    #[test]
    fn every_refusal_names_the_current_state() {
        let steps = [
            Step::Apply,
            Step::Decide { confirmed: true },
            Step::Appraise,
            Step::Assess,
            Step::Pay { settled: true },
            Step::Appeal,
            Step::Withdraw,
        ];
        for status in ClaimStatus::ALL {
            for step in steps {
                if let Err(Refused(message)) = next(status, INJURY, step) {
                    assert!(message.contains(status.as_str()), "{message}");
                }
            }
        }
        assert!(next(Closed, INJURY, Step::Pay { settled: true }).is_err());
        assert!(next(Reported, INJURY, Step::Decide { confirmed: true }).is_err());
    }
}
