//! PII key rotation from the command line: loading the key ring as `serve` does, adding a key,
//! re-sealing stored values under the current key (`admin reseal`: batches, online, resumable),
//! and retiring a key once no stored value uses it. docs/OPERATIONS.md gives the procedure.
use crate::config::PiiKeyArgs;
use crate::pii::PiiKeys;
use crate::store::sealed::{self, Cursor, Usage};
use anyhow::{Context, bail};
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a long re-seal says how far it has got.
const REPORT_EVERY: Duration = Duration::from_secs(2);
/// Passes over one table before giving up on rows that stay locked (each pass skips rows a call
/// is writing at that moment; a later pass takes them).
const MAX_PASSES: u32 = 50;

/// Where a key ring comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `FLEXCOVER_PII_KEY` / `--pii-key`.
    Inline,
    File(PathBuf),
}

/// The key file used when neither setting is given: DATA_DIR/pii.key, embedded database only.
pub fn default_key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("pii.key")
}

/// Where the ring is: `--pii-key`, else `--pii-key-file`, else the key file in the embedded
/// cluster's data directory (`data_dir`, None with DATABASE_URL).
pub fn source<'a>(
    args: &'a PiiKeyArgs,
    data_dir: Option<&Path>,
) -> anyhow::Result<(KeySource, Option<&'a str>)> {
    match (&args.pii_key, &args.pii_key_file) {
        (Some(text), _) => Ok((KeySource::Inline, Some(text.as_str()))),
        (None, Some(path)) => Ok((KeySource::File(path.clone()), None)),
        (None, None) => match data_dir {
            Some(data_dir) => Ok((KeySource::File(default_key_file(data_dir)), None)),
            None => bail!(
                "with DATABASE_URL set, a PII key is required: set FLEXCOVER_PII_KEY \
             (KEY_ID:BASE64 of 32 bytes) or FLEXCOVER_PII_KEY_FILE"
            ),
        },
    }
}

/// Loads the ring; `create` makes the default key file when it is missing (`serve` on a fresh
/// embedded database).
pub fn load(args: &PiiKeyArgs, data_dir: Option<&Path>, create: bool) -> anyhow::Result<PiiKeys> {
    match source(args, data_dir)? {
        (KeySource::Inline, Some(text)) => PiiKeys::parse(text).context("FLEXCOVER_PII_KEY"),
        (KeySource::File(path), _) if create && args.pii_key_file.is_none() => {
            PiiKeys::load_or_create_file(&path)
        }
        (KeySource::File(path), _) => PiiKeys::load_file(&path),
        (KeySource::Inline, None) => bail!("no PII key given"),
    }
}

/// Adds a key to the ring: the one that seals new writes, or `staged` (opening only). Returns
/// the new key id.
pub fn add_key(
    args: &PiiKeyArgs,
    data_dir: Option<&Path>,
    key_id: Option<&str>,
    staged: bool,
) -> anyhow::Result<String> {
    let mut new_id = String::new();
    let what = if staged {
        "it opens values but seals nothing until `admin promote-pii-key`"
    } else {
        "it seals new writes once serve restarts with it"
    };
    edit_ring(args, data_dir, |text| {
        let (text, id) = PiiKeys::add_key_to_text(text, key_id, staged)?;
        new_id = id;
        Ok(text)
    })
    .map(|place| eprintln!("added PII key {new_id} {place}; {what}"))?;
    Ok(new_id)
}

/// Makes `key_id` the key that seals new writes (moved to the end of the ring).
pub fn promote_key(args: &PiiKeyArgs, data_dir: Option<&Path>, key_id: &str) -> anyhow::Result<()> {
    edit_ring(args, data_dir, |text| {
        PiiKeys::promote_key_in_text(text, key_id)
    })
    .map(|place| {
        eprintln!("PII key {key_id} {place} now seals new writes once serve restarts with it")
    })
}

/// Applies `edit` to the ring: a key file is rewritten (mode 0600); an inline ring's new text is
/// printed on stdout for the operator to store. Returns where the change went, for a message.
fn edit_ring(
    args: &PiiKeyArgs,
    data_dir: Option<&Path>,
    edit: impl FnOnce(&str) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    match source(args, data_dir)? {
        (KeySource::File(path), _) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the PII key file {}", path.display()))?;
            PiiKeys::write_file(&path, &edit(&text)?)?;
            Ok(format!("in {}", path.display()))
        }
        (KeySource::Inline, text) => {
            let text = edit(text.unwrap_or_default())?;
            let entries: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim_start().starts_with('#'))
                .collect();
            println!("{}", entries.join(","));
            Ok("in the ring printed on stdout (set FLEXCOVER_PII_KEY to it)".to_owned())
        }
    }
}

