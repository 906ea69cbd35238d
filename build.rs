//! Compiles the .proto files with protox (no system protoc) and writes the descriptor set that
//! server reflection serves.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/flexcover/v1/common.proto",
        "proto/flexcover/v1/enrolment.proto",
        "proto/flexcover/v1/admin.proto",
        "proto/flexcover/v1/events.proto",
        "proto/flexcover/v1/contribution.proto",
        "proto/flexcover/v1/claim.proto",
        "proto/flexcover/v1/federation.proto",
        "proto/flexcover/v1/supervision.proto",
        // Served through reflection so clients can decode error details (BadRequest, RetryInfo).
        // Upstream googleapis files, kept out of proto/ so that a client generated from proto/
        // uses the googleapis-common-protos (or equivalent) package instead of a copy.
        "third_party/googleapis/google/rpc/error_details.proto",
    ];
    // Comments (source_code_info) are kept: reflection serves them to grpcurl and generators,
    // and tests/api/descriptors.rs checks every service, RPC and message has one.
    let fds = protox::compile(protos, ["proto", "third_party/googleapis"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    // compile_fds ignores file_descriptor_set_path, so the reflection descriptor is written here.
    std::fs::write(
        out_dir.join("flexcover_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // google.rpc messages are tonic-types' (same prost), so no code is generated for them.
        .extern_path(".google.rpc", "::tonic_types::pb")
        // A request that does not decode is INVALID_ARGUMENT, not tonic-prost's INTERNAL.
        .codec_path("crate::codec::CanonicalCodec")
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=third_party/googleapis");
    // sqlx::migrate!() embeds the migrations.
    println!("cargo:rerun-if-changed=migrations");
    Ok(())
}
