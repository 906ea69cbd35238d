//! `flexcover import enrolments FILE.csv`: streams a CSV file through BatchEnrolWorkers.
//!
//! The file is UTF-8 with a header row naming the columns `id_number, name, phone,
//! place_of_employment, industry, cover_start_date` (any order; other columns are ignored).
//! `industry` is `ride_hailing`, `instant_delivery` or `same_city_freight`; `cover_start_date` is
//! `YYYY-MM-DD`. Fields are sent exactly as written: nothing is trimmed, so a padded value comes
//! back as a reject with the server's reason. Each row's request_id is derived from the row's own
//! content, so a rerun after an interruption replays the rows already enrolled instead of creating
//! duplicates.
//!
//! Rejected rows go to `FILE.rejects.csv` beside the input, created with mode 0600 (an existing
//! one is truncated and set to 0600), with the columns `line, id_number, name, phone,
//! place_of_employment, industry, cover_start_date, code, field, reason`: the row's line number
//! in the input, the row's six fields as written (personal data in plain text, so that the row can
//! be corrected and imported again), the gRPC code, the refused field and the reason.
use crate::pb;
use crate::pb::enrolment_service_client::EnrolmentServiceClient;
use crate::progress::Progress;
use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

pub const COLUMNS: [&str; 6] = [
    "id_number",
    "name",
    "phone",
    "place_of_employment",
    "industry",
    "cover_start_date",
];

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, header row).
    pub file: PathBuf,
    /// The server, and a file holding a platform token.
    #[command(flatten)]
    pub connection: crate::client::ServerArgs,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub enrolled: u64,
    pub rejected: u64,
    pub rejects_file: PathBuf,
}

/// A row on its way: where it came from, for the rejects file.
struct Pending {
    line: u64,
    /// Where the row ends in the file, for the share of the file done.
    byte: u64,
    fields: Vec<String>,
}

struct Reject {
    line: u64,
    fields: Vec<String>,
    code: String,
    field: String,
    reason: String,
}

/// Shared between the CSV reader thread and the result loop.
#[derive(Default)]
struct Shared {
    pending: Mutex<VecDeque<Pending>>,
    local_rejects: Mutex<Vec<Reject>>,
}

pub fn rejects_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.with_file_name(format!("{stem}.rejects.csv"))
}

/// The request_id of a row: a hash of its fields, so the same row always gets the same key.
pub fn request_id(fields: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"flexcover-import-v1");
    for field in fields {
        hasher.update([0x1f]);
        hasher.update(field.as_bytes());
    }
    format!("import-{}", &hex::encode(hasher.finalize())[..32])
}

/// The industry as the service stores it, exactly.
fn parse_industry(raw: &str) -> Option<pb::Industry> {
    match raw {
        "ride_hailing" => Some(pb::Industry::RideHailing),
        "instant_delivery" => Some(pb::Industry::InstantDelivery),
        "same_city_freight" => Some(pb::Industry::SameCityFreight),
        _ => None,
    }
}

/// A date written exactly `YYYY-MM-DD` (zero-padded, nothing around it).
fn parse_date(raw: &str) -> Option<pb::Date> {
    let date = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    (date.format("%Y-%m-%d").to_string() == raw).then(|| crate::api::convert::date_to_proto(date))
}

/// A CSV row (in COLUMNS order) as a request, or the column and reason it cannot be one.
pub fn to_request(fields: &[String]) -> Result<pb::EnrolWorkerRequest, (&'static str, String)> {
    let industry = parse_industry(&fields[4]).ok_or((
        "industry",
        "must be ride_hailing, instant_delivery or same_city_freight".to_owned(),
    ))?;
    let date = parse_date(&fields[5]).ok_or((
        "cover_start_date",
        "must be a date written YYYY-MM-DD".to_owned(),
    ))?;
    Ok(pb::EnrolWorkerRequest {
        request_id: request_id(fields),
        worker: Some(pb::Worker {
            id_number: fields[0].clone(),
            name: fields[1].clone(),
            phone: fields[2].clone(),
        }),
        place_of_employment: fields[3].clone(),
        industry: industry as i32,
        cover_start_date: Some(date),
    })
}

