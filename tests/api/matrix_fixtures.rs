//! The matrix's world: one app on 2026-06-15, the callers' tokens, and the records a target names,
//! created through gRPC by their owners (a platform enrols and reports, an agency decides and
//! enrols pensions). Records are shared per RPC and target for the calls the rule refuses (which
//! must change nothing) and made fresh for each allowed write (which may).
use crate::helpers::*;
use crate::matrix::{Caller, Target};
use flexcover::pb;
use flexcover::pb::admin_service_client::AdminServiceClient;
use flexcover::pb::claim_service_client::ClaimServiceClient;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use flexcover::pb::federation_service_client::FederationServiceClient;
use flexcover::pb::supervision_service_client::SupervisionServiceClient;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tonic::Request;
use tonic::transport::Channel;

/// Who owns a target: a province, a platform, and places in the province.
#[derive(Debug)]
pub struct Tenant {
    pub province: &'static str,
    pub platform: &'static str,
    /// Where its workers are enrolled and its incidents happen.
    pub place: &'static str,
    /// Another place in the same province (transfers).
    pub second_place: &'static str,
}

impl Tenant {
    /// Guangdong and Meituan: the own tenant of `province:44` and `platform:meituan`.
    pub const OWN: Tenant = Tenant {
        province: "44",
        platform: "meituan",
        place: "440305",
        second_place: "440106",
    };
    /// Beijing and Ele.me.
    pub const OTHER: Tenant = Tenant {
        province: "11",
        platform: "eleme",
        place: "110105",
        second_place: "110108",
    };
    /// Shanghai and Dada: nobody's among the matrix's callers.
    pub const STRANGER: Tenant = Tenant {
        province: "31",
        platform: "dada",
        place: "310104",
        second_place: "310105",
    };

    pub fn of(target: Target) -> &'static Tenant {
        match target {
            Target::Own => &Tenant::OWN,
            Target::Other => &Tenant::OTHER,
            Target::Random => &Tenant::STRANGER,
        }
    }
}

/// Per table in `public`: (row count, sum of its rows' hashes).
pub type Fingerprint = BTreeMap<String, (i64, String)>;

/// Tables the background sequencer writes by itself (numbering commits that happened before).
const SEQUENCER_TABLES: &[&str] = &["sequencer_frontier", "province_log", "province_heads"];

/// How far a claim fixture is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClaimState {
    Reported,
    Applied,
    NotConfirmed,
    Confirmed,
    Appraised,
    Assessed,
}

pub const TODAY: (i32, i32, i32) = (2026, 6, 15);

pub fn today() -> pb::Date {
    date(TODAY.0, TODAY.1, TODAY.2)
}

pub struct Ctx {
    app: TestApp,
    channel: Channel,
    headers: HashMap<Caller, Option<String>>,
    next: AtomicU32,
    generation: AtomicU64,
    cache: Mutex<HashMap<(String, Target), Vec<String>>>,
    fingerprint_sql: String,
}

