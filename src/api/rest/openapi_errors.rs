//! Spec hardening found by schemathesis (scripts/schemathesis.sh): the OpenAPI document must
//! describe every answer the service can give, so generated clients and contract tests are not
//! surprised. Rather than repeating them on ~90 operations, this modifier adds to every
//! operation the error answers any of them can give (all share `ErrorBody`, each described once
//! under `components/responses`), and the limits every `limit` query parameter and every
//! `Idempotency-Key` header is checked against.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::Modify;

/// Status codes any operation may answer with (auth, permissions, unknown rows, validation,
/// body limits, rate limits, an unavailable database), never 500: a 500 is a bug to fix.
const ERRORS: [(&str, &str); 10] = [
    (
        "400",
        "bad_request: malformed request (body, query string or header); nesting_too_deep: a JSON body nests too deeply",
    ),
    ("401", "unauthenticated: missing, unknown, revoked or expired credentials"),
    ("403", "forbidden: the credentials lack the permission"),
    ("404", "not_found: no such row for this tenant"),
    ("409", "conflict: the row's state does not allow this"),
    ("413", "payload_too_large"),
    ("415", "unsupported_media_type"),
    ("422", "validation_failed or idempotency_key_reused"),
    ("429", "rate_limited"),
    ("503", "service_unavailable: the database is unreachable or busy"),
];

pub struct DocumentedErrors;

impl Modify for DocumentedErrors {
    fn modify(&self, openapi: &mut OpenApi) {
        // Each error answer once under components/responses, referenced from every operation.
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, description) in ERRORS {
            components.responses.insert(
                response_name(status),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                        )
                        .build(),
                ),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                add_errors(op);
                constrain_parameters(op);
            }
        }
    }
}

fn response_name(status: &str) -> String {
    format!("Error{status}")
}

/// Every error answer of an operation refers to the shared one; what a handler says about its
/// own case of that status ("code already used") stays as the reference's description.
fn add_errors(op: &mut Operation) {
    for (status, _) in ERRORS {
        let location = format!("#/components/responses/{}", response_name(status));
        let answer =
            op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::Ref(Ref::new(&location)));
        if let RefOr::T(inline) = answer {
            let mut reference = Ref::new(location);
            reference.description = inline.description.clone();
            *answer = RefOr::Ref(reference);
        }
    }
}

fn constrain_parameters(op: &mut Operation) {
    for p in op.parameters.iter_mut().flatten() {
        let Some(RefOr::T(Schema::Object(schema))) = p.schema.as_mut() else { continue };
        match p.name.as_str() {
            // Pages hold 1 to 500 rows (larger asks are capped, smaller ones refused).
            "limit" => schema.minimum = Some(1.into()),
            "Idempotency-Key" => restrict_key(schema),
            _ => {}
        }
    }
}

fn restrict_key(schema: &mut Object) {
    schema.min_length = Some(1);
    schema.max_length = Some(255);
    schema.pattern = Some("^[\\x21-\\x7E]{1,255}$".into());
}
