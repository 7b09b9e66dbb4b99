//! The OpenAPI 3.1 documents of both APIs (`GET /api/v1/openapi.json`,
//! without a token): generated from the handlers' `#[utoipa::path]`
//! annotations and the JSON types' `ToSchema`, so they cannot drift from
//! the code. [`ProblemResponses`] adds what follows from the API's shape
//! rather than from one handler (the bearer scheme, and the problems any
//! authenticated call, any body, any path parameter can meet) and gives
//! every error response the problem schema.

use std::{collections::btree_map::Entry, sync::OnceLock};

use actix_web::{HttpResponse, http::header};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{
        Content, HeaderBuilder, OpenApi, RefOr, Response,
        path::{Operation, ParameterIn},
        schema::{Object, Type},
        security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
    },
};

use super::{FieldError, Problem};

/// The bearer scheme's name in the documents.
const BEARER: &str = "bearer";

/// Answers with the document `build` makes (made once).
pub fn serve(document: &'static OnceLock<String>, build: fn() -> OpenApi) -> HttpResponse {
    let body = document.get_or_init(|| match build().to_json() {
        Ok(json) => json,
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialize");
            "{}".to_owned()
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(body.clone())
}

/// The problems every operation of a kind can meet, by status, and why.
const UNAUTHENTICATED: &[(u16, &str)] = &[
    (
        401,
        "The bearer token is missing, unknown, expired or revoked, or its user no longer has \
         a Customer Lockbox role.",
    ),
    (
        429,
        "The token used up its allowance; `Retry-After` says when to try again.",
    ),
];
const ANY: &[(u16, &str)] = &[
    (500, "The call failed on the server; it has been logged."),
    (
        503,
        "The database cannot be reached right now (`unavailable`); `Retry-After` says when to \
         try again.",
    ),
];
const WITH_BODY: &[(u16, &str)] = &[
    (400, "The body is not valid JSON (or holds a NUL)."),
    (413, "The body is larger than 64 KiB."),
    (415, "The body is not `application/json`."),
    (
        422,
        "Some fields are not valid: `errors` names each, with why.",
    ),
];
const WITH_QUERY: &[(u16, &str)] = &[(400, "A query parameter is not valid.")];
const WITH_PATH: &[(u16, &str)] = &[(
    404,
    "No such resource for this caller (another organization's request answers the same).",
)];

/// Adds the bearer scheme and the problems that follow from the API's
/// shape to every operation, and the problem schema to every error.
pub struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lbx_…")
                    .description(Some("An API token: `Authorization: Bearer lbx_…`."))
                    .build(),
            ),
        );
        components
            .schemas
            .insert(Problem::name().into_owned(), Problem::schema());
        components
            .schemas
            .insert(FieldError::name().into_owned(), FieldError::schema());
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                describe(op);
            }
        }
    }
}

fn describe(op: &mut Operation) {
    // `security(())` on a handler: served without a token.
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
    let mut add: Vec<(u16, &str)> = ANY.to_vec();
    if public {
        op.security = Some(Vec::new());
    } else {
        op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
        add.extend_from_slice(UNAUTHENTICATED);
    }
    if op.request_body.is_some() {
        add.extend_from_slice(WITH_BODY);
    }
    let params: Vec<ParameterIn> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if params.contains(&ParameterIn::Query) {
        add.extend_from_slice(WITH_QUERY);
    }
    if params.contains(&ParameterIn::Path) {
        add.extend_from_slice(WITH_PATH);
    }
    for (status, why) in add {
        match op.responses.responses.entry(status.to_string()) {
            Entry::Vacant(slot) => {
                slot.insert(RefOr::T(Response::new(why)));
            }
            // A handler's own words for the status come first.
            Entry::Occupied(mut slot) => {
                if let RefOr::T(r) = slot.get_mut()
                    && !r.description.contains(why)
                {
                    r.description = format!("{} Or: {why}", r.description);
                }
            }
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let Ok(code) = status.parse::<u16>() else {
            continue;
        };
        if code < 400 {
            continue;
        }
        response.content.clear();
        response.content.insert(
            "application/problem+json".to_owned(),
            Content::new(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(
                utoipa::openapi::Ref::from_schema_name(Problem::name()),
            )))
            .into(),
        );
        if matches!(code, 429 | 503) {
            response.headers.insert(
                "Retry-After".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(Object::with_type(Type::Integer)))
                    .description(Some("Seconds to wait before trying again."))
                    .build()
                    .into(),
            );
        }
        if code == 401 {
            response.headers.insert(
                "WWW-Authenticate".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(String::schema()))
                    .description(Some("`Bearer`"))
                    .build()
                    .into(),
            );
        }
    }
}
