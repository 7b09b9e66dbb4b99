//! The OpenAPI documents: served without a token on each listener, they
//! describe every route the server registers (with its method), every
//! error as a problem, and the JSON the API really answers.

use std::collections::BTreeSet;

use lockbox::{
    auth::api_tokens::TokenScope,
    requests::Status,
    web::api::{ApiRoute, customer, provider},
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::{call, customer_token, world};

/// Every status an API refusal can have (see `ApiError`), and the busy
/// export's.
const ERROR_STATUSES: [u16; 11] = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503];

async fn document(base: &str) -> Value {
    let resp = Client::new()
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::OK, "served without a token");
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let doc: Value = resp.json().await.expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1: {}",
        doc["openapi"]
    );
    doc
}

/// Every `$ref` under `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Every (method, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect()
}

/// Every (method, path) the server registers.
fn registered(routes: &[ApiRoute]) -> BTreeSet<(String, String)> {
    routes
        .iter()
        .map(|r| {
            (
                r.method.as_str().to_lowercase(),
                format!("/api/v1{}", r.path),
            )
        })
        .collect()
}

/// The path of a route with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "5f0c2a43-7c55-4d7e-9a43-0d7a4f1c2b11")
        .replace("{action}", "approve")
        .replace("{name}", "Get-MailboxStatistics")
}

/// The operations of a document, with their method and path.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    documented(doc)
        .into_iter()
        .map(|(m, p)| {
            let op = &doc["paths"][&p][&m];
            (m, p, op)
        })
        .collect()
}

fn statuses(op: &Value) -> BTreeSet<u16> {
    op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect()
}

#[tokio::test]
async fn every_route_either_listener_registers_is_in_its_document_with_its_method() {
    let w = world().await;
    for (base, routes, title) in [
        (&w.app.admin_url, customer::ROUTES, "lockbox customer API"),
        (
            &w.app.engineer_url,
            provider::ROUTES,
            "lockbox provider API",
        ),
    ] {
        let doc = document(base).await;
        assert_eq!(doc["info"]["title"], title);
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r}: a schema of the document"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} resolves ({title})"
            );
        }
        let registered = registered(routes);
        let documented = documented(&doc);
        assert_eq!(
            registered.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "registered but not described ({title})"
        );
        assert_eq!(
            documented.difference(&registered).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "described but not registered ({title})"
        );
        // And the server really answers each of them: with a bad token,
        // 401, not 404 (the document itself needs none).
        for (method, path) in &registered {
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = call(
                method.clone(),
                format!("{base}{}", concrete(path)),
                "lbx_bad",
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("call");
            let expected = if path.ends_with("/openapi.json") {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(resp.status(), expected, "{method} {path} on {title}");
        }
    }
}

#[tokio::test]
async fn every_error_is_described_as_a_problem() {
    let w = world().await;
    let mut seen = BTreeSet::new();
    for base in [&w.app.admin_url, &w.app.engineer_url] {
        let doc = document(base).await;
        let problem = &doc["components"]["schemas"]["Problem"];
        for field in ["type", "title", "status", "detail"] {
            assert!(
                problem["properties"][field].is_object(),
                "Problem.{field}: {problem}"
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        for (method, path, op) in operations(&doc) {
            let here = statuses(op);
            seen.extend(here.iter().copied());
            let public = path.ends_with("/openapi.json");
            let mut needed: Vec<u16> = vec![500];
            if !public {
                needed.extend([401, 429]);
                assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
            } else {
                assert_eq!(op["security"], serde_json::json!([]), "{path}: no token");
            }
            if op["requestBody"].is_object() {
                needed.extend([400, 413, 415, 422]);
            }
            if path.contains('{') {
                needed.push(404);
            }
            for status in needed {
                assert!(here.contains(&status), "{method} {path} lacks {status}");
            }
            for status in here.iter().filter(|s| **s >= 400) {
                let response = &op["responses"][status.to_string()];
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}: described"
                );
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}: a problem"
                );
                if [429, 503].contains(status) {
                    assert!(response["headers"]["Retry-After"].is_object());
                }
            }
        }
    }
    for status in ERROR_STATUSES {
        assert!(seen.contains(&status), "{status} is described somewhere");
    }
}

#[tokio::test]
async fn the_schemas_are_the_json_the_api_answers() {
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let token = customer_token(&w.app, &c.admin, TokenScope::Read);
    let doc = document(&w.app.admin_url).await;
    let schemas = &doc["components"]["schemas"];

    // Typed ids are UUID strings; vocabularies are the domain's own.
    assert_eq!(schemas["RequestId"]["type"], "string");
    assert_eq!(schemas["RequestId"]["format"], "uuid");
    let names: Vec<&str> = schemas["ApprovalStatus"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names, Status::ALL.map(Status::name));
    assert_eq!(
        schemas["RequestJson"]["properties"]["RequestId"]["$ref"],
        "#/components/schemas/RequestId"
    );

    // A listed request has exactly the properties its schema names.
    let list: Value = call(
        reqwest::Method::GET,
        format!("{}/api/v1/requests", w.app.admin_url),
        &token,
    )
    .send()
    .await
    .expect("call")
    .json()
    .await
    .expect("json");
    let item = list["Items"][0].as_object().expect("an item");
    let properties: BTreeSet<&String> = schemas["RequestJson"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    let required: BTreeSet<&str> = schemas["RequestJson"]["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for key in item.keys() {
        assert!(properties.contains(key), "{key} is in the schema");
    }
    for key in required {
        assert!(item.contains_key(key), "required {key} is in the answer");
    }
}
