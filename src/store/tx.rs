//! A call's transaction with its span: `db.transaction`, a CLIENT child of the call's SERVER span
//! from BEGIN to COMMIT or ROLLBACK (or the drop that rolls it back). The span carries no statement
//! text and no values, only the database system and how the transaction ended.
//!
//! Derefs to the connection, as `sqlx::Transaction` does, so queries take `&mut *tx` (`&mut **tx`
//! through a `&mut Tx`) either way.
use sqlx::{PgConnection, Postgres};
use std::ops::{Deref, DerefMut};

pub struct Tx {
    inner: sqlx::Transaction<'static, Postgres>,
    span: tracing::Span,
}

impl Tx {
    /// Wraps a transaction just begun. Outside a call (no current span: background work) it gets
    /// no span, so periodic work does not start a trace of its own on every round.
    pub fn new(inner: sqlx::Transaction<'static, Postgres>) -> Self {
        let span = if tracing::Span::current().is_none() {
            tracing::Span::none()
        } else {
            tracing::info_span!(
                "db.transaction",
                otel.name = "db.transaction",
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                db.system.name = "postgresql",
                db.operation.name = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
            )
        };
        Self { inner, span }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let Self { inner, span } = self;
        let result = inner.commit().await;
        ended(&span, "COMMIT", &result);
        result
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let Self { inner, span } = self;
        let result = inner.rollback().await;
        ended(&span, "ROLLBACK", &result);
        result
    }
}

fn ended(span: &tracing::Span, operation: &'static str, result: &Result<(), sqlx::Error>) {
    span.record("db.operation.name", operation);
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", "db_error");
    }
}

impl Deref for Tx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}
