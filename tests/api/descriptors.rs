//! Every service, RPC, message, field, enum and enum value of flexcover.v1 has a leading comment in the descriptor set the
//! server serves through reflection: that is what grpcurl `describe` and generated clients show an
//! integrating developer.
use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

// Field numbers in descriptor.proto that make up source-code-info paths.
const FILE_MESSAGE_TYPE: i32 = 4;
const FILE_ENUM_TYPE: i32 = 5;
const FILE_SERVICE: i32 = 6;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED_TYPE: i32 = 3;
const MESSAGE_ENUM_TYPE: i32 = 4;
const ENUM_VALUE: i32 = 2;
const SERVICE_METHOD: i32 = 2;

/// Pushes (path, what) for an enum and each of its values.
fn enumeration(
    path: Vec<i32>,
    prefix: &str,
    enumeration: &EnumDescriptorProto,
    out: &mut Vec<(Vec<i32>, String)>,
) {
    let name = format!("{prefix}.{}", enumeration.name());
    for (index, value) in enumeration.value.iter().enumerate() {
        let mut value_path = path.clone();
        value_path.extend([ENUM_VALUE, index as i32]);
        out.push((value_path, format!("enum value {name}.{}", value.name())));
    }
    out.push((path, format!("enum {name}")));
}

/// Pushes (path, what) for a message, its fields, and its nested messages and enums.
fn messages(
    path: Vec<i32>,
    prefix: &str,
    message: &DescriptorProto,
    out: &mut Vec<(Vec<i32>, String)>,
) {
    let name = format!("{prefix}.{}", message.name());
    for (index, nested) in message.nested_type.iter().enumerate() {
        // Map entries are synthesised by the compiler and cannot carry comments.
        if nested.options.as_ref().is_some_and(|o| o.map_entry()) {
            continue;
        }
        let mut nested_path = path.clone();
        nested_path.extend([MESSAGE_NESTED_TYPE, index as i32]);
        messages(nested_path, &name, nested, out);
    }
    for (index, nested) in message.enum_type.iter().enumerate() {
        let mut nested_path = path.clone();
        nested_path.extend([MESSAGE_ENUM_TYPE, index as i32]);
        enumeration(nested_path, &name, nested, out);
    }
    for (index, field) in message.field.iter().enumerate() {
        let mut field_path = path.clone();
        field_path.extend([MESSAGE_FIELD, index as i32]);
        out.push((field_path, format!("field {name}.{}", field.name())));
    }
    out.push((path, format!("message {name}")));
}

#[test]
fn every_service_rpc_message_field_enum_and_value_has_a_comment() {
    let set = FileDescriptorSet::decode(flexcover::pb::FILE_DESCRIPTOR_SET).expect("decode");
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in set
        .file
        .iter()
        .filter(|file| file.package() == "flexcover.v1")
    {
        let info = file.source_code_info.as_ref().unwrap_or_else(|| {
            panic!(
                "{}: no source code info (comments) in the descriptor set",
                file.name()
            )
        });
        // A field or enum value may carry its comment at the end of its line instead.
        let comment = |path: &[i32], trailing_allowed: bool| {
            let said = |text: Option<&str>| text.is_some_and(|text| !text.trim().is_empty());
            info.location
                .iter()
                .find(|location| location.path == path)
                .is_some_and(|location| {
                    said(location.leading_comments.as_deref())
                        || (trailing_allowed && said(location.trailing_comments.as_deref()))
                })
        };
        let mut declarations = Vec::new();
        for (index, service) in file.service.iter().enumerate() {
            let name = format!("flexcover.v1.{}", service.name());
            for (method_index, method) in service.method.iter().enumerate() {
                declarations.push((
                    vec![
                        FILE_SERVICE,
                        index as i32,
                        SERVICE_METHOD,
                        method_index as i32,
                    ],
                    format!("rpc {name}/{}", method.name()),
                ));
            }
            declarations.push((vec![FILE_SERVICE, index as i32], format!("service {name}")));
        }
        for (index, message) in file.message_type.iter().enumerate() {
            let mut found = Vec::new();
            messages(
                vec![FILE_MESSAGE_TYPE, index as i32],
                "flexcover.v1",
                message,
                &mut found,
            );
            declarations.extend(found);
        }
        for (index, top) in file.enum_type.iter().enumerate() {
            enumeration(
                vec![FILE_ENUM_TYPE, index as i32],
                "flexcover.v1",
                top,
                &mut declarations,
            );
        }
        for (path, name) in declarations {
            checked += 1;
            let member = name.starts_with("field ") || name.starts_with("enum value ");
            if !comment(&path, member) {
                missing.push(format!("{} ({})", name, file.name()));
            }
        }
    }
    assert!(checked > 500, "only {checked} declarations found");
    assert!(
        missing.is_empty(),
        "{} declarations without a comment:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Reflection describes the error details the server sends (BadRequest with INVALID_ARGUMENT,
/// RetryInfo with UNAVAILABLE), from the complete upstream google/rpc files, with every import
/// present so clients can resolve them.
#[test]
fn the_descriptor_set_describes_the_error_details_and_every_import() {
    let set = FileDescriptorSet::decode(flexcover::pb::FILE_DESCRIPTOR_SET).expect("decode");
    let names: Vec<&str> = set.file.iter().map(|file| file.name()).collect();
    for file in &set.file {
        for dependency in &file.dependency {
            assert!(
                names.contains(&dependency.as_str()),
                "{} imports {dependency}, which is not in the set",
                file.name()
            );
        }
    }
    let details = set
        .file
        .iter()
        .find(|file| file.name() == "google/rpc/error_details.proto")
        .expect("google/rpc/error_details.proto");
    let messages: Vec<&str> = details.message_type.iter().map(|m| m.name()).collect();
    for wanted in ["BadRequest", "RetryInfo", "ErrorInfo"] {
        assert!(messages.contains(&wanted), "{wanted} missing: {messages:?}");
    }
}
