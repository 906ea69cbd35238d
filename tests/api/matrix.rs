//! The authorization matrix (issue 12, point 2): every RPC × every kind of caller × (own record,
//! another tenant's record, a random id), each cell checked against the rule as the issue states
//! it. The rule is written out here on purpose, not taken from `flexcover::policy`, so the test
//! catches the code drifting from the rule (and the policy table drifting from the issue).
//!
//! The rule:
//! - A revoked token, a malformed one (`fc_garbage`, or a token sent without `Bearer `) and no
//!   token are UNAUTHENTICATED, whatever the call.
//! - A **record** (named by id or natural key: an enrolment, a declaration, a pension, a claim) is
//!   seen by national admins and auditors, by the agency of its province and by its platform
//!   (pensions have no platform: platforms never see them). Unseen or nonexistent: NOT_FOUND, with
//!   the same message (ids masked) for a hidden record as for a random id. Seen, but the caller's
//!   kind may not do the act: PERMISSION_DENIED.
//! - A **scope** (what is named by public codes: the province a province-level listing or log is
//!   about, the province and platform of a rate) is within reach of national admins and auditors, of
//!   the agency of its province and of its platform; out of reach or not the caller's kind:
//!   PERMISSION_DENIED (nothing is hidden by saying so).
//! - A **creation for oneself** (a platform enrolling, reporting, declaring, recording orders for
//!   itself, anywhere): only the caller's kind matters; when it names an existing record (an
//!   enrolment id), that record must be seen (NOT_FOUND otherwise).
//! - **Listings** are narrowed to what the caller sees; filtering on someone else's province
//!   (agency) or platform (platform) is PERMISSION_DENIED; no answer may show an unseen record.
//! - Allowed: the call gets past authorization (any code but NOT_FOUND, PERMISSION_DENIED,
//!   UNAUTHENTICATED or INTERNAL; the fixtures are built so that most allowed calls succeed).
//! - Every refused write (NOT_FOUND, PERMISSION_DENIED or UNAUTHENTICATED from a mutating RPC)
//!   leaves every table in `public` as it was (the sequencer's own tables aside: it numbers earlier
//!   commits in the background; a new event would show in `events`).
//!
//! Run: `cargo test --test api -- matrix:: --nocapture` (one app, about two thousand calls). A
//! failure lists every cell that differs from the rule, once, at the end.
use crate::matrix_fixtures::{Ctx, Fingerprint, Tenant};
use crate::matrix_requests::entries;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use tonic::Code;

/// The callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Caller {
    NationalAdmin,
    Auditor,
    /// `province:44`, the agency of the own tenant's province.
    OwnProvince,
    /// `province:11`.
    OtherProvince,
    /// `platform:meituan`, the own tenant's platform.
    OwnPlatform,
    /// `platform:eleme`.
    OtherPlatform,
    /// A national admin's token, revoked.
    Revoked,
    /// `Bearer fc_garbage`.
    Garbage,
    /// A valid national admin's token without the `Bearer ` scheme.
    NoScheme,
    NoToken,
}

impl Caller {
    pub const ALL: [Caller; 10] = [
        Caller::NationalAdmin,
        Caller::Auditor,
        Caller::OwnProvince,
        Caller::OtherProvince,
        Caller::OwnPlatform,
        Caller::OtherPlatform,
        Caller::Revoked,
        Caller::Garbage,
        Caller::NoScheme,
        Caller::NoToken,
    ];

    fn identity(self) -> Option<Identity> {
        match self {
            Caller::NationalAdmin => Some(Identity::NationalAdmin),
            Caller::Auditor => Some(Identity::Auditor),
            Caller::OwnProvince => Some(Identity::Agency("44")),
            Caller::OtherProvince => Some(Identity::Agency("11")),
            Caller::OwnPlatform => Some(Identity::Platform("meituan")),
            Caller::OtherPlatform => Some(Identity::Platform("eleme")),
            Caller::Revoked | Caller::Garbage | Caller::NoScheme | Caller::NoToken => None,
        }
    }