impl Ctx {
    pub async fn new() -> Ctx {
        let app = spawn_app().await;
        app.seed_pilot().await;
        flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
            .await
            .expect("rates");
        let channel = app.channel().await;
        let mut headers = HashMap::new();
        for (caller, role) in [
            (Caller::NationalAdmin, "national-admin"),
            (Caller::Auditor, "auditor"),
            (Caller::OwnProvince, "province:44"),
            (Caller::OtherProvince, "province:11"),
            (Caller::OwnPlatform, "platform:meituan"),
            (Caller::OtherPlatform, "platform:eleme"),
        ] {
            headers.insert(caller, Some(format!("Bearer {}", app.token(role).await)));
        }
        let admin_token = app.token("national-admin").await;
        headers.insert(
            Caller::Revoked,
            Some(format!(
                "Bearer {}",
                revoked_token(&channel, &admin_token).await
            )),
        );
        headers.insert(Caller::NoScheme, Some(admin_token));
        headers.insert(Caller::Garbage, Some("Bearer fc_garbage".to_owned()));
        headers.insert(Caller::NoToken, None);
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .fetch_all(&app.pool)
        .await
        .expect("tables");
        let fingerprint_sql = tables
            .iter()
            .filter(|table| !SEQUENCER_TABLES.contains(&table.as_str()))
            .map(|table| {
                format!(
                    "SELECT '{table}'::text, count(*)::bigint, \
                     coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM \"{table}\" t"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let cx = Ctx {
            app,
            channel,
            headers,
            next: AtomicU32::new(0),
            generation: AtomicU64::new(0),
            cache: Mutex::new(HashMap::new()),
            fingerprint_sql,
        };
        for province in ["44", "11", "31"] {
            cx.admin()
                .set_average_wage(cx.req(
                    Caller::NationalAdmin,
                    pb::SetAverageWageRequest {
                        request_id: cx.rid(),
                        province_code: province.into(),
                        year: 2025,
                        annual_fen: 12_000_000,
                    },
                ))
                .await
                .expect("2025 average wage");
        }
        for (caller, tenant) in [
            (Caller::OwnPlatform, &Tenant::OWN),
            (Caller::OtherPlatform, &Tenant::OTHER),
        ] {
            cx.contributions()
                .declare_contributions(cx.req(caller, cx.declaration_request(tenant.province)))
                .await
                .expect("May declared");
        }
        cx
    }

    pub async fn stop(self) {
        self.app.stop().await;
    }

    /// `message` with the authorization header of `caller`.
    pub fn req<T>(&self, caller: Caller, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(value) = self.headers.get(&caller).cloned().flatten() {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("header value"));
        }
        request
    }

    /// A request_id never used before.
    pub fn rid(&self) -> String {
        format!("mx-{}", self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// A valid ID number never used before.
    pub fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let birth = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("date")
            + chrono::Days::new(u64::from(n));
        id_number("110105", &birth.format("%Y%m%d").to_string(), 7)
    }

    pub fn enrolments(&self) -> EnrolmentServiceClient<Channel> {
        EnrolmentServiceClient::new(self.channel.clone())
    }

    pub fn contributions(&self) -> ContributionServiceClient<Channel> {
        ContributionServiceClient::new(self.channel.clone())
    }

    pub fn claims(&self) -> ClaimServiceClient<Channel> {
        ClaimServiceClient::new(self.channel.clone())
    }

    pub fn federation(&self) -> FederationServiceClient<Channel> {
        FederationServiceClient::new(self.channel.clone())
    }

    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }

    pub fn supervision(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.channel.clone())
    }

    /// A supervision finding of the target's tenant (a late enrolment, born resolved), written
    /// straight to the table: findings are derived, no RPC creates one.
    pub async fn finding(&self, target: Target) -> String {
        let tenant = Tenant::of(target);
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO supervision_findings (province_code, finding_id, platform_id, kind,
                 period_start, period_end, subject, measure, detail, state, opened_at,
                 resolved_at, updated_at)
             VALUES ($1, $2, $3, 'late_enrolment', '2026-06-01', '2026-06-02', $4, 3, '',
                     'resolved', now(), now(), now())",
        )
        .bind(tenant.province)
        .bind(id)
        .bind(tenant.platform)
        .bind(id.to_string())
        .execute(&self.app.pool)
        .await
        .expect("finding");
        self.touch();
        id.to_string()
    }

