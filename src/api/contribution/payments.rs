//! Statements, payments and arrears.
use crate::api::convert::{
    date_from_proto, date_to_proto, non_empty, optional_date_from_proto, timestamp,
};
use crate::api::{AppState, Idempotent, paging, record_province};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::late_fee::{Period, days_late, late_fee_with_payments};
use crate::domain::money::Fen;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::declarations::{self, Key};
use crate::store::events;
use crate::store::payments::{self as store, PaymentRow};
use chrono::NaiveDate;
use prost::Message;

/// Builds a statement from a declaration's amount due and the payments received by `as_of`.
#[allow(clippy::too_many_arguments)]
fn statement(
    province: &str,
    platform: &str,
    period: Period,
    version: i32,
    due_fen: i64,
    due_date: NaiveDate,
    payments: &[PaymentRow],
    as_of: NaiveDate,
    ppm: i64,
) -> pb::Statement {
    let received: Vec<(NaiveDate, Fen)> = payments
        .iter()
        .map(|p| (p.paid_on, Fen(p.amount_fen)))
        .collect();
    let paid: i64 = payments.iter().map(|p| p.amount_fen).sum();
    pb::Statement {
        province_code: province.to_owned(),
        platform_id: platform.to_owned(),
        period: period.to_string(),
        as_of: Some(date_to_proto(as_of)),
        declaration_version: version,
        due_fen,
        due_date: Some(date_to_proto(due_date)),
        paid_fen: paid,
        balance_fen: due_fen - paid,
        days_late: if due_fen > paid {
            days_late(due_date, as_of)
        } else {
            0
        },
        late_fee_fen: late_fee_with_payments(Fen(due_fen), due_date, &received, as_of, ppm).0,
        payments: payments
            .iter()
            .map(|p| pb::Payment {
                payment_id: p.payment_id.to_string(),
                amount_fen: p.amount_fen,
                paid_on: Some(date_to_proto(p.paid_on)),
                recorded_at: Some(timestamp(p.recorded_at)),
            })
            .collect(),
    }
}

/// The declaration a statement is about; NOT_FOUND when nothing has been declared.
async fn declared(
    db: &mut sqlx::PgConnection,
    province: &ProvinceCode,
    platform: &PlatformId,
    period: Period,
) -> AppResult<declarations::DeclarationRow> {
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    declarations::get(&mut *db, &key, None)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{platform} has declared nothing for province {province}, {period}"
            ))
        })
}

/// The statement of a declared series as of a day.
async fn statement_of(
    db: &mut sqlx::PgConnection,
    declaration: &declarations::DeclarationRow,
    period: Period,
    as_of: NaiveDate,
) -> AppResult<pb::Statement> {
    let province = declaration.province_code.as_str();
    let platform = declaration.platform_id.as_str();
    let series = [(platform.to_owned(), period.first_day())];
    let payments = store::for_series(&mut *db, province, &series, as_of).await?;
    let (_, ppm) = declarations::policy(&mut *db, province).await?;
    Ok(statement(
        province,
        platform,
        period,
        declaration.version,
        declaration.total_fen,
        declaration.due_date,
        &payments,
        as_of,
        ppm,
    ))
}

pub async fn get_statement(
    state: &AppState,
    principal: &Principal,
    request: pb::GetStatementRequest,
) -> AppResult<pb::Statement> {
    let pb::GetStatementRequest {
        province_code,
        platform_id,
        period,
        as_of,
    } = request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(&province_code));
    let asked = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
    let period = violations.check("period", Period::parse(&period));
    let as_of = violations
        .check("as_of", optional_date_from_proto(as_of.as_ref()))
        .flatten();
    let (Some(province), Some(period)) = (province, period) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let platform = super::platform_read_by(principal, &province, asked, "statement")?;
    record_province(province.as_str());
    let as_of = as_of.unwrap_or_else(|| state.clock.today());
    let mut connection = state.pool.acquire().await?;
    let declaration = declared(&mut connection, &province, &platform, period).await?;
    statement_of(&mut connection, &declaration, period, as_of).await
}

