//! `flexcover follow`: the reference subscriber. It keeps a province's copy in a state directory,
//! applies an event only if its seq is the last one plus one and its chain hash checks, and after a
//! crash (even kill -9) resumes from its own copy with no gap and no duplicate. `--verify` checks
//! the copy's own chain, compares it with the server's digest (on a mismatch, bisecting to the
//! first differing seq), then compares every column of every line with the server's events.
//!
//! The copy is `events.tsv`, one line per event: seq, event id, event type, occurred at (RFC 3339),
//! payload (base64), chain hash (hex). A line is the unit of application: the file is the cursor
//! (its last complete line), so the event and the cursor are saved together; a torn last line from
//! a crash is cut off on start. Lines are fsynced every batch and before the follower waits.
use crate::client::{ServerArgs, authed};
use crate::domain::chain;
use crate::pb;
use crate::pb::federation_service_client::FederationServiceClient;
use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::{BufRead, Seek, Write};
use std::path::{Path, PathBuf};
use tonic::transport::Channel;

#[derive(clap::Args, Debug, Clone)]
pub struct FollowArgs {
    /// The province to follow, e.g. 44.
    #[arg(long)]
    pub province: String,
    /// The server, and a file holding the province agency's (or a national admin's) token.
    #[command(flatten)]
    pub connection: ServerArgs,
    /// Directory of the local copy (created if missing).
    #[arg(long)]
    pub state: PathBuf,
    /// Verify the local copy and exit (0: same, 4: differs): its own chain, its chain hash against
    /// the server's digest, then every column of every line against the server's events.
    #[arg(long)]
    pub verify: bool,
    /// Stop once caught up instead of following live.
    #[arg(long)]
    pub once: bool,
    /// After each fsync (before waiting, and at the end), acknowledge the copy's last seq and
    /// chain hash (AcknowledgeEvents): the server may then purge what is acknowledged once the
    /// retention's days after acknowledgement have passed.
    #[arg(long)]
    pub acknowledge: bool,
}

/// Exit code of `--verify` when the copy differs from the server's.
pub const EXIT_DIFFERS: u8 = 4;

const FILE: &str = "events.tsv";
/// Events written between fsyncs while catching up.
const SYNC_EVERY: usize = 1000;

/// The local copy: every event's seq and hash, and the file to append to.
struct Copy {
    file: std::fs::File,
    hashes: Vec<Vec<u8>>,
    unsynced: usize,
}

impl Copy {
    /// Opens the copy, verifying its chain and cutting off a torn last line.
    fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut hashes: Vec<Vec<u8>> = Vec::new();
        let mut good_bytes = 0_u64;
        let mut reader = std::io::BufReader::new(&file);
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line)?;
            if read == 0 || !line.ends_with('\n') {
                break; // the end, or a line torn by a crash
            }
            let event = parse_line(line.trim_end_matches('\n'))
                .with_context(|| format!("{} line {}", path.display(), hashes.len() + 1))?;
            let previous = hashes
                .last()
                .map_or(chain::GENESIS.as_slice(), Vec::as_slice);
            check(previous, hashes.len() as i64 + 1, &event)?;
            hashes.push(hex::decode(&event.chain_hash)?);
            good_bytes += read as u64;
        }
        drop(reader);
        if file.metadata()?.len() != good_bytes {
            file.set_len(good_bytes)?;
            file.sync_all()?;
        }
        file.seek(std::io::SeekFrom::End(0))?;
        Ok(Self {
            file,
            hashes,
            unsynced: 0,
        })
    }

    fn last_seq(&self) -> i64 {
        self.hashes.len() as i64
    }

    fn last_hash(&self) -> &[u8] {
        self.hashes
            .last()
            .map_or(chain::GENESIS.as_slice(), Vec::as_slice)
    }

    /// Applies the next event: only seq == last + 1 with a chain hash that checks.
    fn apply(&mut self, event: &pb::FederatedEvent) -> anyhow::Result<()> {
        check(self.last_hash(), self.last_seq() + 1, event)?;
        writeln!(self.file, "{}", line_of(event))?;
        self.hashes.push(hex::decode(&event.chain_hash)?);
        self.unsynced += 1;
        if self.unsynced >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> anyhow::Result<()> {
        if self.unsynced > 0 {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(())
    }
}

/// The event must be the next one and its hash must follow from the previous.
fn check(previous: &[u8], expected_seq: i64, event: &pb::FederatedEvent) -> anyhow::Result<()> {
    if event.seq != expected_seq {
        bail!("expected seq {expected_seq}, got {}", event.seq);
    }
    let id = uuid::Uuid::parse_str(&event.event_id)
        .with_context(|| format!("event id at seq {}", event.seq))?;
    let hash = hex::encode(chain::link(previous, event.seq, id, &event.payload));
    if hash != event.chain_hash {
        bail!(
            "the chain breaks at seq {}: the copy has diverged",
            event.seq
        );
    }
    Ok(())
}

/// The columns of a line of the local copy, in order.
const COLUMNS: [&str; 6] = [
    "seq",
    "event_id",
    "event_type",
    "occurred_at",
    "payload",
    "chain_hash",
];

/// An event as its line of the local copy (without the newline).
pub fn line_of(event: &pb::FederatedEvent) -> String {
    let occurred = event
        .occurred_at
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        event.seq,
        event.event_id,
        event.event_type,
        occurred,
        STANDARD.encode(&event.payload),
        event.chain_hash
    )
}