    /// Counts calls and fixture writes, so a fingerprint is reused only while nothing ran since.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn touch(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Per table: its row count and the sum of its rows' 64-bit hashes (order-free, no sort).
    pub async fn fingerprint(&self) -> Fingerprint {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(self.fingerprint_sql.clone()))
                .fetch_all(&self.app.pool)
                .await
                .expect("fingerprint");
        rows.into_iter()
            .map(|(table, count, md5)| (table, (count, md5)))
            .collect()
    }

    /// The shared values under (`key`, `target`), made once by `make`; or fresh ones.
    async fn cached<F, Fut>(&self, key: &str, target: Target, fresh: bool, make: F) -> Vec<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Vec<String>>,
    {
        let slot = (key.to_owned(), target);
        if !fresh && let Some(values) = self.cache.lock().expect("cache").get(&slot) {
            return values.clone();
        }
        self.touch();
        let values = make().await;
        if !fresh {
            self.cache
                .lock()
                .expect("cache")
                .insert(slot, values.clone());
        }
        values
    }

    pub fn platform_of(target: Target) -> Caller {
        match target {
            Target::Other => Caller::OtherPlatform,
            _ => Caller::OwnPlatform,
        }
    }

    pub fn agency_of(target: Target) -> Caller {
        match target {
            Target::Other => Caller::OtherProvince,
            _ => Caller::OwnProvince,
        }
    }

    pub fn declaration_request(&self, province: &str) -> pb::DeclareContributionsRequest {
        pb::DeclareContributionsRequest {
            request_id: self.rid(),
            province_code: province.into(),
            period: "2026-05".into(),
            source: Some(pb::declare_contributions_request::Source::DeclaredCounts(
                pb::DeclaredCounts {
                    counts: vec![pb::IndustryOrders {
                        industry: pb::Industry::InstantDelivery as i32,
                        orders: 10,
                    }],
                },
            )),
        }
    }

    /// An enrolment of the target's platform at its place: [enrolment id, ID number].
    pub async fn enrolment(&self, key: &str, target: Target, fresh: bool) -> Vec<String> {
        self.cached(&format!("{key}/enrolment"), target, fresh, || async {
            let tenant = Tenant::of(target);
            let id = self.new_id();
            let mut request = enrol_request(&self.rid(), &id);
            request.place_of_employment = tenant.place.into();
            let enrolment = self
                .enrolments()
                .enrol_worker(self.req(Self::platform_of(target), request))
                .await
                .expect("fixture enrolment")
                .into_inner()
                .enrolment
                .expect("enrolment");
            vec![enrolment.enrolment_id, id]
        })
        .await
    }

    /// An enrolment suspended from 1 June: [enrolment id, ID number].
    pub async fn suspended_enrolment(&self, key: &str, target: Target, fresh: bool) -> Vec<String> {
        self.cached(&format!("{key}/suspended"), target, fresh, || async {
            let enrolment = self.enrolment(key, target, true).await;
            self.enrolments()
                .suspend_enrolment(self.req(
                    Self::platform_of(target),
                    pb::SuspendEnrolmentRequest {
                        request_id: self.rid(),
                        enrolment_id: enrolment[0].clone(),
                        effective_date: Some(date(2026, 6, 1)),
                        reason: pb::ChangeReason::WorkerRequest as i32,
                    },
                ))
                .await
                .expect("fixture suspension");
            enrolment
        })
        .await
    }

    /// A pension enrolment by the target's agency at its place: [pension id, ID number].
    pub async fn pension(&self, key: &str, target: Target, fresh: bool) -> Vec<String> {
        self.cached(&format!("{key}/pension"), target, fresh, || async {
            let id = self.new_id();
            let pension = self
                .contributions()
                .enrol_pension(self.req(
                    Self::agency_of(target),
                    pb::EnrolPensionRequest {
                        request_id: self.rid(),
                        id_number: id.clone(),
                        place_of_employment: Tenant::of(target).place.into(),
                        monthly_base_fen: 600_000,
                    },
                ))
                .await
                .expect("fixture pension")
                .into_inner();
            vec![pension.pension_id, id]
        })
        .await
    }

    /// The person key (lowercase hex) of an enrolled person of the target.
    pub async fn person_key(&self, key: &str, target: Target) -> String {
        let enrolment = self.enrolment(key, target, false).await;
        let id = uuid::Uuid::parse_str(&enrolment[0]).expect("uuid");
        sqlx::query_scalar(
            "SELECT encode(person_key, 'hex') FROM enrolments WHERE enrolment_id = $1",
        )
        .bind(id)
        .fetch_one(&self.app.pool)
        .await
        .expect("person key")
    }

    /// A token of the target's platform: [token id].
    pub async fn token_id(&self, key: &str, target: Target, fresh: bool) -> Vec<String> {
        self.cached(&format!("{key}/token"), target, fresh, || async {
            let created = self
                .admin()
                .create_token(self.req(
                    Caller::NationalAdmin,
                    pb::CreateTokenRequest {
                        request_id: self.rid(),
                        role: format!("platform:{}", Tenant::of(target).platform),
                        label: "matrix".into(),
                    },
                ))
                .await
                .expect("fixture token")
                .into_inner();
            vec![created.token_id]
        })
        .await
    }

    /// A claim of the target reported by its platform and taken to `state` by its owners:
    /// [claim id, the kind of an item the platform pays (once assessed)].
    pub async fn claim(
        &self,
        key: &str,
        target: Target,
        fresh: bool,
        state: ClaimState,
    ) -> Vec<String> {
        self.cached(
            &format!("{key}/claim/{state:?}"),
            target,
            fresh,
            || async move { self.make_claim(target, state).await },
        )
        .await
    }

    async fn make_claim(&self, target: Target, state: ClaimState) -> Vec<String> {
        let (platform, agency) = (Self::platform_of(target), Self::agency_of(target));
        let claim = self
            .claims()
            .report_incident(self.req(
                platform,
                pb::ReportIncidentRequest {
                    request_id: self.rid(),
                    worker: Some(pb::report_incident_request::Worker::IdNumber(self.new_id())),
                    order_id: "order-mx".into(),
                    occurred_at: Some(at("2026-06-14T02:10:00Z")),
                    place_code: Tenant::of(target).place.into(),
                    description: "fell off the scooter at a crossing".into(),
                    kind: pb::IncidentKind::Injury as i32,
                },
            ))
            .await
            .expect("fixture report")
            .into_inner();
        let claim_id = claim.claim_id.clone();
        if state >= ClaimState::Applied {
            self.claims()
                .apply_for_confirmation(self.req(
                    platform,
                    pb::ApplyForConfirmationRequest {
                        request_id: self.rid(),
                        claim_id: claim_id.clone(),
                        applicant: pb::Applicant::Platform as i32,
                        late_explanation: String::new(),
                    },
                ))
                .await
                .expect("fixture application");
        }
        if state >= ClaimState::NotConfirmed {
            self.claims()
                .decide_confirmation(self.req(
                    agency,
                    pb::DecideConfirmationRequest {
                        request_id: self.rid(),
                        claim_id: claim_id.clone(),
                        confirmed: state != ClaimState::NotConfirmed,
                        reasons: "on an order at the time".into(),
                    },
                ))
                .await
                .expect("fixture decision");
        }
        if state >= ClaimState::Appraised {
            self.claims()
                .record_appraisal(self.req(
                    agency,
                    pb::RecordAppraisalRequest {
                        request_id: self.rid(),
                        claim_id: claim_id.clone(),
                        grade: Some(8),
                    },
                ))
                .await
                .expect("fixture appraisal");
        }
        let mut platform_item = String::new();
        if state >= ClaimState::Assessed {
            let assessed = self
                .claims()
                .assess_benefits(self.req(agency, assessment(&claim_id, self.rid())))
                .await
                .expect("fixture assessment")
                .into_inner();
            platform_item = assessed
                .benefits
                .iter()
                .find(|item| item.payer == pb::BenefitPayer::Platform as i32)
                .map(|item| item.kind.to_string())
                .expect("an item the platform pays (the living allowance)");
        }
        vec![claim_id, platform_item]
    }
}

/// A national admin's token, created and revoked through AdminService.
async fn revoked_token(channel: &Channel, admin: &str) -> String {
    let mut client = AdminServiceClient::new(channel.clone());
    let created = client
        .create_token(authed(
            pb::CreateTokenRequest {
                request_id: "mx-revoked".into(),
                role: "national-admin".into(),
                label: "revoked at once".into(),
            },
            admin,
        ))
        .await
        .expect("token to revoke")
        .into_inner();
    client
        .revoke_token(authed(
            pb::RevokeTokenRequest {
                request_id: "mx-revoke".into(),
                token_id: created.token_id,
            },
            admin,
        ))
        .await
        .expect("revoked");
    created.token
}

/// Medical costs and ten days of treatment: items the fund pays and one the platform pays.
pub fn assessment(claim_id: &str, request_id: String) -> pb::AssessBenefitsRequest {
    pb::AssessBenefitsRequest {
        request_id,
        claim_id: claim_id.into(),
        medical_costs_fen: 100_000,
        rehabilitation_costs_fen: 0,
        assistive_devices_costs_fen: 0,
        treatment_days: 10,
        dependants: vec![],
    }
}
