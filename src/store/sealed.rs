//! Every sealed (encrypted) column, for key rotation: which key ids are in use, and batches of
//! rows re-encrypted under the current key.
//!
//! A batch locks its rows `FOR NO KEY UPDATE SKIP LOCKED`: rows a call is writing are left for a
//! later pass rather than waited for (no deadlock with the service), and foreign-key checks on
//! `persons` are not blocked. Each row keeps its associated data (the row's key), so a re-sealed
//! value still opens only in its own row.
use crate::pii::PiiKeys;
use crate::store::idempotency::response_context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// The sealed columns by table, as `usage` and `reseal` name them.
pub const TABLES: [&str; 4] = ["persons", "enrolments", "claims", "idempotency_keys"];

/// How many rows of `table` are sealed under `key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub table: String,
    pub key_id: String,
    pub rows: i64,
}

/// Counts sealed values per table and key id (a scan of each table).
pub async fn usage(pool: &PgPool) -> anyhow::Result<Vec<Usage>> {
    let rows = sqlx::query!(
        r#"SELECT 'persons' AS "table!", id_key_id AS "key_id!", count(*) AS "rows!"
             FROM persons GROUP BY id_key_id
           UNION ALL
           SELECT 'enrolments', pii_key_id, count(*) FROM enrolments GROUP BY pii_key_id
           UNION ALL
           SELECT 'claims', description_key_id, count(*) FROM claims GROUP BY description_key_id
           UNION ALL
           SELECT 'idempotency_keys', response_key_id, count(*) FROM idempotency_keys
            WHERE response_key_id IS NOT NULL GROUP BY response_key_id
           ORDER BY 1, 2"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Usage {
            table: row.table,
            key_id: row.key_id,
            rows: row.rows,
        })
        .collect())
}

/// Where a pass over a table has got to: the last row key it handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Start,
    Bytes(Vec<u8>),
    Id(Uuid),
    Text(String, String),
}

/// One batch: how many rows it re-sealed and where the next batch starts (None: pass done).
pub struct Batch {
    pub resealed: u64,
    pub next: Option<Cursor>,
}

