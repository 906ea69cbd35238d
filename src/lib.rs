//! flexcover: social-insurance enrolment of platform workers over gRPC.
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod database;
pub mod domain;
pub mod error;
pub mod pii;
pub mod postgres;
pub mod rpc_span;
pub mod seed;
pub mod store;
pub mod telemetry;

/// Code generated from `proto/flexcover/v1`.
pub mod pb {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("flexcover.v1");

    /// Encoded descriptors of every flexcover.v1 file, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("flexcover_descriptor");

    /// Encoded descriptor of google.rpc.BadRequest, so reflection clients can decode error details.
    pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("google_rpc_descriptor");
}
