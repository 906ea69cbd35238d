//! An archived month's file: the detached partition as gzip-compressed CSV with a header row,
//! readable by the owner only, whole or absent (written under a temporary name, synced, then
//! renamed); and the restore of such a file into a table of its own.
use crate::store::order_partitions as store;
use bytes::Bytes;
use chrono::NaiveDate;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub rows: u64,
    pub sha256: String,
    pub bytes: u64,
}

/// `orders-YYYY-MM.csv.gz`.
pub fn file_name(month: NaiveDate) -> String {
    format!("orders-{}.csv.gz", month.format("%Y-%m"))
}

/// The month a file name names, if it is an archive's name.
pub fn month_of(path: &Path) -> Option<NaiveDate> {
    let name = path.file_name()?.to_str()?;
    let month = name.strip_prefix("orders-")?.strip_suffix(".csv.gz")?;
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()
}

/// Rows of a table.
pub async fn count(connection: &mut PgConnection, table: &str) -> anyhow::Result<u64> {
    let statement = format!("SELECT count(*) FROM \"{table}\"");
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
        .fetch_one(connection)
        .await?;
    Ok(u64::try_from(rows)?)
}

/// Writes the detached table to `dir`/[`file_name`]. The rows are checked against `count`: a
/// file that does not hold every row is an error, never recorded.
pub async fn write(
    connection: &mut PgConnection,
    table: &str,
    dir: &Path,
    month: NaiveDate,
) -> anyhow::Result<Written> {
    let rows = count(connection, table).await?;
    create_private_dir(dir)?;
    let path = dir.join(file_name(month));
    let partial = dir.join(format!("{}.partial", file_name(month)));
    let (sender, receiver) = mpsc::channel::<Bytes>(16);
    let target = partial.clone();
    let writer = tokio::task::spawn_blocking(move || compress(&target, receiver));
    let statement = format!("COPY \"{table}\" TO STDOUT (FORMAT csv, HEADER)");
    let mut stream = connection.copy_out_raw(&statement).await?;
    while let Some(chunk) = stream.next().await {
        if sender.send(chunk?).await.is_err() {
            break;
        }
    }
    drop(stream);
    drop(sender);
    let (lines, bytes, sha256) = writer.await??;
    // The header, then one line per row (no stored text holds a line break).
    if lines != rows + 1 {
        anyhow::bail!(
            "the archive of {table} holds {lines} lines for {rows} rows; not recorded"
        );
    }
    std::fs::rename(&partial, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(Written {
        path,
        rows,
        sha256,
        bytes,
    })
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| anyhow::anyhow!("creating archive directory {}: {error}", dir.display()))
}

/// Compresses what arrives into `path` (owner-only); the lines seen, the bytes written and their
/// SHA-256.
fn compress(path: &Path, mut receiver: mpsc::Receiver<Bytes>) -> anyhow::Result<(u64, u64, String)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    let mut encoder = GzEncoder::new(Hashing::new(file), Compression::fast());
    let mut lines = 0u64;
    while let Some(chunk) = receiver.blocking_recv() {
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        encoder.write_all(&chunk)?;
    }
    let hashing = encoder.finish()?;
    hashing.file.sync_all()?;
    Ok((lines, hashing.bytes, hex::encode(hashing.hasher.finalize())))
}

/// A file writer that hashes and counts what it writes.
struct Hashing {
    file: std::fs::File,
    hasher: Sha256,
    bytes: u64,
}

impl Hashing {
    fn new(file: std::fs::File) -> Self {
        Self {
            file,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl Write for Hashing {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(data)?;
        self.hasher.update(&data[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub month: NaiveDate,
    pub table: String,
    pub rows: u64,
    /// Whether the file's SHA-256 matched the one recorded when it was archived (None: this
    /// registry has no record of it, e.g. a restore into another database).
    pub verified: Option<bool>,
}

/// Loads an archive file into `restored_orders_YYYY_MM` (with the orders' key and enrolment
/// index), in one transaction: all or nothing. The month stays closed: the table is a copy to
/// read, not orders of the registry again. A file whose SHA-256 differs from the recorded one is
/// refused.
pub async fn restore(connection: &mut PgConnection, path: &Path) -> anyhow::Result<Restored> {
    let month = month_of(path).ok_or_else(|| {
        anyhow::anyhow!("{} is not named orders-YYYY-MM.csv.gz", path.display())
    })?;
    let sha256 = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || file_sha256(&path)).await??
    };
    let recorded = store::month(&mut *connection, month).await?;
    let verified = match recorded.as_ref().and_then(|row| row.archive_sha256.as_deref()) {
        Some(expected) if expected != sha256 => anyhow::bail!(
            "{} differs from the archive recorded for {} (SHA-256 {expected}); refused",
            path.display(),
            month.format("%Y-%m")
        ),
        Some(_) => Some(true),
        None => None,
    };
    let table = format!("restored_{}", store::table_name(month));
    let mut tx = connection.begin().await?;
    let create = format!(
        "CREATE TABLE \"{table}\" (LIKE orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut *tx)
        .await?;
    let mut copy = tx
        .copy_in_raw(&format!(
            "COPY \"{table}\" FROM STDIN (FORMAT csv, HEADER)"
        ))
        .await?;
    let (sender, mut receiver) = mpsc::channel::<std::io::Result<Vec<u8>>>(16);
    let source = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || decompress(&source, &sender));
    while let Some(chunk) = receiver.recv().await {
        copy.send(chunk?).await?;
    }
    reader.await??;
    let rows = copy.finish().await?;
    let index = format!(
        "ALTER TABLE \"{table}\" ADD PRIMARY KEY (province_code, platform_id, accepted_at, order_id);
         CREATE INDEX ON \"{table}\" (enrolment_id, accepted_at)"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(index))
        .execute(&mut *tx)
        .await?;
    if let Some(expected) = recorded.and_then(|row| row.archive_rows)
        && u64::try_from(expected).ok() != Some(rows)
    {
        anyhow::bail!("{} holds {rows} orders, {expected} were archived; refused", path.display());
    }
    tx.commit().await?;
    Ok(Restored {
        month,
        table,
        rows,
        verified,
    })
}

fn file_sha256(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|error| anyhow::anyhow!("opening {}: {error}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Sends the file's decompressed bytes in chunks; an error is sent as the last item.
fn decompress(
    path: &Path,
    sender: &mpsc::Sender<std::io::Result<Vec<u8>>>,
) -> anyhow::Result<()> {
    let mut decoder = GzDecoder::new(std::fs::File::open(path)?);
    loop {
        let mut chunk = vec![0u8; 1 << 16];
        match decoder.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(read) => {
                chunk.truncate(read);
                if sender.blocking_send(Ok(chunk)).is_err() {
                    return Ok(());
                }
            }
            Err(error) => {
                let _ = sender.blocking_send(Err(error));
                return Ok(());
            }
        }
    }
}
