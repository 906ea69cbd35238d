//! Hostile bytes against every decoder and validator: generated inputs (random bytes, random
//! Unicode, and mutations of valid values — flipped, truncated, padded, re-cased, with control,
//! bidirectional and emoji characters spliced in) must never panic, and every refusal must be a
//! caller's error with a reason. Shared by the test (`hostile.rs`, a slice of the run) and the
//! bench (`cargo bench --bench hostile_bytes`, a million inputs per target).
use flexcover::pb;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a target did with one input.
pub enum Verdict {
    Accepted,
    /// Refused, with the reason given.
    Refused(String),
    /// Refused in a way a caller must never see (INTERNAL, an empty reason): a finding.
    Wrong(String),
}

pub struct Target {
    pub name: &'static str,
    /// Valid values the mutations start from.
    pub seeds: &'static [&'static str],
    pub check: fn(&[u8]) -> Verdict,
}

#[derive(Debug, Default)]
pub struct Report {
    pub inputs: u64,
    pub accepted: u64,
    pub refused: u64,
    pub panics: Vec<String>,
    pub wrong: Vec<String>,
}

const SPLICES: &[&str] = &[
    " ", "\t", "\n", "\r", "\0", "\u{202E}", "\u{200B}", "\u{FEFF}", "😀", "·", "x", "X", "-",
    "+86", "'", "\"", ";", "--", "%", "\u{7f}", "é", "张", "0", "9", "Ａ",
];

fn mutate(rng: &mut StdRng, seed: &str) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..7) {
            0 => bytes.truncate(at),
            1 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            2 => {
                let splice = SPLICES[rng.random_range(0..SPLICES.len())].as_bytes();
                bytes.splice(at..at, splice.iter().copied());
            }
            3 => bytes = String::from_utf8_lossy(&bytes).to_lowercase().into_bytes(),
            4 => bytes = String::from_utf8_lossy(&bytes).to_uppercase().into_bytes(),
            5 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            _ => {
                let copy = bytes.clone();
                bytes.extend(copy);
            }
        }
    }
    bytes
}

fn random_text(rng: &mut StdRng) -> Vec<u8> {
    let length = rng.random_range(0..40);
    (0..length)
        .map(|_| match rng.random_range(0..4) {
            0 => char::from(rng.random_range(0x20u8..0x7f)),
            1 => char::from_u32(rng.random_range(0..0x3_0000)).unwrap_or('?'),
            2 => char::from(rng.random_range(b'0'..=b'9')),
            _ => SPLICES[rng.random_range(0..SPLICES.len())]
                .chars()
                .next()
                .unwrap_or(' '),
        })
        .collect::<String>()
        .into_bytes()
}

/// The next input: a mutated seed most of the time, else random text or raw bytes.
pub fn input(rng: &mut StdRng, seeds: &[&str]) -> Vec<u8> {
    match rng.random_range(0..10) {
        0..6 if !seeds.is_empty() => {
            let seed = seeds[rng.random_range(0..seeds.len())];
            mutate(rng, seed)
        }
        6..8 => random_text(rng),
        _ => {
            let length = rng.random_range(0..64);
            (0..length).map(|_| rng.random()).collect()
        }
    }
}

/// Runs `count` generated inputs through `target`.
pub fn run(target: &Target, count: u64, seed: u64) -> Report {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report::default();
    for _ in 0..count {
        let bytes = input(&mut rng, target.seeds);
        report.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| (target.check)(&bytes))) {
            Ok(Verdict::Accepted) => report.accepted += 1,
            Ok(Verdict::Refused(reason)) if !reason.is_empty() => report.refused += 1,
            Ok(Verdict::Refused(_)) => report.wrong.push(format!("{bytes:?}: no reason")),
            Ok(Verdict::Wrong(why)) => report.wrong.push(format!("{bytes:?}: {why}")),
            Err(_) => report.panics.push(format!("{bytes:?}")),
        }
        if report.panics.len() + report.wrong.len() >= 10 {
            break;
        }
    }
    report
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// A string validator: non-UTF-8 cannot reach it (the codec refuses it first).
fn parsed<T, E: std::fmt::Display>(bytes: &[u8], parse: impl Fn(&str) -> Result<T, E>) -> Verdict {
    match text(bytes).map(parse) {
        None => Verdict::Refused("not UTF-8: refused by the codec".into()),
        Some(Ok(_)) => Verdict::Accepted,
        Some(Err(reason)) => Verdict::Refused(reason.to_string()),
    }
}

/// A whole request, as the server receives it: protobuf decoding, then the command's TryFrom.
fn request<M, C>(bytes: &[u8]) -> Verdict
where
    M: Message + Default,
    C: TryFrom<M, Error = flexcover::error::AppError>,
{
    let Ok(message) = M::decode(bytes) else {
        return Verdict::Refused("does not decode: INVALID_ARGUMENT from the codec".into());
    };
    match C::try_from(message) {
        Ok(_) => Verdict::Accepted,
        Err(flexcover::error::AppError::InvalidArgument(violations)) if !violations.is_empty() => {
            Verdict::Refused(format!("{} violations", violations.len()))
        }
        Err(other) => Verdict::Wrong(format!("{other:?}")),
    }
}

