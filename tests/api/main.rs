//! Integration tests: real tonic clients against the real server on 127.0.0.1:0 and a fresh
//! PostgreSQL database per test (DATABASE_URL's server, or an embedded cluster when it is unset).
//! One test binary with modules links far faster than one binary per file.
mod admin;
mod at_rest;
mod auth;
mod batch;
mod benefits_in_payment;
mod canonical;
mod claim_bases;
mod claim_payments;
mod claim_rules;
mod claims;
mod declarations;
mod enrolment;
mod faults;
mod federation;
mod follow;
mod health;
mod helpers;
mod hostile;
mod hostile_targets;
mod idempotency;
mod import;
mod interop;
mod lifecycle;
mod lookup;
mod matrix;
mod matrix_fixtures;
mod matrix_requests;
mod offline_queries;
mod orders;
mod payments;
mod pension;
mod rates;
mod replicas;
mod replication;
mod serve_binary;
