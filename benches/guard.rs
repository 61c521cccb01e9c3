//! The whole request path in process, without the network's noise: one
//! request through Rocket's local client — fairings, routing, the guard,
//! the handler, the catchers, the response — for `/api/public` and for
//! `/api/private-scoped` with a token the cache has seen (the hit path).
//!
//! `cargo bench --bench guard` prints `request/public` and
//! `request/scoped_hit`; their ratio is what the guard adds per request on
//! top of everything the app does for any request. `scope_check/*` is the
//! scope check alone, exact and through a `scope_hierarchy`.

#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/dpop.rs"]
mod dpop;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/idp.rs"]
mod idp;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/keys.rs"]
mod keys;

use criterion::{Criterion, criterion_group, criterion_main};
use figment::Figment;
use figment::providers::Serialized;
use idp::Idp;
use keys::*;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::json;

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let key = TestKey::rsa("k1");
    let idp = runtime.block_on(Idp::start(&[&key]));
    let figment = Figment::from(rocket::Config::release_default())
        .merge(Serialized::default("log_level", "off"))
        .merge(Serialized::default(
            "auth",
            json!({"issuer_base_url": idp.base_url(), "audience": AUDIENCE}),
        ));
    let client = runtime
        .block_on(Client::untracked(auth0_rocket_api::rocket_from(figment)))
        .expect("launches");
    let now = now();
    let token = key.token(&json!({
        "iss": idp.base_url(), "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "aud": [AUDIENCE, "https://tenant.auth0.com/userinfo"],
        "iat": now, "exp": now + 86400, "azp": "my-client-id",
        "scope": "openid profile email read:messages",
    }));
    let authorization = format!("Bearer {token}");

    let get = |path: &'static str, authorization: Option<&str>| {
        let mut request = client.get(path).header(Header::new("Host", "127.0.0.1"));
        if let Some(value) = authorization {
            request = request.header(Header::new("Authorization", value.to_owned()));
        }
        let status = runtime.block_on(async { request.dispatch().await.status() });
        assert_eq!(status, Status::Ok, "{path}");
    };

    let mut group = c.benchmark_group("request");
    group.bench_function("public", |b| b.iter(|| get("/api/public", None)));
    group.bench_function("scoped_hit", |b| {
        b.iter(|| get("/api/private-scoped", Some(&authorization)))
    });
    group.finish();
}

/// The scope check alone, with and without a `scope_hierarchy`: a token
/// granted `read:messages` itself, and one granted `messages:admin`, which
/// implies it through `write:messages` (two steps).
fn scope_checks(c: &mut Criterion) {
    use rocket_oauth2_jwt_bearer::__private::ScopeHierarchy;

    let implies = [
        ("messages:admin".to_owned(), vec!["write:messages".to_owned()]),
        ("write:messages".to_owned(), vec!["read:messages".to_owned()]),
    ];
    let hierarchy = ScopeHierarchy::check(&implies.into_iter().collect()).unwrap();
    let flat = ScopeHierarchy::default();
    let held = |scopes: &str| scopes.split(' ').map(String::from).collect::<Vec<_>>();
    let direct = held("openid profile email read:messages");
    let implied = held("openid profile email messages:admin");

    let mut group = c.benchmark_group("scope_check");
    group.bench_function("exact", |b| {
        b.iter(|| assert!(flat.grants(std::hint::black_box(&direct), "read:messages")))
    });
    group.bench_function("hierarchy_direct", |b| {
        b.iter(|| assert!(hierarchy.grants(std::hint::black_box(&direct), "read:messages")))
    });
    group.bench_function("hierarchy_implied", |b| {
        b.iter(|| assert!(hierarchy.grants(std::hint::black_box(&implied), "read:messages")))
    });
    group.finish();
}

criterion_group!(benches, requests, scope_checks);
criterion_main!(benches);
