//! Statements, payments and arrears.
use super::declarations::{not_found, platform_asked};
use super::events;
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::late_fee::{self, Period, StatementFigures, check_series_payment};
use crate::domain::money::Fen;
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner, Resource};
use crate::service::{AppState, Idempotent, RequestKey, record_province};
use crate::store::declarations::{self, DeclarationRow, Key};
use crate::store::payments::{self as store, PaymentRow};
use chrono::NaiveDate;
use prost::Message;

/// GetStatement: what a platform owes for a month as of a day.
#[derive(Debug, Clone)]
pub struct GetStatement {
    pub province: ProvinceCode,
    /// Unset: the calling platform's own.
    pub platform: Option<PlatformId>,
    pub period: Period,
    /// Unset: today (China Standard Time).
    pub as_of: Option<NaiveDate>,
}

/// RecordPayment: a payment received against a month's declaration.
#[derive(Debug, Clone)]
pub struct RecordPayment {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub platform: PlatformId,
    pub period: Period,
    /// 1 to `MAX_AMOUNT_FEN`.
    pub amount: Fen,
    /// Between the pilot start and today.
    pub paid_on: NaiveDate,
}

/// ListArrears: a province's overdue months as of a day, a page at a time.
#[derive(Debug, Clone)]
pub struct ListArrears {
    pub province: ProvinceCode,
    pub as_of: NaiveDate,
    pub page_size: i64,
    /// The (platform, month) the previous page ended with.
    pub after: Option<(String, NaiveDate)>,
}

/// A month's statement as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub province_code: String,
    pub platform_id: String,
    pub period: Period,
    pub as_of: NaiveDate,
    pub declaration_version: i32,
    pub due: Fen,
    pub due_date: NaiveDate,
    pub figures: StatementFigures,
    /// Payments received on or before `as_of`.
    pub payments: Vec<PaymentRow>,
}

/// A page of arrears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrears {
    pub province: ProvinceCode,
    pub as_of: NaiveDate,
    pub statements: Vec<Statement>,
    /// Where the next page starts, if there is one.
    pub next: Option<(String, NaiveDate)>,
}

/// What a statement is about: the latest declaration of a month.
struct Due<'a> {
    province_code: &'a str,
    platform_id: &'a str,
    period: NaiveDate,
    version: i32,
    total_fen: i64,
    due_date: NaiveDate,
}

impl<'a> From<&'a DeclarationRow> for Due<'a> {
    fn from(row: &'a DeclarationRow) -> Self {
        Due {
            province_code: &row.province_code,
            platform_id: &row.platform_id,
            period: row.period,
            version: row.version,
            total_fen: row.total_fen,
            due_date: row.due_date,
        }
    }
}

/// A statement from a declaration's amount due and the payments received by `as_of`.
fn statement(
    due: Due<'_>,
    payments: Vec<PaymentRow>,
    as_of: NaiveDate,
    ppm: i64,
) -> AppResult<Statement> {
    let received: Vec<(NaiveDate, Fen)> = payments
        .iter()
        .map(|p| (p.paid_on, Fen(p.amount_fen)))
        .collect();
    let figures = late_fee::statement(Fen(due.total_fen), due.due_date, &received, as_of, ppm)
        .ok_or_else(|| anyhow::anyhow!("a statement's sums exceed the amount bounds"))?;
    Ok(Statement {
        province_code: due.province_code.to_owned(),
        platform_id: due.platform_id.to_owned(),
        period: Period::containing(due.period),
        as_of,
        declaration_version: due.version,
        due: Fen(due.total_fen),
        due_date: due.due_date,
        figures,
        payments,
    })
}

/// The statement of a declared month as of a day.
async fn statement_of(
    db: &mut sqlx::PgConnection,
    declaration: &DeclarationRow,
    as_of: NaiveDate,
) -> AppResult<Statement> {
    let province = declaration.province_code.as_str();
    let series = [(declaration.platform_id.clone(), declaration.period)];
    let payments = store::for_series(&mut *db, province, &series, as_of).await?;
    let (_, ppm) = declarations::policy(&mut *db, province).await?;
    statement(Due::from(declaration), payments, as_of, ppm)
}