    fn kind(self) -> Option<Kind> {
        self.identity().map(|identity| match identity {
            Identity::NationalAdmin => Kind::NationalAdmin,
            Identity::Auditor => Kind::Auditor,
            Identity::Agency(_) => Kind::Agency,
            Identity::Platform(_) => Kind::Platform,
        })
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Caller::NationalAdmin => "national-admin",
            Caller::Auditor => "auditor",
            Caller::OwnProvince => "province:44",
            Caller::OtherProvince => "province:11",
            Caller::OwnPlatform => "platform:meituan",
            Caller::OtherPlatform => "platform:eleme",
            Caller::Revoked => "revoked token",
            Caller::Garbage => "Bearer fc_garbage",
            Caller::NoScheme => "token without Bearer",
            Caller::NoToken => "no token",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    NationalAdmin,
    Auditor,
    Agency(&'static str),
    Platform(&'static str),
}

/// The kinds of caller a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NationalAdmin,
    Auditor,
    Agency,
    Platform,
}

pub const EVERYONE: &[Kind] = &[
    Kind::NationalAdmin,
    Kind::Auditor,
    Kind::Agency,
    Kind::Platform,
];
pub const READERS: &[Kind] = &[Kind::NationalAdmin, Kind::Auditor, Kind::Agency];
pub const ADMIN_AND_AGENCY: &[Kind] = &[Kind::NationalAdmin, Kind::Agency];
pub const ADMIN: &[Kind] = &[Kind::NationalAdmin];
pub const NATIONAL_READERS: &[Kind] = &[Kind::NationalAdmin, Kind::Auditor];
pub const AGENCY: &[Kind] = &[Kind::Agency];
pub const PLATFORM: &[Kind] = &[Kind::Platform];
pub const AGENCY_AND_PLATFORM: &[Kind] = &[Kind::Agency, Kind::Platform];

/// What a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Owned by province 44 and platform meituan (or, for scopes, named by them).
    Own,
    /// Owned by province 11 and platform eleme.
    Other,
    /// A fresh UUID, an undeclared period, a person never enrolled; for scopes, province 31 and
    /// platform dada, which no caller of the matrix owns; for listings, no filter.
    Random,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Own, Target::Other, Target::Random];
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Own => "own",
            Target::Other => "other tenant's",
            Target::Random => "random",
        })
    }
}

/// How an RPC's target decides who sees it (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A record of the target's province and platform (`platforms_see: false`: province only).
    Record { platforms_see: bool },
    /// A scope named by the target's province (and platform, with `by_platform`).
    Scope { by_platform: bool },
    /// The caller creates for itself: only its kind matters.
    ForItself,
    /// The caller creates for itself about an existing record (an enrolment id), which it must see.
    ForItselfAbout,
    /// A province's scope first (PERMISSION_DENIED out of reach), then a record in it (a person
    /// key: NOT_FOUND when there is none). The random target is a random key in province 44.
    ScopeThenRecord,
    /// A listing filtered on the target's province and platform (random: no filter).
    Listing,
    /// A lookup by ID number, narrowed to what the caller sees: never refused, never leaking.
    Narrowed,
    /// National data (administration): only the caller's kind matters.
    National,
}

/// The class of answer the rule expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Allowed,
    NotFound,
    Denied,
    Unauthenticated,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allowed => "allowed",
            Expect::NotFound => "NOT_FOUND",
            Expect::Denied => "PERMISSION_DENIED",
            Expect::Unauthenticated => "UNAUTHENTICATED",
        })
    }
}

/// The tenant a target names: the owner of a record or the scope a call is about.
pub fn owner_of(shape: Shape, target: Target) -> &'static Tenant {
    match (shape, target) {
        (_, Target::Own) | (Shape::ScopeThenRecord, Target::Random) => &Tenant::OWN,
        (_, Target::Other) => &Tenant::OTHER,
        (_, Target::Random) => &Tenant::STRANGER,
    }
}

/// Whether `caller` sees (or reaches) what `province` and `platform` own.
fn sees(caller: Caller, province: Option<&str>, platform: Option<&str>) -> bool {
    match caller.identity() {
        Some(Identity::NationalAdmin | Identity::Auditor) => true,
        Some(Identity::Agency(own)) => province == Some(own),
        Some(Identity::Platform(own)) => platform == Some(own),
        None => false,
    }
}

