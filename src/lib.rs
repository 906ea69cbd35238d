//! flexcover: social-insurance enrolment of platform workers over gRPC.
pub mod access_log;
pub mod admission;
pub mod api;
pub mod app;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod client;
pub mod codec;
pub mod config;
pub mod connection;
pub mod database;
pub mod domain;
pub mod error;
pub mod event_purge;
pub mod follow;
pub mod import;
pub mod key_rotation;
pub mod maintenance;
pub mod metrics;
pub mod order_archive;
pub mod oversize;
pub mod pii;
pub mod policy;
pub mod postgres;
pub mod progress;
pub mod rpc_span;
pub mod seed;
pub mod sequencer;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;

/// Code generated from `proto/flexcover/v1`.
pub mod pb {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("flexcover.v1");

    /// Encoded descriptors of every flexcover.v1 file and the google.rpc error types they use,
    /// for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("flexcover_descriptor");
}