/// Reads the CSV on a plain thread (blocking I/O) and feeds the request stream.
fn read_rows(
    file: PathBuf,
    shared: Arc<Shared>,
    requests: mpsc::Sender<pb::EnrolWorkerRequest>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader.headers().context("reading the header row")?.clone();
    let positions: Vec<usize> = COLUMNS
        .iter()
        .map(|column| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == *column)
                .with_context(|| {
                    format!(
                        "the header row has no column {column:?} (need {})",
                        COLUMNS.join(", ")
                    )
                })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut record = csv::StringRecord::new();
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                let reject = Reject {
                    line,
                    fields: Vec::new(),
                    code: "INVALID_ARGUMENT".into(),
                    field: String::new(),
                    reason: format!("unreadable row: {error}"),
                };
                shared
                    .local_rejects
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push(reject);
                continue;
            }
        };
        if !more {
            return Ok(());
        }
        let line = record.position().map_or(0, |p| p.line());
        let byte = reader.position().byte();
        let fields: Vec<String> = positions
            .iter()
            .map(|&i| record.get(i).unwrap_or_default().to_owned())
            .collect();
        match to_request(&fields) {
            Ok(request) => {
                shared
                    .pending
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push_back(Pending { line, byte, fields });
                if requests.blocking_send(request).is_err() {
                    return Ok(()); // the stream ended early; the caller reports why
                }
            }
            Err((field, reason)) => {
                let reject = Reject {
                    line,
                    fields,
                    code: "INVALID_ARGUMENT".into(),
                    field: field.into(),
                    reason,
                };
                shared
                    .local_rejects
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push(reject);
            }
        }
    }
}

fn describe(status: &tonic_types::pb::Status) -> (String, String, String) {
    use prost::Message;
    let code = screaming_snake(&format!("{:?}", tonic::Code::from_i32(status.code)));
    let bad_request = status
        .details
        .iter()
        .find_map(|any| tonic_types::pb::BadRequest::decode(any.value.as_slice()).ok());
    let (field, reason) = match bad_request.and_then(|b| b.field_violations.into_iter().next()) {
        Some(violation) => (violation.field, violation.description),
        None => (String::new(), status.message.clone()),
    };
    (code, field, reason)
}

/// `InvalidArgument` → `INVALID_ARGUMENT`, the canonical spelling of gRPC codes.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Creates (or truncates) the rejects file, readable by its owner only: it holds personal data.
/// Mode 0600 from the start; an existing file is set to 0600 too. A symbolic link is refused
/// rather than followed.
pub fn create_rejects_file(path: &Path) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_permissions(Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))?;
    Ok(file)
}

