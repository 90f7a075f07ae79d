//! Shared helpers for the sample-driven adapter tests.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Method, Request};

pub const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/providers/samples/"
);

pub fn sample(name: &str) -> String {
    std::fs::read_to_string(format!("{SAMPLES}{name}"))
        .unwrap_or_else(|e| panic!("sample {name}: {e}"))
}

pub fn sample_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{SAMPLES}{name}")).unwrap_or_else(|e| panic!("sample {name}: {e}"))
}

pub fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&sample(name)).unwrap_or_else(|e| panic!("sample {name}: {e}"))
}

pub fn post(uri: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Request<Bytes> {
    let mut b = Request::builder().method(Method::POST).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

pub fn get(uri: &str) -> Request<Bytes> {
    Request::builder()
        .method(Method::GET)
        .uri(uri)
        .body(Bytes::new())
        .unwrap()
}

pub fn body_json(req: &Request<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(req.body()).unwrap()
}

pub fn phone(s: &str) -> sq_channels::Address {
    sq_channels::Address::Phone(s.parse().unwrap())
}
