//! The service's answers as EnrolmentService messages (and the enum mappings its events share).
use crate::api::convert::{date_to_proto, industry_to_proto, timestamp};
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::lifecycle::Reason;
use crate::pb;
use crate::service::enrolment::lifecycle::Transferred;
use crate::service::enrolment::query::{History, Page};
use crate::service::enrolment::settings::Windows;
use crate::store::enrolments::EnrolmentRow;
use crate::store::lifecycle::HistoryRow;
use uuid::Uuid;

impl From<EnrolmentStatus> for pb::EnrolmentStatus {
    fn from(status: EnrolmentStatus) -> Self {
        match status {
            EnrolmentStatus::Active => pb::EnrolmentStatus::Active,
            EnrolmentStatus::Suspended => pb::EnrolmentStatus::Suspended,
            EnrolmentStatus::Terminated => pb::EnrolmentStatus::Terminated,
            EnrolmentStatus::Transferred => pb::EnrolmentStatus::Transferred,
        }
    }
}

impl From<Reason> for pb::ChangeReason {
    fn from(reason: Reason) -> Self {
        use pb::ChangeReason as R;
        match reason {
            Reason::Enrolled => R::Enrolled,
            Reason::WorkerRequest => R::WorkerRequest,
            Reason::Inactivity => R::Inactivity,
            Reason::LeftPlatform => R::LeftPlatform,
            Reason::SuspendedByPlatform => R::SuspendedByPlatform,
            Reason::Moved => R::Moved,
            Reason::Deceased => R::Deceased,
            Reason::DataCorrection => R::DataCorrection,
            Reason::Other => R::Other,
        }
    }
}

fn id_or_empty(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// An enrolment as the API shows it: personal data masked.
pub fn to_proto(row: &EnrolmentRow) -> pb::Enrolment {
    pb::Enrolment {
        enrolment_id: row.enrolment_id.to_string(),
        platform_id: row.platform_id.clone(),
        province_code: row.province_code.clone(),
        place_of_employment: row.place_code.clone(),
        industry: industry_to_proto(row.industry) as i32,
        status: pb::EnrolmentStatus::from(row.status) as i32,
        cover_start_date: Some(date_to_proto(row.cover_start)),
        id_number_masked: row.id_masked.clone(),
        name_masked: row.name_masked.clone(),
        phone_masked: row.phone_masked.clone(),
        created_at: Some(timestamp(row.created_at)),
        cover_end_date: row.cover_end.map(date_to_proto),
        transferred_from: id_or_empty(row.transferred_from),
        transferred_to: id_or_empty(row.transferred_to),
    }
}

impl From<&EnrolmentRow> for pb::Enrolment {
    fn from(row: &EnrolmentRow) -> Self {
        to_proto(row)
    }
}

impl From<&EnrolmentRow> for pb::EnrolWorkerResponse {
    fn from(row: &EnrolmentRow) -> Self {
        pb::EnrolWorkerResponse {
            enrolment: Some(to_proto(row)),
        }
    }
}

impl From<&Transferred> for pb::TransferEnrolmentResponse {
    fn from(answer: &Transferred) -> Self {
        pb::TransferEnrolmentResponse {
            previous: Some(to_proto(&answer.previous)),
            current: Some(to_proto(&answer.current)),
        }
    }
}

impl From<&HistoryRow> for pb::EnrolmentHistoryEntry {
    fn from(entry: &HistoryRow) -> Self {
        pb::EnrolmentHistoryEntry {
            seq: entry.seq,
            status: pb::EnrolmentStatus::from(entry.status) as i32,
            effective_date: Some(date_to_proto(entry.effective_date)),
            reason: pb::ChangeReason::from(entry.reason) as i32,
            actor: entry.actor.clone(),
            recorded_at: Some(timestamp(entry.recorded_at)),
            related_enrolment_id: id_or_empty(entry.related_enrolment_id),
        }
    }
}

impl From<&History> for pb::EnrolmentHistory {
    fn from(history: &History) -> Self {
        pb::EnrolmentHistory {
            enrolment_id: history.enrolment_id.to_string(),
            entries: history.entries.iter().map(Into::into).collect(),
        }
    }
}

impl From<&Page> for pb::ListEnrolmentsResponse {
    fn from(page: &Page) -> Self {
        pb::ListEnrolmentsResponse {
            enrolments: page.enrolments.iter().map(to_proto).collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}

/// FindEnrolmentsByIdNumber's answer.
pub fn found(rows: &[EnrolmentRow]) -> pb::FindEnrolmentsByIdNumberResponse {
    pb::FindEnrolmentsByIdNumberResponse {
        enrolments: rows.iter().map(to_proto).collect(),
    }
}

impl From<&Windows> for pb::BackdatingWindow {
    fn from(windows: &Windows) -> Self {
        pb::BackdatingWindow {
            province_code: windows
                .province
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            max_backdate_days: windows.max_backdate_days,
            // At most 3650: the column's check.
            max_cover_start_days_ahead: i32::try_from(windows.max_cover_start_days_ahead)
                .unwrap_or(i32::MAX),
        }
    }
}
