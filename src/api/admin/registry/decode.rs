//! The registry's requests decoded into service commands: every field destructured, every
//! violation reported at once, nothing trimmed.
use crate::api::convert::{
    date_from_proto, industry_from_proto, non_empty, optional_date_from_proto,
};
use crate::api::paging;
use crate::api::request_key as key;
use crate::domain::Invalid;
use crate::domain::credit_code::CreditCode;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::{PlatformId, parse_platform_name};
use crate::domain::role::Role;
use crate::domain::text::check_line;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::registry::{
    AddPilotScope, CreateToken, EndPilotScope, ListPilotScope, MAX_LABEL_CHARS, Page,
    RegisterPlatform, RevokeToken,
};

/// The command, or every violation collected.
fn decoded<T>(violations: Violations, built: Option<T>) -> AppResult<T> {
    violations.into_result()?;
    built.ok_or_else(|| anyhow::anyhow!("a request was refused without a field violation").into())
}

/// A token id as the service writes it: 32 lowercase hex digits (a UUID without hyphens).
fn parse_token_id(raw: &str) -> Result<String, Invalid> {
    if raw.len() == 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(
            "must be a token id as CreateToken shows it: 32 lowercase hex digits",
        ))
    }
}

fn page(page_size: i32, page_token: String) -> AppResult<Page> {
    Ok(Page {
        size: paging::page_size(page_size)?,
        token: page_token,
    })
}

pub(super) fn platform_page(request: pb::ListPlatformsRequest) -> AppResult<Page> {
    let pb::ListPlatformsRequest {
        page_size,
        page_token,
    } = request;
    page(page_size, page_token)
}

pub(super) fn token_page(request: pb::ListTokensRequest) -> AppResult<Page> {
    let pb::ListTokensRequest {
        page_size,
        page_token,
    } = request;
    page(page_size, page_token)
}

impl TryFrom<pb::RegisterPlatformRequest> for RegisterPlatform {
    type Error = AppError;

    fn try_from(request: pb::RegisterPlatformRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::RegisterPlatformRequest {
            request_id: _,
            platform_id,
            name,
            credit_code,
            industries,
        } = request;
        let platform_id = violations.check("platform_id", PlatformId::parse(&platform_id));
        let name = violations.check("name", parse_platform_name(&name));
        let credit_code = violations.check("credit_code", CreditCode::parse(&credit_code));
        if industries.is_empty() {
            violations.add("industries", "at least one industry is required");
        }
        let mut parsed = Vec::new();
        for (index, industry) in industries.into_iter().enumerate() {
            if let Some(industry) = violations.check(
                &format!("industries[{index}]"),
                industry_from_proto(industry),
            ) {
                parsed.push(industry);
            }
        }
        parsed.sort();
        parsed.dedup();
        let built = (|| {
            Some(RegisterPlatform {
                key: key?,
                platform_id: platform_id?,
                name: name?,
                credit_code: credit_code?,
                industries: parsed,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::CreateTokenRequest> for CreateToken {
    type Error = AppError;

    fn try_from(request: pb::CreateTokenRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::CreateTokenRequest {
            request_id: _,
            role,
            label,
        } = request;
        let role = violations.check("role", Role::parse(&role));
        // The label is optional; when given, one line.
        let label = if label.is_empty() {
            Some(label)
        } else {
            violations.check(
                "label",
                check_line(&label, MAX_LABEL_CHARS).map(|()| label.clone()),
            )
        };
        let built = (|| {
            Some(CreateToken {
                key: key?,
                role: role?,
                label: label?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::RevokeTokenRequest> for RevokeToken {
    type Error = AppError;

    fn try_from(request: pb::RevokeTokenRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::RevokeTokenRequest {
            request_id: _,
            token_id,
        } = request;
        let token_id = violations.check("token_id", parse_token_id(&token_id));
        let built = (|| {
            Some(RevokeToken {
                key: key?,
                token_id: token_id?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::AddPilotScopeRequest> for AddPilotScope {
    type Error = AppError;

    fn try_from(request: pb::AddPilotScopeRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::AddPilotScopeRequest {
            request_id: _,
            province_code,
            platform_id,
            valid_from,
            valid_to,
        } = request;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
        let from = violations.check("valid_from", date_from_proto(valid_from.as_ref()));
        let to = violations.check("valid_to", optional_date_from_proto(valid_to.as_ref()));
        if let (Some(from), Some(Some(to))) = (from, to)
            && to <= from
        {
            violations.add(
                "valid_to",
                "must be after valid_from (the period is [valid_from, valid_to))",
            );
        }
        let built = (|| {
            Some(AddPilotScope {
                key: key?,
                province: province?,
                platform: platform?,
                valid_from: from?,
                valid_to: to?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::EndPilotScopeRequest> for EndPilotScope {
    type Error = AppError;

    fn try_from(request: pb::EndPilotScopeRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::EndPilotScopeRequest {
            request_id: _,
            province_code,
            platform_id,
            end_date,
        } = request;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
        let end = violations.check("end_date", date_from_proto(end_date.as_ref()));
        let built = (|| {
            Some(EndPilotScope {
                key: key?,
                province: province?,
                platform: platform?,
                end_date: end?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::ListPilotScopeRequest> for ListPilotScope {
    type Error = AppError;

    fn try_from(request: pb::ListPilotScopeRequest) -> AppResult<Self> {
        let pb::ListPilotScopeRequest {
            province_code,
            platform_id,
            on_date,
        } = request;
        let mut violations = Violations::new();
        let province = non_empty(&province_code)
            .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
        let platform = non_empty(&platform_id)
            .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
        let on_date = violations
            .check("on_date", optional_date_from_proto(on_date.as_ref()))
            .flatten();
        violations.into_result()?;
        Ok(ListPilotScope {
            province,
            platform,
            on_date,
        })
    }
}