pub async fn record_payment(
    state: &AppState,
    principal: &Principal,
    request: pb::RecordPaymentRequest,
) -> AppResult<pb::Statement> {
    let idempotent = Idempotent::new(principal, "RecordPayment", &request.request_id, &request)?;
    let pb::RecordPaymentRequest {
        request_id: _,
        province_code,
        platform_id,
        period,
        amount_fen,
        paid_on,
    } = &request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(province_code));
    let platform = violations.check("platform_id", PlatformId::parse(platform_id));
    let period = violations.check("period", Period::parse(period));
    let paid_on = violations.check("paid_on", date_from_proto(paid_on.as_ref()));
    if *amount_fen <= 0 {
        violations.add("amount_fen", "must be positive");
    }
    if paid_on.is_some_and(|day| day > state.clock.today()) {
        violations.add("paid_on", "must not be in the future");
    }
    let (Some(province), Some(platform), Some(period), Some(paid_on)) =
        (province, platform, period, paid_on)
    else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    match &principal.role {
        Role::NationalAdmin => {}
        Role::ProvinceAgency(own) if *own == province => {}
        _ => return Err(AppError::PermissionDenied("payments are recorded by the province agency of the declaration's province or a national admin".into())),
    }
    record_province(province.as_str());
    let mut tx = match idempotent.begin::<pb::Statement>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let declaration = declared(&mut tx, &province, &platform, period)
        .await
        .map_err(|error| match error {
            AppError::NotFound(message) => AppError::FailedPrecondition(message),
            other => other,
        })?;
    let now = state.clock.now();
    let payment_id = store::insert(
        &mut *tx,
        &store::NewPayment {
            province_code: province.as_str(),
            platform_id: platform.as_str(),
            period: period.first_day(),
            amount_fen: *amount_fen,
            paid_on,
            recorded_at: now,
            recorded_by: &principal.caller_key(),
        },
    )
    .await?;
    let event = pb::PaymentRecordedV1 {
        payment_id: payment_id.to_string(),
        province_code: province.to_string(),
        platform_id: platform.to_string(),
        period: period.to_string(),
        amount_fen: *amount_fen,
        paid_on: Some(date_to_proto(paid_on)),
        occurred_at: Some(timestamp(now)),
        actor: principal.caller_key(),
    };
    events::append(
        &mut tx,
        events::NewEvent {
            province_code: province.as_str(),
            event_type: events::PAYMENT_RECORDED,
            aggregate_id: payment_id,
            payload: event.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await?;
    let response = statement_of(&mut tx, &declaration, period, state.clock.today()).await?;
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn list_arrears(
    state: &AppState,
    principal: &Principal,
    request: pb::ListArrearsRequest,
) -> AppResult<pb::ListArrearsResponse> {
    let pb::ListArrearsRequest {
        province_code,
        as_of,
        page_size,
        page_token,
    } = request;
    let page_size = paging::page_size(page_size)?;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(&province_code));
    let as_of = violations
        .check("as_of", optional_date_from_proto(as_of.as_ref()))
        .flatten();
    let Some(province) = province else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => {}
        Role::ProvinceAgency(own) if *own == province => {}
        _ => {
            return Err(AppError::PermissionDenied(
                "arrears are for the province agency and national admins".into(),
            ));
        }
    }
    let as_of = as_of.unwrap_or_else(|| state.clock.today());
    let query = format!("arrears|{province}|{as_of}");
    let after = paging::decode_token(&query, &page_token)?
        .map(|cursor| {
            cursor
                .split_once('|')
                .and_then(|(platform, period)| {
                    Some((
                        platform.to_owned(),
                        NaiveDate::parse_from_str(period, "%Y-%m-%d").ok()?,
                    ))
                })
                .ok_or_else(|| AppError::invalid("page_token", "is not a token from this listing"))
        })
        .transpose()?;
    let mut rows =
        store::arrears(&state.pool, province.as_str(), as_of, after, page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |last| {
        paging::encode_token(&query, &format!("{}|{}", last.platform_id, last.period))
    });
    let series: Vec<(String, NaiveDate)> = rows
        .iter()
        .map(|r| (r.platform_id.clone(), r.period))
        .collect();
    let payments = store::for_series(&state.pool, province.as_str(), &series, as_of).await?;
    let (_, ppm) = declarations::policy(&state.pool, province.as_str()).await?;
    let arrears = rows
        .iter()
        .map(|row| {
            let own: Vec<PaymentRow> = payments
                .iter()
                .filter(|p| p.platform_id == row.platform_id && p.period == row.period)
                .cloned()
                .collect();
            statement(
                province.as_str(),
                &row.platform_id,
                Period::containing(row.period),
                row.version,
                row.total_fen,
                row.due_date,
                &own,
                as_of,
                ppm,
            )
        })
        .collect();
    Ok(pb::ListArrearsResponse {
        arrears,
        next_page_token,
    })
}