/// One line of the local copy (`seq, event id, type, occurred at, payload base64, chain hash`).
pub fn parse_line(line: &str) -> anyhow::Result<pb::FederatedEvent> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [seq, event_id, event_type, _occurred, payload, chain_hash] = fields.as_slice() else {
        bail!("expected 6 tab-separated fields");
    };
    Ok(pb::FederatedEvent {
        seq: seq.parse()?,
        event_id: (*event_id).to_owned(),
        event_type: (*event_type).to_owned(),
        payload: STANDARD.decode(payload)?,
        chain_hash: (*chain_hash).to_owned(),
        ..pb::FederatedEvent::default()
    })
}

async fn connect(args: &FollowArgs) -> anyhow::Result<(FederationServiceClient<Channel>, String)> {
    let (channel, token) = args.connection.connect().await?;
    Ok((FederationServiceClient::new(channel), token))
}

/// Follows the province into the local copy; returns when caught up with `--once`, or on an error.
pub async fn follow(args: &FollowArgs) -> anyhow::Result<u8> {
    if args.verify {
        return verify(args).await;
    }
    let mut copy = Copy::open(&args.state)?;
    let (mut client, token) = connect(args).await?;
    eprintln!(
        "following province {} from seq {} into {}",
        args.province,
        copy.last_seq(),
        args.state.join(FILE).display()
    );
    let request = pb::StreamEventsRequest {
        province_code: args.province.clone(),
        after_seq: copy.last_seq(),
        after_hash: if copy.last_seq() == 0 {
            String::new()
        } else {
            hex::encode(copy.last_hash())
        },
        follow: !args.once,
    };
    let mut events = client
        .stream_events(authed(request, &token)?)
        .await
        .context("starting StreamEvents")?
        .into_inner();
    let mut acknowledged = 0;
    loop {
        // Sync before waiting, so an idle follower has everything it acknowledged on disk.
        let next =
            match tokio::time::timeout(std::time::Duration::from_millis(200), events.message())
                .await
            {
                Ok(next) => next,
                Err(_) => {
                    copy.sync()?;
                    if args.acknowledge {
                        acknowledge(&mut client, &token, args, &copy, &mut acknowledged).await?;
                    }
                    events.message().await
                }
            };
        match next.context("receiving events")? {
            Some(event) => copy.apply(&event)?,
            None => break,
        }
    }
    copy.sync()?;
    if args.acknowledge {
        acknowledge(&mut client, &token, args, &copy, &mut acknowledged).await?;
    }
    eprintln!("caught up at seq {}", copy.last_seq());
    Ok(0)
}

/// Acknowledges the copy's last seq (synced) if it moved since the last acknowledgement.
async fn acknowledge(
    client: &mut FederationServiceClient<Channel>,
    token: &str,
    args: &FollowArgs,
    copy: &Copy,
    acknowledged: &mut i64,
) -> anyhow::Result<()> {
    let seq = copy.last_seq();
    if seq <= *acknowledged {
        return Ok(());
    }
    let request = pb::AcknowledgeEventsRequest {
        province_code: args.province.clone(),
        seq,
        chain_hash: hex::encode(copy.last_hash()),
    };
    let ack = client
        .acknowledge_events(authed(request, token)?)
        .await
        .with_context(|| format!("AcknowledgeEvents at seq {seq}"))?
        .into_inner();
    *acknowledged = seq;
    eprintln!(
        "acknowledged seq {} (the server's purge point: seq {})",
        ack.seq, ack.purged_through_seq
    );
    Ok(())
}

async fn digest(
    client: &mut FederationServiceClient<Channel>,
    token: &str,
    province: &str,
    seq: i64,
) -> anyhow::Result<pb::Digest> {
    Ok(client
        .get_digest(authed(
            pb::GetDigestRequest {
                province_code: province.to_owned(),
                seq,
            },
            token,
        )?)
        .await
        .with_context(|| format!("GetDigest at seq {seq}"))?
        .into_inner())
}

/// The complete lines of the local copy (a torn last line is not part of it), or none.
fn copy_lines(dir: &Path) -> anyhow::Result<Vec<String>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
        .map(str::to_owned)
        .collect())
}

