//! The registry the national admin keeps: platforms, API tokens and the pilot scope. Changes are
//! for national admins (`Action::Administer`); platforms and tokens are read by national readers
//! (`Action::ReadAdministration`); the pilot scope by everyone, narrowed to what concerns them
//! (`Action::ReadPilotScope`).
mod events;

use crate::api::paging;
use crate::auth::{self, Principal};
use crate::domain::credit_code::CreditCode;
use crate::domain::division::ProvinceCode;
use crate::domain::industry::Industry;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, Idempotent, RequestKey};
use crate::store::pilot_scope::{self, ScopeRow};
use crate::store::platforms::{self, PlatformRow};
use crate::store::tokens::{self, TokenRow};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;

/// Longest token label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct RegisterPlatform {
    pub key: RequestKey,
    pub platform_id: PlatformId,
    pub name: String,
    pub credit_code: CreditCode,
    /// At least one, without repeats.
    pub industries: Vec<Industry>,
}

/// A page of a listing: at most `size`, after the position `token` names.
#[derive(Debug, Clone)]
pub struct Page {
    pub size: i64,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct CreateToken {
    pub key: RequestKey,
    pub role: Role,
    /// Empty, or one line.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct RevokeToken {
    pub key: RequestKey,
    pub token_id: String,
}

#[derive(Debug, Clone)]
pub struct AddPilotScope {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub platform: PlatformId,
    pub valid_from: NaiveDate,
    /// Exclusive; None while open-ended.
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct EndPilotScope {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub platform: PlatformId,
    /// Exclusive: the first day outside the pilot.
    pub end_date: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct ListPilotScope {
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
    pub on_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct PlatformPage {
    pub platforms: Vec<PlatformRow>,
    pub next_page_token: String,
}

#[derive(Debug, Clone)]
pub struct TokenPage {
    pub tokens: Vec<TokenRow>,
    pub next_page_token: String,
}

/// A token just created. `token` (the secret, shown once) is None in the reply stored for replays.
#[derive(Debug, Clone)]
pub struct TokenIssued {
    pub token_id: String,
    pub role: String,
    pub token: Option<String>,
}

/// The reply to CreateToken: a replay must name the token created first.
pub trait TokenReply: Message + Default + for<'a> From<&'a TokenIssued> {
    fn token_id(&self) -> &str;
}

fn administer(principal: &Principal) -> AppResult<()> {
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)
}

fn read_administration(principal: &Principal) -> AppResult<()> {
    policy::authorize_scope(&principal.role, Action::ReadAdministration, Owner::NATIONAL)
}

/// Creates a token for `role` after checking that a platform role names a registered platform
/// (also `flexcover admin create-token`).
pub async fn create_token(
    db: &mut sqlx::PgConnection,
    role: &Role,
    label: &str,
    now: DateTime<Utc>,
) -> AppResult<auth::IssuedToken> {
    if let Some(platform_id) = role.platform()
        && platforms::get(&mut *db, platform_id.as_str())
            .await?
            .is_none()
    {
        return Err(AppError::FailedPrecondition(format!(
            "no platform {platform_id}; register it (or run `flexcover admin seed-pilot`) first"
        )));
    }
    let issued = auth::issue(role, label, now);
    tokens::insert(&mut *db, &issued.row).await?;
    Ok(issued)
}

pub async fn register_platform<R>(
    state: &AppState,
    principal: &Principal,
    command: RegisterPlatform,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PlatformRow>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "RegisterPlatform", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = platforms::register(
        &mut tx,
        &PlatformRow {
            platform_id: command.platform_id.to_string(),
            name: command.name,
            credit_code: Some(command.credit_code.as_str().to_owned()),
            industries: command
                .industries
                .iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            created_at: state.clock.now(),
        },
    )
    .await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn list_platforms(
    state: &AppState,
    principal: &Principal,
    page: Page,
) -> AppResult<PlatformPage> {
    read_administration(principal)?;
    let after = paging::decode_token("platforms", &page.token)?.unwrap_or_default();
    let mut rows = platforms::list(&state.pool, &after, page.size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page.size, |row| {
        paging::encode_token("platforms", &row.platform_id)
    });
    Ok(PlatformPage {
        platforms: rows,
        next_page_token,
    })
}

pub async fn create_token_call<R: TokenReply>(
    state: &AppState,
    principal: &Principal,
    command: CreateToken,
) -> AppResult<R> {
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "CreateToken", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        // The secret is never stored, so a replay cannot show it again.
        Err(replayed) => {
            return Err(AppError::AlreadyExists(format!(
                "token {} was already created for this request_id; its secret is shown only once",
                replayed.token_id()
            )));
        }
    };
    let issued = create_token(&mut tx, &command.role, &command.label, state.clock.now()).await?;
    let mut answer = TokenIssued {
        token_id: issued.row.token_id.clone(),
        role: issued.row.role.clone(),
        token: None,
    };
    idempotent.commit(state, tx, &R::from(&answer)).await?;
    answer.token = Some(issued.token);
    Ok(R::from(&answer))
}

pub async fn revoke_token<R>(
    state: &AppState,
    principal: &Principal,
    command: RevokeToken,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a TokenRow>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "RevokeToken", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let token_id = command.token_id;
    // Revoking twice keeps the first revocation time.
    let row = tokens::revoke(&mut *tx, &token_id, state.clock.now())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no token {token_id}")))?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    // This replica at once; the others by the trigger's notification.
    state.cache.forget(&format!("token:{token_id}"));
    tracing::info!(token_id, "token revoked");
    Ok(reply)
}

pub async fn list_tokens(
    state: &AppState,
    principal: &Principal,
    page: Page,
) -> AppResult<TokenPage> {
    read_administration(principal)?;
    let before = paging::decode_token("tokens", &page.token)?;
    let mut rows = tokens::list(&state.pool, before.as_deref(), page.size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page.size, |row| {
        paging::encode_token("tokens", &row.token_id)
    });
    Ok(TokenPage {
        tokens: rows,
        next_page_token,
    })
}

pub async fn add_pilot_scope<R>(
    state: &AppState,
    principal: &Principal,
    command: AddPilotScope,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a ScopeRow>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "AddPilotScope", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = pilot_scope::add(
        &mut tx,
        &ScopeRow {
            province_code: command.province.to_string(),
            platform_id: command.platform.to_string(),
            valid_from: command.valid_from,
            valid_to: command.valid_to,
        },
    )
    .await?;
    events::scope_changed(&mut tx, &row, principal, state.clock.now()).await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn end_pilot_scope<R>(
    state: &AppState,
    principal: &Principal,
    command: EndPilotScope,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a ScopeRow>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "EndPilotScope", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = pilot_scope::end(
        &mut tx,
        command.province.as_str(),
        command.platform.as_str(),
        command.end_date,
    )
    .await?;
    events::scope_changed(&mut tx, &row, principal, state.clock.now()).await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

/// The scope periods the caller may read: an agency its province's, a platform its own.
pub async fn list_pilot_scope(
    state: &AppState,
    principal: &Principal,
    command: ListPilotScope,
) -> AppResult<Vec<ScopeRow>> {
    let narrowed = policy::narrow(
        &principal.role,
        Action::ReadPilotScope,
        command.province,
        command.platform,
    )?;
    pilot_scope::list(
        &state.pool,
        narrowed.province.as_ref().map(ProvinceCode::as_str),
        narrowed.platform.as_ref().map(PlatformId::as_str),
        command.on_date,
    )
    .await
}