/// Re-seals up to `limit` rows of `table` after `after` that are not under the ring's current key.
pub async fn reseal_batch(
    pool: &PgPool,
    keys: &PiiKeys,
    table: &str,
    after: &Cursor,
    limit: i64,
) -> anyhow::Result<Batch> {
    let current = keys.key_id();
    let mut tx = pool.begin().await?;
    let (resealed, last) = match table {
        "persons" => {
            let after = match after {
                Cursor::Bytes(bytes) => bytes.clone(),
                _ => Vec::new(),
            };
            let rows = sqlx::query!(
                "SELECT person_key, id_ciphertext, id_key_id FROM persons
                  WHERE person_key > $1 AND id_key_id <> $2
                  ORDER BY person_key LIMIT $3
                    FOR NO KEY UPDATE SKIP LOCKED",
                after,
                current,
                limit,
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut person_keys = Vec::with_capacity(rows.len());
            let mut ciphertexts = Vec::with_capacity(rows.len());
            for row in &rows {
                let sealed = reseal(keys, &row.id_key_id, &row.id_ciphertext, &row.person_key)?;
                person_keys.push(row.person_key.clone());
                ciphertexts.push(sealed);
            }
            sqlx::query!(
                "UPDATE persons p SET id_ciphertext = t.ciphertext, id_key_id = $3
                   FROM UNNEST($1::bytea[], $2::bytea[]) AS t(person_key, ciphertext)
                  WHERE p.person_key = t.person_key",
                &person_keys,
                &ciphertexts,
                current,
            )
            .execute(&mut *tx)
            .await?;
            (rows.len(), person_keys.pop().map(Cursor::Bytes))
        }
        "enrolments" => {
            let after = match after {
                Cursor::Id(id) => *id,
                _ => Uuid::nil(),
            };
            let rows = sqlx::query!(
                "SELECT enrolment_id, name_ciphertext, phone_ciphertext, pii_key_id FROM enrolments
                  WHERE enrolment_id > $1 AND pii_key_id <> $2
                  ORDER BY enrolment_id LIMIT $3
                    FOR NO KEY UPDATE SKIP LOCKED",
                after,
                current,
                limit,
            )
            .fetch_all(&mut *tx)
            .await?;
            let (mut ids, mut names, mut phones) = (Vec::new(), Vec::new(), Vec::new());
            for row in &rows {
                let context = row.enrolment_id.as_bytes();
                names.push(reseal(
                    keys,
                    &row.pii_key_id,
                    &row.name_ciphertext,
                    context,
                )?);
                phones.push(reseal(
                    keys,
                    &row.pii_key_id,
                    &row.phone_ciphertext,
                    context,
                )?);
                ids.push(row.enrolment_id);
            }
            sqlx::query!(
                "UPDATE enrolments e
                    SET name_ciphertext = t.name, phone_ciphertext = t.phone, pii_key_id = $4
                   FROM UNNEST($1::uuid[], $2::bytea[], $3::bytea[]) AS t(enrolment_id, name, phone)
                  WHERE e.enrolment_id = t.enrolment_id",
                &ids,
                &names,
                &phones,
                current,
            )
            .execute(&mut *tx)
            .await?;
            (rows.len(), ids.pop().map(Cursor::Id))
        }
        "claims" => {
            let after = match after {
                Cursor::Id(id) => *id,
                _ => Uuid::nil(),
            };
            let rows = sqlx::query!(
                "SELECT claim_id, description_ciphertext, description_key_id FROM claims
                  WHERE claim_id > $1 AND description_key_id <> $2
                  ORDER BY claim_id LIMIT $3
                    FOR NO KEY UPDATE SKIP LOCKED",
                after,
                current,
                limit,
            )
            .fetch_all(&mut *tx)
            .await?;
            let (mut ids, mut descriptions) = (Vec::new(), Vec::new());
            for row in &rows {
                descriptions.push(reseal(
                    keys,
                    &row.description_key_id,
                    &row.description_ciphertext,
                    row.claim_id.as_bytes(),
                )?);
                ids.push(row.claim_id);
            }
            sqlx::query!(
                "UPDATE claims c SET description_ciphertext = t.description, description_key_id = $3
                   FROM UNNEST($1::uuid[], $2::bytea[]) AS t(claim_id, description)
                  WHERE c.claim_id = t.claim_id",
                &ids,
                &descriptions,
                current,
            )
            .execute(&mut *tx)
            .await?;
            (rows.len(), ids.pop().map(Cursor::Id))
        }
        "idempotency_keys" => {
            let (after_caller, after_request) = match after {
                Cursor::Text(caller, request_id) => (caller.clone(), request_id.clone()),
                _ => (String::new(), String::new()),
            };
            let rows = sqlx::query!(
                r#"SELECT caller, request_id, response AS "response!", response_key_id AS "key_id!"
                     FROM idempotency_keys
                    WHERE (caller, request_id) > ($1, $2) AND response_key_id <> $3
                    ORDER BY caller, request_id LIMIT $4
                      FOR NO KEY UPDATE SKIP LOCKED"#,
                after_caller,
                after_request,
                current,
                limit,
            )
            .fetch_all(&mut *tx)
            .await?;
            let (mut callers, mut request_ids, mut responses) =
                (Vec::new(), Vec::new(), Vec::new());
            for row in &rows {
                let context = response_context(&row.caller, &row.request_id);
                responses.push(reseal(keys, &row.key_id, &row.response, &context)?);
                callers.push(row.caller.clone());
                request_ids.push(row.request_id.clone());
            }
            sqlx::query!(
                "UPDATE idempotency_keys i SET response = t.response, response_key_id = $4
                   FROM UNNEST($1::text[], $2::text[], $3::bytea[]) AS t(caller, request_id, response)
                  WHERE i.caller = t.caller AND i.request_id = t.request_id",
                &callers,
                &request_ids,
                &responses,
                current,
            )
            .execute(&mut *tx)
            .await?;
            let last = callers.pop().zip(request_ids.pop());
            (
                rows.len(),
                last.map(|(caller, request_id)| Cursor::Text(caller, request_id)),
            )
        }
        other => anyhow::bail!("no sealed table {other:?}"),
    };
    tx.commit().await?;
    let full = i64::try_from(resealed).unwrap_or(i64::MAX) >= limit;
    Ok(Batch {
        resealed: resealed as u64,
        next: if full { last } else { None },
    })
}

/// Opens `bytes` (sealed under `key_id`) and seals it again under the current key.
fn reseal(keys: &PiiKeys, key_id: &str, bytes: &[u8], context: &[u8]) -> anyhow::Result<Vec<u8>> {
    let sealed = crate::pii::Sealed {
        key_id: key_id.to_owned(),
        bytes: bytes.to_vec(),
    };
    let plain = keys.open_bytes(&sealed, context)?;
    Ok(keys.seal_bytes(&plain, context)?.bytes)
}

/// Records the ring's blind-index fingerprint on first use and refuses a different one while
/// persons exist (their keys were computed with the recorded one).
pub async fn check_blind_index(
    pool: &PgPool,
    keys: &PiiKeys,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let fingerprint = keys.index_fingerprint();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "INSERT INTO pii_blind_index (fingerprint, recorded_at) VALUES ($1, $2)
         ON CONFLICT (only_row) DO NOTHING",
        fingerprint,
        now,
    )
    .execute(&mut *tx)
    .await?;
    let recorded = sqlx::query_scalar!("SELECT fingerprint FROM pii_blind_index FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if recorded != fingerprint {
        let persons = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM persons) AS "any!""#)
            .fetch_one(&mut *tx)
            .await?;
        if persons {
            anyhow::bail!(
                "the PII key ring's blind index is not the one the stored persons were indexed \
                 with: every lookup by ID number would miss. Keep the ring's blind-index entry \
                 when rotating keys (with a single key and no such entry, the index comes from \
                 that key, so a ring of a new key alone is refused). See docs/OPERATIONS.md"
            );
        }
        sqlx::query!(
            "UPDATE pii_blind_index SET fingerprint = $1, recorded_at = $2",
            fingerprint,
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
