//! The verified-token cache never accepts what the verifier wouldn't.

mod common;

use std::time::Duration;

use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use rocket_oauth2_jwt_bearer::__private::Verifier;
use rocket_oauth2_jwt_bearer::Clock;
use serde_json::json;

fn cache_of(client: &Client) -> (usize, u64, u64) {
    let cache = client.rocket().state::<Verifier>().unwrap().cache();
    let (hits, misses) = cache.hits_and_misses();
    (cache.len(), hits, misses)
}

#[rocket::async_test]
async fn a_valid_token_is_verified_once_then_served_from_the_cache() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    for _ in 0..5 {
        assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    }
    assert_eq!(cache_of(&client), (1, 4, 1));

    // Rejected tokens are never cached.
    let expired = key.token(&claims_with(&idp, json!({"exp": now() - 60})));
    for _ in 0..3 {
        assert_eq!(
            get_with_token(&client, "/api/private", &expired).await.status(),
            Status::Unauthorized
        );
    }
    assert_eq!(cache_of(&client).0, 1);
}

#[rocket::async_test]
async fn a_cached_token_stops_being_accepted_at_exp() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let clock = Clock::system();
    let client = client_on(figment(&idp, json!({"clock_tolerance": 0})), &clock).await;
    let token = key.token(&claims_with(&idp, json!({ "exp": now() + 60 })));

    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    assert_eq!(cache_of(&client).1, 1, "served from the cache");

    clock.advance(Duration::from_secs(58));
    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    assert_eq!(cache_of(&client).1, 2, "still served from the cache just before exp");

    clock.advance(Duration::from_secs(3));
    let (status, _, message) = outcome(get_with_token(&client, "/api/private", &token).await).await;
    assert_eq!((status, message.as_str()), (401, "'exp' claim timestamp check failed"));
}

#[rocket::async_test]
async fn a_rotated_out_key_loses_its_cached_tokens_at_the_refresh() {
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    let idp = Idp::start(&[&old, &new]).await;
    let client = client_for(figment(&idp, json!({"jwks_cache_max_age": 0.3}))).await;
    let claims = good_claims(&idp);
    let (old_token, new_token) = (old.token(&claims), new.token(&claims));

    for token in [&old_token, &new_token, &old_token, &new_token] {
        assert_eq!(get_with_token(&client, "/api/private", token).await.status(), Status::Ok);
    }
    assert_eq!(cache_of(&client).0, 2);

    idp.set_keys(&[&new]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/private", &old_token).await).await;
    assert_eq!(
        (status, message.as_str()),
        (401, "no applicable key found in the JSON Web Key Set")
    );
    assert_eq!(get_with_token(&client, "/api/private", &new_token).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_cache_hit_still_runs_the_routes_scope_check() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&claims_with(&idp, json!({"scope": "write:messages"})));

    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/private-scoped", &token).await).await;
    assert_eq!((status, message.as_str()), (403, "Insufficient Scope"));
    assert_eq!(cache_of(&client).1, 1, "the 403 came from a cache hit");
}

#[rocket::async_test]
async fn capacity_zero_disables_the_cache() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"token_cache_capacity": 0}))).await;
    let token = key.token(&good_claims(&idp));
    for _ in 0..3 {
        assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
    }
    assert_eq!(cache_of(&client), (0, 0, 0));
}
