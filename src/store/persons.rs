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

/// A person's sealed ID number and mask, and whether they have records in `province_code`
/// (enrolments, claims or pension enrolments).
#[derive(sqlx::FromRow)]
pub struct Resolved {
    pub id_ciphertext: Vec<u8>,
    pub id_key_id: String,
    pub id_masked: String,
    pub in_province: bool,
}

pub async fn resolve(
    db: impl sqlx::PgExecutor<'_>,
    person_key: &[u8],
    province_code: &str,
) -> AppResult<Option<Resolved>> {
    Ok(sqlx::query_as!(
        Resolved,
        r#"SELECT p.id_ciphertext, p.id_key_id, p.id_masked,
                EXISTS (SELECT 1 FROM enrolments e WHERE e.person_key = p.person_key AND e.province_code = $2)
                OR EXISTS (SELECT 1 FROM claims c WHERE c.person_key = p.person_key AND c.province_code = $2)
                OR EXISTS (SELECT 1 FROM pension_enrolments x WHERE x.person_key = p.person_key AND x.province_code = $2)
                AS "in_province!"
         FROM persons p WHERE p.person_key = $1"#,
        person_key,
        province_code,
    )
    .fetch_optional(db)
    .await?)
}
