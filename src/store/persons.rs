//! The national person record (the only cross-province table), keyed by the blind index of the
//! ID number; the number itself only encrypted.
use super::Tx;
use crate::error::AppResult;
use crate::pii::Sealed;
use chrono::{DateTime, NaiveDate, Utc};

pub struct NewPerson<'a> {
    pub person_key: &'a [u8],
    pub id_number: &'a Sealed,
    pub id_masked: &'a str,
    pub birth_date: NaiveDate,
}

/// Creates the people who do not exist yet (one record per human), in one statement.
pub async fn ensure(tx: &mut Tx, people: &[NewPerson<'_>], now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO persons (person_key, id_ciphertext, id_key_id, id_masked, birth_date, created_at)
         SELECT t.person_key, t.id_ciphertext, t.id_key_id, t.id_masked, t.birth_date, $6
         FROM UNNEST($1::bytea[], $2::bytea[], $3::text[], $4::text[], $5::date[])
              AS t(person_key, id_ciphertext, id_key_id, id_masked, birth_date)
         ON CONFLICT (person_key) DO NOTHING",
        people.iter().map(|p| p.person_key).collect::<Vec<_>>() as _,
        people.iter().map(|p| p.id_number.bytes.as_slice()).collect::<Vec<_>>() as _,
        people.iter().map(|p| p.id_number.key_id.as_str()).collect::<Vec<_>>() as _,
        people.iter().map(|p| p.id_masked).collect::<Vec<_>>() as _,
        &people.iter().map(|p| p.birth_date).collect::<Vec<_>>(),
        now,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