pub async fn import_enrolments(args: &ImportArgs) -> anyhow::Result<Summary> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len()
        .max(1);
    let rejects_file = rejects_path(&args.file);
    let mut rejects = csv::Writer::from_writer(create_rejects_file(&rejects_file)?);
    let mut header = vec!["line"];
    header.extend(COLUMNS);
    header.extend(["code", "field", "reason"]);
    rejects.write_record(&header)?;

    let (channel, token) = args.connection.connect().await?;
    let mut client = EnrolmentServiceClient::new(channel);
    let shared = Arc::new(Shared::default());
    let (requests, outgoing) = mpsc::channel(1024);
    let reader = {
        let (file, shared) = (args.file.clone(), Arc::clone(&shared));
        std::thread::spawn(move || read_rows(file, shared, requests))
    };
    let request = crate::client::authed(
        tokio_stream::wrappers::ReceiverStream::new(outgoing),
        &token,
    )?;
    let mut results = client
        .batch_enrol_workers(request)
        .await
        .context("starting BatchEnrolWorkers")?
        .into_inner();

    let mut summary = Summary {
        rejects_file: rejects_file.clone(),
        ..Summary::default()
    };
    let mut progress = Progress::new();
    let write_reject = |reject: Reject, rejects: &mut csv::Writer<File>| -> anyhow::Result<()> {
        let mut row = vec![reject.line.to_string()];
        row.extend(reject.fields.iter().cloned());
        row.resize(1 + COLUMNS.len(), String::new());
        row.extend([reject.code, reject.field, reject.reason]);
        rejects.write_record(&row)?;
        Ok(())
    };
    while let Some(result) = results
        .message()
        .await
        .context("the server ended the stream")?
    {
        let pending = shared
            .pending
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .pop_front();
        let Some(pending) = pending else {
            bail!("the server answered a row that was never sent")
        };
        summary.rows += 1;
        match result.outcome {
            Some(pb::batch_enrol_result::Outcome::Enrolment(_)) => summary.enrolled += 1,
            Some(pb::batch_enrol_result::Outcome::Error(status)) => {
                let (code, field, reason) = describe(&status);
                summary.rejected += 1;
                write_reject(
                    Reject {
                        line: pending.line,
                        fields: pending.fields,
                        code,
                        field,
                        reason,
                    },
                    &mut rejects,
                )?;
            }
            None => bail!("the server sent a result without an outcome"),
        }
        let fraction = pending.byte as f64 / size as f64;
        progress.update(summary.rows, summary.rejected, fraction);
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the CSV reader panicked"))??;
    let local = std::mem::take(
        &mut *shared
            .local_rejects
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?,
    );
    for reject in local {
        summary.rows += 1;
        summary.rejected += 1;
        write_reject(reject, &mut rejects)?;
    }
    rejects.flush()?;
    if !shared
        .pending
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .is_empty()
    {
        bail!(
            "the server ended the stream before answering every row; run the import again to finish"
        );
    }
    progress.finish(summary.rows, summary.rejected);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: [&str; 6]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn rows_become_requests_with_stable_ids() {
        let fields = row([
            "11010519491231002X",
            "张三",
            "13812345678",
            "440305",
            "instant_delivery",
            "2026-01-05",
        ]);
        let request = to_request(&fields).expect("valid row");
        assert_eq!(request.industry, pb::Industry::InstantDelivery as i32);
        assert_eq!(
            request.cover_start_date,
            Some(pb::Date {
                year: 2026,
                month: 1,
                day: 5
            })
        );
        assert_eq!(
            request.request_id,
            to_request(&fields).expect("again").request_id
        );
        let other = row([
            "11010519491231002X",
            "张三",
            "13812345678",
            "440305",
            "instant_delivery",
            "2026-01-06",
        ]);
        assert_ne!(
            request.request_id,
            to_request(&other).expect("other").request_id
        );
    }

    #[test]
    fn unparseable_columns_are_named() {
        let bad_industry = row(["x", "y", "z", "440305", "taxi", "2026-01-05"]);
        assert_eq!(
            to_request(&bad_industry).map(drop).map_err(|e| e.0),
            Err("industry")
        );
        for industry in [" ride_hailing", "RIDE_HAILING", "industry_ride_hailing"] {
            let padded = row(["x", "y", "z", "440305", industry, "2026-01-05"]);
            assert_eq!(
                to_request(&padded).map(drop).map_err(|e| e.0),
                Err("industry"),
                "{industry:?}"
            );
        }
        for date in ["2026/01/05", " 2026-01-05", "2026-1-5", "2026-01-05 "] {
            let bad_date = row(["x", "y", "z", "440305", "ride_hailing", date]);
            assert_eq!(
                to_request(&bad_date).map(drop).map_err(|e| e.0),
                Err("cover_start_date"),
                "{date:?}"
            );
        }
    }

    #[test]
    fn fields_are_sent_as_written() {
        let fields = row([
            " 11010519491231002X",
            "张三 ",
            "+8613812345678",
            "440305 ",
            "instant_delivery",
            "2026-01-05",
        ]);
        let request = to_request(&fields).expect("the server judges these");
        let worker = request.worker.expect("worker");
        assert_eq!(worker.id_number, " 11010519491231002X");
        assert_eq!(worker.name, "张三 ");
        assert_eq!(worker.phone, "+8613812345678");
        assert_eq!(request.place_of_employment, "440305 ");
    }

    #[test]
    fn the_rejects_file_is_private_even_if_it_existed() {
        let dir = std::env::temp_dir().join(format!("flexcover-rejects-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let fresh = dir.join("fresh.rejects.csv");
        create_rejects_file(&fresh).expect("created");
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&fresh), 0o600);
        let old = dir.join("old.rejects.csv");
        std::fs::write(&old, "left from an earlier run").expect("old file");
        std::fs::set_permissions(&old, Permissions::from_mode(0o644)).expect("chmod");
        create_rejects_file(&old).expect("reused");
        assert_eq!(mode(&old), 0o600);
        assert_eq!(std::fs::read(&old).expect("read").len(), 0, "truncated");
        let link = dir.join("link.rejects.csv");
        std::os::unix::fs::symlink(&old, &link).expect("symlink");
        assert!(
            create_rejects_file(&link).is_err(),
            "a link is not followed"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn codes_are_spelled_canonically() {
        assert_eq!(screaming_snake("InvalidArgument"), "INVALID_ARGUMENT");
        assert_eq!(screaming_snake("AlreadyExists"), "ALREADY_EXISTS");
    }

    #[test]
    fn rejects_go_beside_the_input() {
        assert_eq!(
            rejects_path(Path::new("/tmp/riders.csv")),
            PathBuf::from("/tmp/riders.rejects.csv")
        );
    }
}