/// The copy's own chain: every line's hash, or the first seq where the chain breaks and why.
fn own_chain(lines: &[String]) -> Result<Vec<Vec<u8>>, (i64, anyhow::Error)> {
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(lines.len());
    for (n, line) in lines.iter().enumerate() {
        let seq = n as i64 + 1;
        let previous = hashes
            .last()
            .map_or(chain::GENESIS.as_slice(), Vec::as_slice);
        let hash = parse_line(line)
            .and_then(|event| {
                check(previous, seq, &event)?;
                Ok(hex::decode(&event.chain_hash)?)
            })
            .map_err(|error| (seq, error))?;
        hashes.push(hash);
    }
    Ok(hashes)
}

/// Verifies the copy: its own chain (a break differs, exit 4), the chain hash against the
/// server's (bisecting to the first differing seq), then every column of every line against the
/// server's events, since the chain hash covers the seq, id and payload but not the event type or
/// the time.
async fn verify(args: &FollowArgs) -> anyhow::Result<u8> {
    let lines = copy_lines(&args.state)?;
    let hashes = match own_chain(&lines) {
        Ok(hashes) => hashes,
        Err((seq, error)) => {
            println!("differs: the copy's own chain breaks at seq {seq} ({error:#})");
            return Ok(EXIT_DIFFERS);
        }
    };
    let (mut client, token) = connect(args).await?;
    let last = hashes.len() as i64;
    let hash_at = |seq: i64| hex::encode(&hashes[(seq - 1) as usize]);
    if last == 0 {
        let head = digest(&mut client, &token, &args.province, 0).await?;
        println!(
            "the copy is empty; the server's head is seq {}",
            head.head_seq
        );
        return Ok(0);
    }
    // Events the server purged after acknowledgement are compared through the hash it keeps at
    // the purge point; only what follows it line by line.
    let purged = digest(&mut client, &token, &args.province, 0)
        .await?
        .purged_through_seq;
    if purged > last {
        bail!(
            "the server purged province {}'s events up to seq {purged} after acknowledgement; \
             the copy ends at seq {last}, before that",
            args.province
        );
    }
    if purged > 0 {
        let at_purge = digest(&mut client, &token, &args.province, purged).await?;
        if at_purge.chain_hash != hash_at(purged) {
            println!(
                "differs: the copy and the server part at or before seq {purged} (the server \
                 purged the events up to it after acknowledgement)"
            );
            return Ok(EXIT_DIFFERS);
        }
    }
    let at_last = digest(&mut client, &token, &args.province, last).await?;
    if at_last.chain_hash != hash_at(last) {
        // The first seq whose hash differs: the chain makes every later one differ too.
        let (mut good, mut bad) = (purged, last);
        while bad - good > 1 {
            let middle = good + (bad - good) / 2;
            let theirs = digest(&mut client, &token, &args.province, middle).await?;
            if theirs.chain_hash == hash_at(middle) {
                good = middle;
            } else {
                bad = middle;
            }
        }
        println!("differs: the copy and the server part at seq {bad}");
        return Ok(EXIT_DIFFERS);
    }
    let from = (
        purged,
        if purged == 0 {
            String::new()
        } else {
            hash_at(purged)
        },
    );
    if let Some((seq, column)) =
        first_differing_column(&mut client, &token, args, &lines, from).await?
    {
        println!("differs: the copy and the server part at seq {seq} ({column})");
        return Ok(EXIT_DIFFERS);
    }
    println!(
        "same: seq {last} hash {} (the server's head is seq {})",
        at_last.chain_hash, at_last.head_seq
    );
    Ok(0)
}

/// The first line of the copy after `from` (a seq and the hash there) that differs from the
/// server's event of the same seq, and the first column where it does.
async fn first_differing_column(
    client: &mut FederationServiceClient<Channel>,
    token: &str,
    args: &FollowArgs,
    lines: &[String],
    (after_seq, after_hash): (i64, String),
) -> anyhow::Result<Option<(i64, &'static str)>> {
    let request = pb::StreamEventsRequest {
        province_code: args.province.clone(),
        after_seq,
        after_hash,
        follow: false,
    };
    let mut events = client
        .stream_events(authed(request, token)?)
        .await
        .context("starting StreamEvents")?
        .into_inner();
    let skip = usize::try_from(after_seq).unwrap_or(usize::MAX);
    for (n, line) in lines.iter().enumerate().skip(skip) {
        let seq = n as i64 + 1;
        let Some(event) = events.message().await.context("receiving events")? else {
            return Ok(Some((seq, "missing on the server")));
        };
        let theirs = line_of(&event);
        if theirs != *line {
            let column = line
                .split('\t')
                .zip(theirs.split('\t'))
                .zip(COLUMNS)
                .find(|((ours, theirs), _)| ours != theirs)
                .map_or("line", |(_, column)| column);
            return Ok(Some((seq, column)));
        }
    }
    Ok(None)
}
