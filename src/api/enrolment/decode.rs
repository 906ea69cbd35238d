//! Every EnrolmentService request (and SetBackdatingWindow) decoded into its command: each field
//! parsed as it is (nothing trimmed), every violation reported at once under the field's name.
use crate::api::convert::{date_from_proto, non_empty};
use crate::api::paging;
use crate::api::request_key as key;
use crate::domain::Invalid;
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::enrolment::{EnrolWorker, EnrolmentStatus};
use crate::domain::id_number::IdNumber;
use crate::domain::lifecycle::{Change, Reason};
use crate::domain::person::{PersonName, Phone};
use crate::domain::platform::PlatformId;
use crate::domain::text::parse_id;
use crate::error::{AppError, Violations};
use crate::pb;
use crate::service::RequestKey;
use crate::service::enrolment::enrol::EnrolWorkerCommand;
use crate::service::enrolment::lifecycle::{ChangeStatus, Transfer};
use crate::service::enrolment::query::ListEnrolments;
use crate::service::enrolment::settings::{MAX_WINDOW_DAYS, SetWindows};
use uuid::Uuid;

/// The command, when no violation was recorded (every parsed field is then Some); otherwise the
/// violations, all at once.
fn complete<T>(violations: Violations, build: impl FnOnce() -> Option<T>) -> Result<T, AppError> {
    match violations.is_empty().then(build).flatten() {
        Some(command) => Ok(command),
        None => Err(violations.into_error()),
    }
}

/// An enrolment id the caller gives: canonical, as the service wrote it.
pub fn enrolment_id(raw: &str) -> Result<Uuid, AppError> {
    parse_id(raw).map_err(|invalid| AppError::invalid("enrolment_id", invalid.0))
}

fn industry(value: i32) -> Result<crate::domain::industry::Industry, Invalid> {
    crate::api::convert::industry_from_proto(value)
}

fn status(value: i32) -> Result<Option<EnrolmentStatus>, Invalid> {
    use pb::EnrolmentStatus as S;
    match S::try_from(value) {
        Ok(S::Unspecified) => Ok(None),
        Ok(S::Active) => Ok(Some(EnrolmentStatus::Active)),
        Ok(S::Suspended) => Ok(Some(EnrolmentStatus::Suspended)),
        Ok(S::Terminated) => Ok(Some(EnrolmentStatus::Terminated)),
        Ok(S::Transferred) => Ok(Some(EnrolmentStatus::Transferred)),
        Err(_) => Err(Invalid::new(format!("unknown status {value}"))),
    }
}

fn reason(value: i32) -> Result<Reason, Invalid> {
    use pb::ChangeReason as R;
    match R::try_from(value) {
        Ok(R::WorkerRequest) => Ok(Reason::WorkerRequest),
        Ok(R::Inactivity) => Ok(Reason::Inactivity),
        Ok(R::LeftPlatform) => Ok(Reason::LeftPlatform),
        Ok(R::SuspendedByPlatform) => Ok(Reason::SuspendedByPlatform),
        Ok(R::Moved) => Ok(Reason::Moved),
        Ok(R::Deceased) => Ok(Reason::Deceased),
        Ok(R::DataCorrection) => Ok(Reason::DataCorrection),
        Ok(R::Other) => Ok(Reason::Other),
        Ok(R::Unspecified) => Err(Invalid::new("required")),
        Ok(R::Enrolled) => Err(Invalid::new(
            "ENROLLED is recorded by the service, not given",
        )),
        Err(_) => Err(Invalid::new(format!("unknown reason {value}"))),
    }
}

impl TryFrom<pb::EnrolWorkerRequest> for EnrolWorkerCommand {
    type Error = AppError;

    fn try_from(request: pb::EnrolWorkerRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::EnrolWorkerRequest {
            request_id: _,
            worker,
            place_of_employment,
            industry: industry_value,
            cover_start_date,
        } = request;
        let (id_number, name, phone) = match worker {
            Some(pb::Worker {
                id_number,
                name,
                phone,
            }) => (
                violations.check("worker.id_number", IdNumber::parse(&id_number)),
                violations.check("worker.name", PersonName::parse(&name)),
                violations.check("worker.phone", Phone::parse(&phone)),
            ),
            None => {
                violations.add("worker", "required");
                (None, None, None)
            }
        };
        let place = violations.check(
            "place_of_employment",
            PlaceOfEmployment::parse(&place_of_employment),
        );
        let industry = violations.check("industry", industry(industry_value));
        let cover_start = violations.check(
            "cover_start_date",
            date_from_proto(cover_start_date.as_ref()),
        );
        complete(violations, || {
            Some(EnrolWorkerCommand {
                key: key?,
                worker: EnrolWorker {
                    id_number: id_number?,
                    name: name?,
                    phone: phone?,
                    place: place?,
                    industry: industry?,
                    cover_start: cover_start?,
                },
            })
        })
    }
}

impl TryFrom<pb::GetEnrolmentRequest> for Uuid {
    type Error = AppError;

    fn try_from(request: pb::GetEnrolmentRequest) -> Result<Self, AppError> {
        let pb::GetEnrolmentRequest { enrolment_id: id } = request;
        enrolment_id(&id)
    }
}

impl TryFrom<pb::GetEnrolmentHistoryRequest> for Uuid {
    type Error = AppError;

    fn try_from(request: pb::GetEnrolmentHistoryRequest) -> Result<Self, AppError> {
        let pb::GetEnrolmentHistoryRequest { enrolment_id: id } = request;
        enrolment_id(&id)
    }
}