/// A message's bytes carried as Latin-1 text, so the mutator can work on them like any seed (each
/// char maps back to one byte in `latin1_bytes`); leaked once, 'static for the table.
fn latin1_seed(message: &impl Message) -> &'static str {
    let latin1: String = message
        .encode_to_vec()
        .iter()
        .map(|&b| char::from(b))
        .collect();
    Box::leak(latin1.into_boxed_str())
}

/// A valid ReportIncidentRequest, encoded, as the seed of its target.
fn incident_seeds() -> &'static [&'static str] {
    use std::sync::OnceLock;
    static SEEDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        vec![latin1_seed(&pb::ReportIncidentRequest {
            request_id: "incident-0001".into(),
            worker: Some(pb::report_incident_request::Worker::IdNumber(
                "440305199003151236".into(),
            )),
            order_id: "mt-20001".into(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_781_510_400,
                nanos: 0,
            }),
            place_code: "440305".into(),
            description: "fell from the e-bike at a crossing; left wrist fractured".into(),
            kind: pb::IncidentKind::Injury as i32,
        })]
    })
}

/// Encoded valid requests, as seeds for the request targets (leaked once: 'static for the table).
fn encoded_seeds() -> &'static [&'static str] {
    use std::sync::OnceLock;
    static SEEDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let enrol = pb::EnrolWorkerRequest {
            request_id: "enrol-0001".into(),
            worker: Some(pb::Worker {
                id_number: "11010519491231002X".into(),
                name: "张三丰".into(),
                phone: "13812345678".into(),
            }),
            place_of_employment: "440305".into(),
            industry: pb::Industry::InstantDelivery as i32,
            cover_start_date: Some(pb::Date {
                year: 2026,
                month: 1,
                day: 5,
            }),
        };
        vec![latin1_seed(&enrol)]
    })
}

fn latin1_bytes(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

pub fn targets() -> Vec<Target> {
    use flexcover::domain::{
        credit_code::CreditCode,
        division::{PlaceOfEmployment, ProvinceCode},
        id_number::IdNumber,
        late_fee::Period,
        money::Fen,
        person::{PersonName, Phone},
        platform::PlatformId,
        role::Role,
        text,
    };
    vec![
        Target {
            name: "ID number",
            seeds: &[
                "11010519491231002X",
                "11010519491231002x",
                "440305199003151236",
            ],
            check: |b| parsed(b, IdNumber::parse),
        },
        Target {
            name: "province code",
            seeds: &["44", "11"],
            check: |b| parsed(b, ProvinceCode::parse),
        },
        Target {
            name: "place of employment",
            seeds: &["440305", "110105"],
            check: |b| parsed(b, PlaceOfEmployment::parse),
        },
        Target {
            name: "platform id",
            seeds: &["meituan", "sf-intra-city"],
            check: |b| parsed(b, PlatformId::parse),
        },
        Target {
            name: "credit code",
            seeds: &["9144030071526726XG", "91310000MA1FL1MMXL"],
            check: |b| parsed(b, CreditCode::parse),
        },
        Target {
            name: "name",
            seeds: &["张三丰", "阿依古丽·买买提", "Ann Lee"],
            check: |b| parsed(b, PersonName::parse),
        },
        Target {
            name: "phone",
            seeds: &["13812345678"],
            check: |b| parsed(b, Phone::parse),
        },
        Target {
            name: "period",
            seeds: &["2026-01", "2025-12"],
            check: |b| parsed(b, Period::parse),
        },
        Target {
            name: "role",
            seeds: &[
                "national-admin",
                "province:44",
                "platform:meituan",
                "auditor",
            ],
            check: |b| parsed(b, Role::parse),
        },
        Target {
            name: "id (UUID)",
            seeds: &["0190f2a4-5b6c-7d8e-9f01-23456789abcd"],
            check: |b| parsed(b, text::parse_id),
        },
        Target {
            name: "free text",
            seeds: &["fell from the e-bike\nleft wrist fractured"],
            check: |b| parsed(b, |s| text::check_free_text(s, 2000)),
        },
        Target {
            name: "request id",
            seeds: &["enrol-0001"],
            check: |b| parsed(b, text::check_request_id),
        },
        Target {
            name: "yuan amount",
            seeds: &["0.07", "1036420.00"],
            check: |b| parsed(b, Fen::parse_yuan),
        },
        Target {
            name: "page token",
            seeds: &["AQAAAAAAAAAAY3Vyc29y"],
            check: |b| parsed(b, |s| flexcover::api::paging::decode_token("q", s)),
        },
        Target {
            name: "follow's local copy line",
            seeds: &[
                "1\t0190f2a4-5b6c-7d8e-9f01-23456789abcd\tenrolment.opened.v1\t2026-06-15T08:00:00Z\tAAEC\t00ff",
            ],
            check: |b| parsed(b, flexcover::follow::parse_line),
        },
        Target {
            name: "EnrolWorkerRequest (protobuf, then the command)",
            seeds: encoded_seeds(),
            check: |b| {
                request::<
                    pb::EnrolWorkerRequest,
                    flexcover::service::enrolment::enrol::EnrolWorkerCommand,
                >(&latin1_bytes(b))
            },
        },
        Target {
            name: "ReportIncidentRequest (protobuf, then the command)",
            seeds: incident_seeds(),
            check: |b| {
                request::<pb::ReportIncidentRequest, flexcover::service::claim::ReportIncident>(
                    &latin1_bytes(b),
                )
            },
        },
    ]
}
