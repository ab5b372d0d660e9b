//! The rules of concerns as pure functions: which categories the police
//! must hear of, and which triage a concern allows.

use super::dto::{CaseCategory, ConcernStatus, TriageDecision};

/// Every category but `other_violence` is mandatory to report to the police.
pub fn is_mandatory(category: CaseCategory) -> bool {
    category != CaseCategory::OtherViolence
}

/// Why a triage is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TriageRefusal {
    /// Triaged already into `no_action` or a case (409).
    Settled,
    /// A mandatory category must not be dismissed (422).
    MandatoryNoAction,
    /// A case needs a category (422).
    CategoryNeeded,
}

/// Whether a concern in `status` with `category` (after the triage's own,
/// if it gives one) may take `decision`. An open or monitored concern may be
/// triaged; a mandatory category cannot be dismissed; a case needs a
/// category.
pub fn check_triage(
    status: ConcernStatus,
    decision: TriageDecision,
    category: Option<CaseCategory>,
) -> Result<(), TriageRefusal> {
    if !matches!(status, ConcernStatus::Open | ConcernStatus::Monitor) {
        return Err(TriageRefusal::Settled);
    }
    match decision {
        TriageDecision::NoAction if category.is_some_and(is_mandatory) => {
            Err(TriageRefusal::MandatoryNoAction)
        }
        TriageDecision::OpenCase if category.is_none() => Err(TriageRefusal::CategoryNeeded),
        _ => Ok(()),
    }
}

/// The state a decision leaves a concern in.
pub fn status_after(decision: TriageDecision) -> ConcernStatus {
    match decision {
        TriageDecision::OpenCase => ConcernStatus::CaseOpened,
        TriageDecision::Monitor => ConcernStatus::Monitor,
        TriageDecision::NoAction => ConcernStatus::NoAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_violence_is_not_mandatory() {
        let not: Vec<_> = CaseCategory::ALL
            .iter()
            .filter(|c| !is_mandatory(**c))
            .collect();
        assert_eq!(not, vec![&CaseCategory::OtherViolence]);
    }

    #[test]
    fn a_mandatory_concern_cannot_be_dismissed() {
        for c in CaseCategory::ALL
            .iter()
            .copied()
            .filter(|c| is_mandatory(*c))
        {
            assert_eq!(
                check_triage(ConcernStatus::Open, TriageDecision::NoAction, Some(c)),
                Err(TriageRefusal::MandatoryNoAction),
                "{c}"
            );
            assert_eq!(
                check_triage(ConcernStatus::Open, TriageDecision::Monitor, Some(c)),
                Ok(())
            );
        }
        let other = Some(CaseCategory::OtherViolence);
        assert_eq!(
            check_triage(ConcernStatus::Open, TriageDecision::NoAction, other),
            Ok(())
        );
        assert_eq!(
            check_triage(ConcernStatus::Monitor, TriageDecision::NoAction, None),
            Ok(())
        );
    }

    #[test]
    fn a_case_needs_a_category_and_a_settled_concern_stays_settled() {
        assert_eq!(
            check_triage(ConcernStatus::Open, TriageDecision::OpenCase, None),
            Err(TriageRefusal::CategoryNeeded)
        );
        assert_eq!(
            check_triage(
                ConcernStatus::Monitor,
                TriageDecision::OpenCase,
                Some(CaseCategory::SexualAbuse)
            ),
            Ok(())
        );
        for s in [ConcernStatus::NoAction, ConcernStatus::CaseOpened] {
            for d in TriageDecision::ALL.iter().copied() {
                assert_eq!(
                    check_triage(s, d, Some(CaseCategory::OtherViolence)),
                    Err(TriageRefusal::Settled)
                );
            }
        }
        assert_eq!(
            status_after(TriageDecision::OpenCase),
            ConcernStatus::CaseOpened
        );
    }
}