impl TryFrom<pb::FindEnrolmentsByIdNumberRequest> for IdNumber {
    type Error = AppError;

    fn try_from(request: pb::FindEnrolmentsByIdNumberRequest) -> Result<Self, AppError> {
        let pb::FindEnrolmentsByIdNumberRequest { id_number } = request;
        IdNumber::parse(&id_number).map_err(|invalid| AppError::invalid("id_number", invalid.0))
    }
}

impl TryFrom<pb::ListEnrolmentsRequest> for ListEnrolments {
    type Error = AppError;

    fn try_from(request: pb::ListEnrolmentsRequest) -> Result<Self, AppError> {
        let pb::ListEnrolmentsRequest {
            page_size,
            page_token,
            province_code,
            place_of_employment,
            status: status_value,
            platform_id,
        } = request;
        let mut violations = Violations::new();
        let page_size = match paging::page_size(page_size) {
            Ok(size) => Some(size),
            Err(_) => {
                violations.add("page_size", "must not be negative");
                None
            }
        };
        let province = non_empty(&province_code)
            .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
        let place_code = non_empty(&place_of_employment).and_then(|code| {
            let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                violations.add(
                    "place_of_employment",
                    "must be a 6-digit GB/T 2260 division code",
                );
            }
            well_formed.then(|| code.to_owned())
        });
        let platform = non_empty(&platform_id)
            .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
        let status = violations.check("status", status(status_value));
        complete(violations, || {
            Some(ListEnrolments {
                page_size: page_size?,
                page_token,
                province,
                platform,
                place_code,
                status: status?,
            })
        })
    }
}

/// The fields every status change carries.
fn change_status(
    change: Change,
    key: Option<RequestKey>,
    enrolment_id: &str,
    effective_date: Option<&pb::Date>,
    reason_value: i32,
    mut violations: Violations,
) -> Result<ChangeStatus, AppError> {
    let enrolment_id = violations.check("enrolment_id", parse_id(enrolment_id));
    let effective = violations.check("effective_date", date_from_proto(effective_date));
    let reason = violations.check("reason", reason(reason_value));
    complete(violations, || {
        Some(ChangeStatus {
            key: key?,
            change,
            enrolment_id: enrolment_id?,
            effective: effective?,
            reason: reason?,
        })
    })
}

/// Suspend, resume and terminate requests have the same fields; each is destructured in full.
macro_rules! status_change_request {
    ($message:ident, $change:expr) => {
        impl TryFrom<pb::$message> for ChangeStatus {
            type Error = AppError;

            fn try_from(request: pb::$message) -> Result<Self, AppError> {
                let mut violations = Violations::new();
                let key = key(&mut violations, &request.request_id, &request);
                let pb::$message {
                    request_id: _,
                    enrolment_id,
                    effective_date,
                    reason,
                } = request;
                change_status(
                    $change,
                    key,
                    &enrolment_id,
                    effective_date.as_ref(),
                    reason,
                    violations,
                )
            }
        }
    };
}

status_change_request!(SuspendEnrolmentRequest, Change::Suspend);
status_change_request!(ResumeEnrolmentRequest, Change::Resume);
status_change_request!(TerminateEnrolmentRequest, Change::Terminate);

impl TryFrom<pb::TransferEnrolmentRequest> for Transfer {
    type Error = AppError;

    fn try_from(request: pb::TransferEnrolmentRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::TransferEnrolmentRequest {
            request_id: _,
            enrolment_id,
            new_place_of_employment,
            effective_date,
            reason: reason_value,
        } = request;
        let enrolment_id = violations.check("enrolment_id", parse_id(&enrolment_id));
        let new_place = violations.check(
            "new_place_of_employment",
            PlaceOfEmployment::parse(&new_place_of_employment),
        );
        let effective =
            violations.check("effective_date", date_from_proto(effective_date.as_ref()));
        let reason = violations.check("reason", reason(reason_value));
        complete(violations, || {
            Some(Transfer {
                key: key?,
                enrolment_id: enrolment_id?,
                new_place: new_place?,
                effective: effective?,
                reason: reason?,
            })
        })
    }
}

/// A window in days: 0 to [`MAX_WINDOW_DAYS`].
fn window_days(days: i32) -> Result<i32, Invalid> {
    if (0..=MAX_WINDOW_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(Invalid::new(format!(
            "must be between 0 and {MAX_WINDOW_DAYS}"
        )))
    }
}

impl TryFrom<pb::SetBackdatingWindowRequest> for SetWindows {
    type Error = AppError;

    fn try_from(request: pb::SetBackdatingWindowRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetBackdatingWindowRequest {
            request_id: _,
            province_code,
            max_backdate_days,
            max_cover_start_days_ahead,
        } = request;
        let province = match non_empty(&province_code) {
            None => Some(None),
            Some(code) => violations
                .check("province_code", ProvinceCode::parse(code))
                .map(Some),
        };
        let backdate = violations.check("max_backdate_days", window_days(max_backdate_days));
        let ahead = match max_cover_start_days_ahead {
            None => Some(None),
            Some(days) => violations
                .check("max_cover_start_days_ahead", window_days(days))
                .map(Some),
        };
        complete(violations, || {
            Some(SetWindows {
                key: key?,
                province: province?,
                max_backdate_days: backdate?,
                max_cover_start_days_ahead: ahead?,
            })
        })
    }
}
