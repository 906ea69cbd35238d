//! Authentication: bearer tokens, stored as SHA-256 hashes, checked in constant time, revocable.
//! The tower layer puts the caller's [`Principal`] into the request extensions; health checks and
//! reflection stay open.
use crate::cache::Cache;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::store::tokens::TokenRow;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;
use std::task::{Context, Poll};
use subtle::ConstantTimeEq;
use tonic::Status;
use uuid::Uuid;

const TOKEN_PREFIX: &str = "fc_";
const TOKEN_ID_LEN: usize = 32;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub token_id: String,
}

impl Principal {
    /// The idempotency scope and event actor: the role, so a retry with a rotated token replays.
    pub fn caller_key(&self) -> String {
        self.role.to_string()
    }
}

/// Reads the principal the auth layer attached, or refuses the call.
pub fn principal<T>(request: &tonic::Request<T>) -> AppResult<Principal> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| AppError::Unauthenticated("missing credentials".into()))
}

/// A freshly issued token: the full secret string is shown once, only the row is stored.
pub struct IssuedToken {
    pub token: String,
    pub row: TokenRow,
}

fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token `fc_<token id>_<secret>` for `role`, ready to insert.
pub fn issue(role: &Role, label: &str, now: DateTime<Utc>) -> IssuedToken {
    let token_id = Uuid::now_v7().simple().to_string();
    let mut secret_bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut secret_bytes);
    let secret = URL_SAFE_NO_PAD.encode(secret_bytes);
    IssuedToken {
        token: format!("{TOKEN_PREFIX}{token_id}_{secret}"),
        row: TokenRow {
            token_id,
            secret_hash: hash_secret(&secret),
            role: role.to_string(),
            label: label.to_owned(),
            created_at: now,
            revoked_at: None,
        },
    }
}

/// Splits a presented token into (token id, secret).
fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    if rest.len() <= TOKEN_ID_LEN + 1 || !rest.is_char_boundary(TOKEN_ID_LEN) {
        return None;
    }
    let (token_id, secret) = rest.split_at(TOKEN_ID_LEN);
    Some((token_id, secret.strip_prefix('_')?))
}

/// Checks a bearer token against the stored hash.
pub async fn authenticate(pool: &PgPool, cache: &Cache, token: &str) -> AppResult<Principal> {
    let unknown = || AppError::Unauthenticated("invalid token".into());
    let (token_id, secret) = split_token(token).ok_or_else(unknown)?;
    let row = cache
        .token(pool, token_id)
        .await
        .map_err(|error| match error {
            AppError::Internal(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "token lookup failed");
                AppError::Unavailable("cannot check credentials right now; retry later".into())
            }
            other => other,
        })?;
    let row = row.ok_or_else(unknown)?;
    let matches: bool = hash_secret(secret).ct_eq(&row.secret_hash).into();
    if !matches {
        return Err(unknown());
    }
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthenticated("token has been revoked".into()));
    }
    let role = Role::parse(&row.role)
        .map_err(|invalid| anyhow::anyhow!("stored role of token {token_id}: {invalid}"))?;
    Ok(Principal {
        role,
        token_id: row.token_id,
    })
}

/// Why a request carries no usable credentials; each says what is wrong with what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadCredentials {
    Missing,
    NotBearer,
    Malformed,
}

impl BadCredentials {
    fn message(self) -> &'static str {
        match self {
            BadCredentials::Missing => "missing `authorization: Bearer <token>` metadata",
            BadCredentials::NotBearer => {
                "the authorization metadata must be `Bearer <token>` (the Bearer scheme, one space, the token)"
            }
            BadCredentials::Malformed => {
                "the bearer token is malformed: it must be the token exactly as issued, with no spaces"
            }
        }
    }
}

/// The token of `authorization: Bearer <token>`. The scheme is case-insensitive (RFC 7235);
/// the token is taken exactly as sent, never trimmed.
fn bearer_token(headers: &http::HeaderMap) -> Result<&str, BadCredentials> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(BadCredentials::Missing)?;
    let value = value.to_str().map_err(|_| BadCredentials::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(BadCredentials::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BadCredentials::NotBearer);
    }
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BadCredentials::Malformed);
    }
    Ok(token)
}

#[derive(Clone)]
pub struct AuthLayer {
    pool: PgPool,
    cache: Arc<Cache>,
}

impl AuthLayer {
    pub fn new(pool: PgPool, cache: Arc<Cache>) -> Self {
        Self { pool, cache }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            pool: self.pool.clone(),
            cache: Arc::clone(&self.cache),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    pool: PgPool,
    cache: Arc<Cache>,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if crate::admission::is_infrastructure(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pool = self.pool.clone();
        let cache = Arc::clone(&self.cache);
        Box::pin(async move {
            let token = match bearer_token(request.headers()) {
                Ok(token) => token,
                Err(bad) => return Ok(Status::unauthenticated(bad.message()).into_http()),
            };
            match authenticate(&pool, &cache, token).await {
                Ok(principal) => {
                    let span = tracing::Span::current();
                    span.record("caller.kind", principal.role.kind());
                    if let Role::ProvinceAgency(province) = &principal.role {
                        span.record("province", province.as_str());
                    }
                    request.extensions_mut().insert(principal);
                    inner.call(request).await
                }
                Err(error) => Ok(Status::from(error).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_split_back_into_id_and_secret() {
        let issued = issue(&Role::NationalAdmin, "test", Utc::now());
        let (token_id, secret) = split_token(&issued.token).expect("well-formed");
        assert_eq!(token_id, issued.row.token_id);
        assert_eq!(hash_secret(secret), issued.row.secret_hash);
        assert!(!issued.token.contains(&hex::encode(&issued.row.secret_hash)));
    }

    #[test]
    fn malformed_tokens_do_not_split() {
        for token in [
            "",
            "fc_",
            "abc",
            "fc_short_x",
            &format!("fc_{}", "a".repeat(32)),
        ] {
            assert!(split_token(token).is_none(), "{token}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "bearer abc".parse().expect("header"),
        );
        assert_eq!(bearer_token(&headers), Ok("abc"));
        headers.insert(
            http::header::AUTHORIZATION,
            "Basic abc".parse().expect("header"),
        );
        assert_eq!(bearer_token(&headers), Err(BadCredentials::NotBearer));
    }

    #[test]
    fn each_credential_problem_is_named() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(bearer_token(&headers), Err(BadCredentials::Missing));
        for (value, expected) in [
            ("fc_abc", BadCredentials::NotBearer),
            ("Bearer", BadCredentials::NotBearer),
            ("Bearer ", BadCredentials::Malformed),
            ("Bearer  fc_abc", BadCredentials::Malformed),
            ("Bearer fc_abc ", BadCredentials::Malformed),
        ] {
            headers.insert(http::header::AUTHORIZATION, value.parse().expect("header"));
            assert_eq!(bearer_token(&headers), Err(expected), "{value:?}");
        }
    }
}