/// The rule: what `caller` must get from an RPC of `shape`, allowed to `allowed`, on `target`.
pub fn expected(shape: Shape, allowed: &[Kind], caller: Caller, target: Target) -> Expect {
    let Some(kind) = caller.kind() else {
        return Expect::Unauthenticated;
    };
    let may = allowed.contains(&kind);
    let owner = owner_of(shape, target);
    let act = |seen: bool, unseen: Expect| match (seen, may) {
        (false, _) => unseen,
        (true, true) => Expect::Allowed,
        (true, false) => Expect::Denied,
    };
    match shape {
        Shape::Record { platforms_see } => {
            if target == Target::Random {
                return Expect::NotFound;
            }
            let platform = platforms_see.then_some(owner.platform);
            act(
                sees(caller, Some(owner.province), platform),
                Expect::NotFound,
            )
        }
        Shape::Scope { by_platform } => {
            let platform = by_platform.then_some(owner.platform);
            act(sees(caller, Some(owner.province), platform), Expect::Denied)
        }
        Shape::ForItself | Shape::National | Shape::Narrowed => act(true, Expect::Denied),
        Shape::ForItselfAbout => {
            if !may {
                Expect::Denied
            } else if target == Target::Random
                || !sees(caller, Some(owner.province), Some(owner.platform))
            {
                Expect::NotFound
            } else {
                Expect::Allowed
            }
        }
        Shape::ScopeThenRecord => {
            if !(may && sees(caller, Some(owner.province), None)) {
                Expect::Denied
            } else if target == Target::Random {
                Expect::NotFound
            } else {
                Expect::Allowed
            }
        }
        Shape::Listing => {
            let in_sight = target == Target::Random
                || sees(caller, Some(owner.province), Some(owner.platform));
            act(in_sight, Expect::Denied)
        }
    }
}

/// Whether an answer may show a record of `province` and `platform` to `caller`.
fn may_show(caller: Caller, province: &str, platform: &str) -> bool {
    sees(
        caller,
        Some(province),
        (!platform.is_empty()).then_some(platform),
    )
}

/// What a target names, as the fixtures built it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub target: Target,
    pub tenant: &'static Tenant,
    /// The record's id, ID number, person key, token id...; empty for scopes.
    pub id: String,
    /// A second value some calls need (a period, a benefit item, an ID number).
    pub extra: String,
}

impl Subject {
    /// The strings that name the target, masked before NOT_FOUND messages are compared.
    fn keys(&self) -> Vec<String> {
        let mut keys = vec![
            self.id.clone(),
            self.extra.clone(),
            self.tenant.province.to_owned(),
            self.tenant.platform.to_owned(),
        ];
        keys.retain(|key| !key.is_empty());
        keys.sort_by_key(|key| std::cmp::Reverse(key.len()));
        keys
    }
}

/// A call's answer: its code and message, and the owners (province, platform) of the records
/// it shows, for narrowed reads.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub code: Code,
    pub message: String,
    pub shown: Vec<(String, String)>,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome {
            code: Code::Ok,
            message: String::new(),
            shown: Vec::new(),
        }
    }

    pub fn status(status: &tonic::Status) -> Self {
        Outcome {
            code: status.code(),
            message: status.message().to_owned(),
            shown: Vec::new(),
        }
    }

    fn refused(&self) -> bool {
        matches!(
            self.code,
            Code::NotFound | Code::PermissionDenied | Code::Unauthenticated
        )
    }

    fn class_matches(&self, expect: Expect) -> bool {
        match expect {
            Expect::Allowed => !matches!(
                self.code,
                Code::NotFound | Code::PermissionDenied | Code::Unauthenticated | Code::Internal
            ),
            Expect::NotFound => self.code == Code::NotFound,
            Expect::Denied => self.code == Code::PermissionDenied,
            Expect::Unauthenticated => self.code == Code::Unauthenticated,
        }
    }
}

pub type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
/// Builds (or finds) what a target names; `fresh` asks for a record of its own (an allowed write
/// may change it).
pub type SubjectFn = for<'a> fn(&'a Ctx, &'static str, Target, bool) -> Boxed<'a, Subject>;
/// Makes the call as `Caller` about the subject.
pub type CallFn = for<'a> fn(&'a Ctx, Caller, &'a Subject) -> Boxed<'a, Outcome>;

/// One row of the table: an RPC (or one way of calling it), how its target is owned, who may do
/// it, and how to call it.
pub struct Entry {
    pub rpc: &'static str,
    pub mutating: bool,
    pub shape: Shape,
    pub allowed: &'static [Kind],
    pub subject: SubjectFn,
    pub call: CallFn,
}

/// A cell that differs from the rule.
struct Mismatch {
    rpc: &'static str,
    caller: Caller,
    target: Target,
    expected: String,
    got: String,
}

fn code_name(code: Code) -> String {
    format!("{code:?}")
}

fn short(message: &str) -> String {
    let one_line = message.replace('\n', " ");
    if one_line.chars().count() > 110 {
        format!("{}…", one_line.chars().take(110).collect::<String>())
    } else {
        one_line
    }
}

