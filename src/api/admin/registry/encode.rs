//! The registry's records as the API shows them.
use crate::api::convert::{date_to_proto, stored_industry_to_proto, timestamp};
use crate::pb;
use crate::service::registry::{PlatformPage, TokenIssued, TokenPage, TokenReply};
use crate::store::pilot_scope::ScopeRow;
use crate::store::platforms::PlatformRow;
use crate::store::tokens::TokenRow;

impl From<&PlatformRow> for pb::Platform {
    fn from(row: &PlatformRow) -> Self {
        pb::Platform {
            platform_id: row.platform_id.clone(),
            name: row.name.clone(),
            credit_code: row.credit_code.clone().unwrap_or_default(),
            industries: row
                .industries
                .iter()
                .map(|i| stored_industry_to_proto(i))
                .collect(),
            created_at: Some(timestamp(row.created_at)),
        }
    }
}

impl From<&PlatformPage> for pb::ListPlatformsResponse {
    fn from(page: &PlatformPage) -> Self {
        pb::ListPlatformsResponse {
            platforms: page.platforms.iter().map(pb::Platform::from).collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}

impl From<&TokenRow> for pb::TokenInfo {
    fn from(row: &TokenRow) -> Self {
        pb::TokenInfo {
            token_id: row.token_id.clone(),
            role: row.role.clone(),
            label: row.label.clone(),
            created_at: Some(timestamp(row.created_at)),
            revoked_at: row.revoked_at.map(timestamp),
        }
    }
}

impl From<&TokenRow> for pb::RevokeTokenResponse {
    fn from(row: &TokenRow) -> Self {
        pb::RevokeTokenResponse {
            token: Some(pb::TokenInfo::from(row)),
        }
    }
}

impl From<&TokenPage> for pb::ListTokensResponse {
    fn from(page: &TokenPage) -> Self {
        pb::ListTokensResponse {
            tokens: page.tokens.iter().map(pb::TokenInfo::from).collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}

impl From<&TokenIssued> for pb::CreateTokenResponse {
    fn from(issued: &TokenIssued) -> Self {
        pb::CreateTokenResponse {
            token_id: issued.token_id.clone(),
            token: issued.token.clone().unwrap_or_default(),
            role: issued.role.clone(),
        }
    }
}

impl TokenReply for pb::CreateTokenResponse {
    fn token_id(&self) -> &str {
        &self.token_id
    }
}

impl From<&ScopeRow> for pb::PilotScope {
    fn from(row: &ScopeRow) -> Self {
        pb::PilotScope {
            province_code: row.province_code.clone(),
            platform_id: row.platform_id.clone(),
            valid_from: Some(date_to_proto(row.valid_from)),
            valid_to: row.valid_to.map(date_to_proto),
        }
    }
}