/// Removes `key_id` from a key file, refusing while any stored value is sealed under it.
pub async fn retire_key(
    pool: &PgPool,
    args: &PiiKeyArgs,
    data_dir: Option<&Path>,
    key_id: &str,
) -> anyhow::Result<()> {
    let in_use: i64 = sealed::usage(pool)
        .await?
        .iter()
        .filter(|usage| usage.key_id == key_id)
        .map(|usage| usage.rows)
        .sum();
    if in_use > 0 {
        bail!(
            "PII key {key_id} still seals {in_use} stored values; run `flexcover admin reseal` first"
        );
    }
    let place = edit_ring(args, data_dir, |text| {
        PiiKeys::remove_key_from_text(text, key_id)
    })?;
    eprintln!("retired PII key {key_id}: removed, {place}");
    Ok(())
}

/// Prints which key ids stored values use (per table) and what each key of the ring may do.
/// Returns the usage rows.
pub async fn report_usage(pool: &PgPool, keys: &PiiKeys) -> anyhow::Result<Vec<Usage>> {
    let usage = sealed::usage(pool).await?;
    println!("{:<16} {:<18} {:>12}", "key", "table", "values");
    for row in &usage {
        println!("{:<16} {:<18} {:>12}", row.key_id, row.table, row.rows);
    }
    let total = |key_id: &str| -> i64 {
        usage
            .iter()
            .filter(|row| row.key_id == key_id)
            .map(|row| row.rows)
            .sum()
    };
    for key_id in keys.key_ids() {
        let rows = total(key_id);
        if key_id == keys.key_id() {
            println!("{key_id}: current (seals new writes), {rows} values");
        } else if rows > 0 {
            println!("{key_id}: in use by {rows} values; run `flexcover admin reseal`");
        } else {
            println!(
                "{key_id}: unused; may be retired (`flexcover admin retire-pii-key --id {key_id}`)"
            );
        }
    }
    let mut unknown: Vec<&str> = usage
        .iter()
        .map(|row| row.key_id.as_str())
        .filter(|key_id| !keys.key_ids().contains(key_id))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    for key_id in unknown {
        println!(
            "{key_id}: NOT in the key ring, yet {} values are sealed under it and cannot be opened",
            total(key_id)
        );
    }
    Ok(usage)
}

/// What a re-seal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    pub rows: u64,
    /// Values still under another key (rows locked through every pass, or the row limit hit).
    pub remaining: i64,
}

/// Re-seals every stored value not under the ring's current key, `batch_size` rows a
/// transaction, stopping after about `max_rows` if given. Rows already under the current key are
/// skipped, so an interrupted run continues where it stopped when started again.
pub async fn reseal(
    pool: &PgPool,
    keys: &PiiKeys,
    batch_size: u32,
    max_rows: Option<u64>,
) -> anyhow::Result<Resealed> {
    let current = keys.key_id();
    let batch_size = i64::from(batch_size.clamp(1, 10_000));
    let pending = |usage: &[Usage], table: Option<&str>| -> i64 {
        usage
            .iter()
            .filter(|row| row.key_id != current && table.is_none_or(|t| row.table == t))
            .map(|row| row.rows)
            .sum()
    };
    let before = sealed::usage(pool).await?;
    let total = pending(&before, None);
    eprintln!("reseal: {total} stored values are under keys other than {current}");
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut done: u64 = 0;
    'tables: for table in sealed::TABLES {
        let mut table_pending = pending(&before, Some(table));
        let mut passes = 0;
        while table_pending > 0 && passes < MAX_PASSES {
            passes += 1;
            let mut cursor = Cursor::Start;
            loop {
                let batch = sealed::reseal_batch(pool, keys, table, &cursor, batch_size).await?;
                done += batch.resealed;
                if last_report.elapsed() >= REPORT_EVERY {
                    last_report = Instant::now();
                    eprintln!(
                        "reseal: {done} of {total} values re-sealed under {current} ({table}), {:.0}/s",
                        done as f64 / started.elapsed().as_secs_f64().max(0.001)
                    );
                }
                if max_rows.is_some_and(|max| done >= max) {
                    break 'tables;
                }
                match batch.next {
                    Some(next) => cursor = next,
                    None => break,
                }
            }
            table_pending = pending(&sealed::usage(pool).await?, Some(table));
            if table_pending > 0 {
                // Rows a call held during this pass; the next pass takes them.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        eprintln!("reseal: {table} done ({table_pending} values left under other keys)");
    }
    let remaining = pending(&sealed::usage(pool).await?, None);
    eprintln!(
        "reseal: re-sealed {done} values in {:.1} s; {remaining} left under keys other than {current}{}",
        started.elapsed().as_secs_f64(),
        if remaining > 0 {
            " (run it again to continue)"
        } else {
            ""
        }
    );
    Ok(Resealed {
        rows: done,
        remaining,
    })
}
