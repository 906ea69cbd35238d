//! The national person record, keyed by the blind index of the ID number.
use super::Tx;
use crate::error::AppResult;
use crate::pii::Sealed;
use chrono::{DateTime, NaiveDate, Utc};

pub struct NewPerson<'a> {
    pub person_key: &'a [u8],
    pub id_number: &'a Sealed,
    pub id_masked: &'a str,
    pub birth_date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// Creates the person unless they exist already (one record per human).
pub async fn ensure(tx: &mut Tx, person: NewPerson<'_>) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO persons (person_key, id_ciphertext, id_key_id, id_masked, birth_date, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (person_key) DO NOTHING",
    )
    .bind(person.person_key)
    .bind(&person.id_number.bytes)
    .bind(&person.id_number.key_id)
    .bind(person.id_masked)
    .bind(person.birth_date)
    .bind(person.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
