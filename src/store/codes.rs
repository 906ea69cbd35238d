//! Domain codes (`domain::code::Code`) as PostgreSQL text: rows decode straight into the enum, and
//! an unknown stored name is a decoding error naming the set, not a string passed upward.
use crate::domain::code::Code;

/// Makes each listed `Code` type a text column type for sqlx (and an array element).
#[macro_export]
macro_rules! stored_as_text {
    ($($type:ty),* $(,)?) => {$(
        impl sqlx::Type<sqlx::Postgres> for $type {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }
        impl sqlx::postgres::PgHasArrayType for $type {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }
        impl sqlx::Encode<'_, sqlx::Postgres> for $type {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(
                    $crate::domain::code::Code::code(*self),
                    buf,
                )
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $type {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                $crate::store::codes::decode(<&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?)
            }
        }
    )*};
}

/// A stored name back to its value.
pub fn decode<T: Code>(stored: &str) -> Result<T, sqlx::error::BoxDynError> {
    T::from_code(stored)
        .ok_or_else(|| format!("unknown {} {stored:?} in the database", T::WHAT).into())
}

crate::stored_as_text!(
    crate::domain::industry::Industry,
    crate::domain::enrolment::EnrolmentStatus,
);