pub async fn get_statement(
    state: &AppState,
    principal: &Principal,
    command: GetStatement,
) -> AppResult<Statement> {
    let GetStatement {
        province,
        platform,
        period,
        as_of,
    } = command;
    let platform = platform_asked(principal, platform)?;
    record_province(province.as_str());
    let missing = || not_found(&province, &platform, period, None);
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    let mut connection = state.pool.acquire().await?;
    let declaration = declarations::get(&mut *connection, &key, None)
        .await?
        .ok_or_else(missing)?;
    policy::authorize(
        &principal.role,
        Action::ReadDeclaration,
        Resource::Record(Owner::of(&province, &platform)),
        missing,
    )?;
    let as_of = as_of.unwrap_or_else(|| state.clock.today());
    statement_of(&mut connection, &declaration, as_of).await
}

pub async fn record_payment<R>(
    state: &AppState,
    principal: &Principal,
    command: RecordPayment,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a Statement>,
{
    let RecordPayment {
        key,
        province,
        platform,
        period,
        amount,
        paid_on,
    } = command;
    record_province(province.as_str());
    let idempotent = Idempotent::new(principal, "RecordPayment", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let series = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    // Payments of a series are serialised with each other (and with its declarations), so the
    // bound on their sum holds under concurrency.
    declarations::lock_series(&mut tx, &series).await?;
    let missing = || not_found(&province, &platform, period, None);
    let declaration = declarations::get(&mut *tx, &series, None)
        .await?
        .ok_or_else(missing)?;
    policy::authorize(
        &principal.role,
        Action::RecordContributionPayment,
        Resource::Record(Owner::of(&province, &platform)),
        missing,
    )?;
    let paid = store::paid_total(
        &mut *tx,
        series.province_code,
        series.platform_id,
        series.period,
    )
    .await?;
    check_series_payment(paid, amount).map_err(AppError::FailedPrecondition)?;
    let now = state.clock.now();
    let actor = principal.caller_key();
    let payment_id = store::insert(
        &mut *tx,
        &store::NewPayment {
            province_code: province.as_str(),
            platform_id: platform.as_str(),
            period: period.first_day(),
            amount_fen: amount.0,
            paid_on,
            recorded_at: now,
            recorded_by: &actor,
        },
    )
    .await?;
    crate::store::events::append(
        &mut tx,
        events::payment_recorded(events::PaymentRecorded {
            payment_id,
            province_code: province.as_str(),
            platform_id: platform.as_str(),
            period: period.to_string(),
            amount_fen: amount.0,
            paid_on,
            at: now,
            actor: actor.clone(),
        }),
    )
    .await?;
    let statement = statement_of(&mut tx, &declaration, state.clock.today()).await?;
    let reply = R::from(&statement);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn list_arrears(
    state: &AppState,
    principal: &Principal,
    command: ListArrears,
) -> AppResult<Arrears> {
    let ListArrears {
        province,
        as_of,
        page_size,
        after,
    } = command;
    policy::authorize_scope(
        &principal.role,
        Action::ListArrears,
        Owner::province(&province),
    )?;
    record_province(province.as_str());
    let mut rows =
        store::arrears(&state.pool, province.as_str(), as_of, after, page_size + 1).await?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(usize::try_from(page_size).unwrap_or(usize::MAX));
    let next = if more {
        rows.last()
            .map(|last| (last.platform_id.clone(), last.period))
    } else {
        None
    };
    let series: Vec<(String, NaiveDate)> = rows
        .iter()
        .map(|r| (r.platform_id.clone(), r.period))
        .collect();
    let payments = store::for_series(&state.pool, province.as_str(), &series, as_of).await?;
    let (_, ppm) = declarations::policy(&state.pool, province.as_str()).await?;
    let statements = rows
        .into_iter()
        .map(|row| {
            let own: Vec<PaymentRow> = payments
                .iter()
                .filter(|p| p.platform_id == row.platform_id && p.period == row.period)
                .cloned()
                .collect();
            let due = Due {
                province_code: province.as_str(),
                platform_id: &row.platform_id,
                period: row.period,
                version: row.version,
                total_fen: row.total_fen,
                due_date: row.due_date,
            };
            statement(due, own, as_of, ppm)
        })
        .collect::<AppResult<_>>()?;
    Ok(Arrears {
        province,
        as_of,
        statements,
        next,
    })
}