fn is_uuid_at(bytes: &[u8], at: usize) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    bytes.len() >= at + 36
        && (0..36).all(|i| {
            let b = bytes[at + i];
            if DASHES.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// A message with every UUID and every key of the target replaced by a placeholder.
fn masked(message: &str, keys: &[String]) -> String {
    let bytes = message.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    'scan: while i < bytes.len() {
        if is_uuid_at(bytes, i) {
            out.push_str("<id>");
            i += 36;
            continue;
        }
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if boundary_before {
            for key in keys {
                let end = i + key.len();
                if message[i..].starts_with(key.as_str())
                    && (end == bytes.len() || !bytes[end].is_ascii_alphanumeric())
                {
                    out.push_str("<key>");
                    i = end;
                    continue 'scan;
                }
            }
        }
        let ch = message[i..].chars().next().unwrap_or('?');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

fn table(mismatches: &[Mismatch]) -> String {
    let headers = ["RPC", "caller", "target", "expected", "got"];
    let rows: Vec<[String; 5]> = mismatches
        .iter()
        .map(|m| {
            [
                m.rpc.to_owned(),
                m.caller.to_string(),
                m.target.to_string(),
                m.expected.clone(),
                m.got.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()).take(4) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (n, cell) in cells.iter().enumerate() {
            if n < 4 {
                out.push_str(&format!("{cell:<width$} | ", width = widths[n]));
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(headers);
    out.push_str(&format!(
        "{}\n",
        "-".repeat(widths.iter().take(4).sum::<usize>() + 4 * 3 + 20)
    ));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

fn changed_tables(before: &Fingerprint, after: &Fingerprint) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| before.get(*name) != after.get(*name))
        .map(|name| {
            let count = |f: &Fingerprint| f.get(name).map_or(0, |(count, _)| *count);
            format!("{name} ({} -> {} rows)", count(before), count(after))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_caller_as_the_rule_says() {
    let started = std::time::Instant::now();
    let cx = Ctx::new().await;
    let setup = started.elapsed();
    let entries = entries();
    let mut mismatches = Vec::new();
    let mut cells = 0;
    let mut refused_writes = 0;
    let mut allowed_not_ok: Vec<String> = Vec::new();
    // The fingerprint after the last refused write, valid while nothing else ran since.
    let mut last_fingerprint: Option<(u64, Fingerprint)> = None;
    for entry in &entries {
        // Per caller and target: the NOT_FOUND answers, to compare hidden with nonexistent.
        let mut not_found: HashMap<(Caller, Target), (String, Vec<String>)> = HashMap::new();
        for target in Target::ALL {
            // Refusals first, on the shared records; allowed calls last, each on its own record.
            let mut callers = Caller::ALL.to_vec();
            callers.sort_by_key(|caller| {
                expected(entry.shape, entry.allowed, *caller, target) == Expect::Allowed
            });
            for caller in callers {
                cells += 1;
                let expect = expected(entry.shape, entry.allowed, caller, target);
                let fresh = entry.mutating && expect == Expect::Allowed && target != Target::Random;
                let subject = (entry.subject)(&cx, entry.rpc, target, fresh).await;
                let before = if entry.mutating {
                    match last_fingerprint.take() {
                        Some((generation, fingerprint)) if generation == cx.generation() => {
                            Some(fingerprint)
                        }
                        _ => Some(cx.fingerprint().await),
                    }
                } else {
                    None
                };
                let got = (entry.call)(&cx, caller, &subject).await;
                cx.touch();
                let mut mismatch = |expected: String, got: String| {
                    mismatches.push(Mismatch {
                        rpc: entry.rpc,
                        caller,
                        target,
                        expected,
                        got,
                    })
                };
                if !got.class_matches(expect) {
                    mismatch(
                        expect.to_string(),
                        format!("{}: {}", code_name(got.code), short(&got.message)),
                    );
                } else if expect == Expect::Allowed && got.code != Code::Ok {
                    allowed_not_ok.push(format!(
                        "{} / {caller} / {target}: {:?} {}",
                        entry.rpc,
                        got.code,
                        short(&got.message)
                    ));
                }
                if got.code == Code::Ok {
                    let leaked: Vec<String> = got
                        .shown
                        .iter()
                        .filter(|(province, platform)| !may_show(caller, province, platform))
                        .map(|(province, platform)| format!("{province}/{platform}"))
                        .collect();
                    if !leaked.is_empty() {
                        mismatch(
                            "only records the caller sees".into(),
                            format!("OK, showing records of {}", leaked.join(", ")),
                        );
                    }
                }
                if got.code == Code::NotFound {
                    not_found.insert((caller, target), (got.message.clone(), subject.keys()));
                }
                if let Some(before) = before
                    && got.refused()
                {
                    refused_writes += 1;
                    let after = cx.fingerprint().await;
                    let changed = changed_tables(&before, &after);
                    if !changed.is_empty() {
                        mismatch(
                            format!("{expect}, nothing written"),
                            format!("{:?}, but changed {}", got.code, changed.join(", ")),
                        );
                    }
                    last_fingerprint = Some((cx.generation(), after));
                }
            }
        }
        // A hidden record answers exactly as a nonexistent one (ids masked).
        for caller in Caller::ALL {
            let Some((random, random_keys)) = not_found.get(&(caller, Target::Random)) else {
                continue;
            };
            for target in [Target::Own, Target::Other] {
                if expected(entry.shape, entry.allowed, caller, target) != Expect::NotFound {
                    continue;
                }
                let Some((hidden, keys)) = not_found.get(&(caller, target)) else {
                    continue;
                };
                let (hidden, random) = (masked(hidden, keys), masked(random, random_keys));
                if hidden != random {
                    mismatches.push(Mismatch {
                        rpc: entry.rpc,
                        caller,
                        target,
                        expected: "NOT_FOUND as for a random id".into(),
                        got: format!("{:?} vs random {:?}", short(&hidden), short(&random)),
                    });
                }
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "matrix: {} RPC entries, {cells} cells, {refused_writes} refused writes fingerprinted, \
         {} mismatches; setup {:.1}s, total {:.1}s",
        entries.len(),
        mismatches.len(),
        setup.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    if !allowed_not_ok.is_empty() {
        println!(
            "allowed cells answered with a domain refusal (fine by the rule):\n  {}",
            allowed_not_ok.join("\n  ")
        );
    }
    cx.stop().await;
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the rule:\n{}",
        mismatches.len(),
        table(&mismatches)
    );
}

#[test]
fn the_table_covers_every_rpc_of_the_protos() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/flexcover/v1");
    let entries = entries();
    let mut missing = Vec::new();
    for file in std::fs::read_dir(&dir).expect("proto directory").flatten() {
        let text = std::fs::read_to_string(file.path()).expect("proto file");
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("rpc ") else {
                continue;
            };
            let name = rest.split('(').next().unwrap_or_default().trim();
            let covered = entries
                .iter()
                .any(|e| e.rpc == name || e.rpc.starts_with(&format!("{name} (")));
            if !covered {
                missing.push(name.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "RPCs without a row in the matrix: {missing:?}"
    );
}

#[test]
fn masking_replaces_ids_and_keys_only_at_word_boundaries() {
    let keys = vec!["2026-05".to_owned(), "meituan".to_owned(), "44".to_owned()];
    assert_eq!(
        masked(
            "no enrolment 0196f3c2-1a2b-7c3d-8e4f-a1b2c3d4e5f6 of meituan in 44, 2026-05 (440305)",
            &keys
        ),
        "no enrolment <id> of <key> in <key>, <key> (440305)"
    );
}

#[test]
fn the_rule_reads_as_the_issue_states_it() {
    let record = Shape::Record {
        platforms_see: true,
    };
    let pension = Shape::Record {
        platforms_see: false,
    };
    use Caller::*;
    use Target::*;
    assert_eq!(
        expected(pension, ADMIN_AND_AGENCY, OtherProvince, Own),
        Expect::NotFound
    );
    assert_eq!(
        expected(pension, READERS, OwnPlatform, Own),
        Expect::NotFound
    );
    assert_eq!(expected(record, PLATFORM, OwnProvince, Own), Expect::Denied);
    assert_eq!(
        expected(record, EVERYONE, Auditor, Random),
        Expect::NotFound
    );
    assert_eq!(
        expected(record, EVERYONE, Revoked, Own),
        Expect::Unauthenticated
    );
    assert_eq!(
        expected(
            Shape::Scope { by_platform: false },
            READERS,
            OtherProvince,
            Own
        ),
        Expect::Denied
    );
    assert_eq!(
        expected(Shape::ForItself, PLATFORM, OtherPlatform, Own),
        Expect::Allowed
    );
    assert_eq!(
        expected(Shape::ForItselfAbout, PLATFORM, OtherPlatform, Own),
        Expect::NotFound
    );
    assert_eq!(
        expected(Shape::Listing, EVERYONE, OtherProvince, Own),
        Expect::Denied
    );
    assert_eq!(
        expected(Shape::Listing, EVERYONE, OtherProvince, Random),
        Expect::Allowed
    );
    assert_eq!(
        expected(
            Shape::ScopeThenRecord,
            ADMIN_AND_AGENCY,
            OwnProvince,
            Random
        ),
        Expect::NotFound
    );
}
