//! Where the token comes from (RFC 6750 §2): the Authorization header, the
//! opt-in `access_token` query parameter, and malformed combinations.

mod common;

use common::*;
use rocket::http::{Header, Status};
use rocket::{get, routes};
use serde_json::json;

const MISSING: &str = "Bearer realm=\"api\"";

#[rocket::async_test]
async fn header_scheme_is_case_insensitive_with_one_or_more_spaces() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("BeArEr    {token}"),
        format!("Bearer {token}  "),
    ] {
        let response = get(&client, "/api/private", Some(&value)).await;
        assert_eq!(response.status(), Status::Ok, "{value:.20}");
    }

    for value in [format!("Token {token}"), format!("Bearer{token}"), format!("JWT {token}")] {
        let (status, challenge, message) =
            outcome(get(&client, "/api/private", Some(&value)).await).await;
        assert_eq!(
            (status, challenge.as_deref(), message.as_str()),
            (401, Some(MISSING), "Unauthorized")
        );
    }
}

#[rocket::async_test]
async fn two_authorization_headers_are_an_invalid_request() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    let response = client
        .get("/api/private")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    let (status, challenge, message) = outcome(response).await;
    assert_eq!(status, 400);
    assert_eq!(message, "More than one Authorization header");
    assert_eq!(
        challenge.unwrap(),
        "Bearer realm=\"api\", error=\"invalid_request\", \
         error_description=\"More than one Authorization header\""
    );
}

#[rocket::async_test]
async fn query_tokens_are_refused_by_default() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    let response = client.get(format!("/api/private?access_token={token}")).dispatch().await;
    let (status, challenge, message) = outcome(response).await;
    assert_eq!(
        (status, challenge.as_deref(), message.as_str()),
        (401, Some(MISSING), "Unauthorized")
    );

    // Ignored, not an error, next to a header token.
    let response = client
        .get("/api/private?access_token=whatever")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
}

#[rocket::async_test]
async fn query_tokens_when_allowed() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"allow_query_token": true}))).await;
    let token = key.token(&good_claims(&idp));

    let response = client.get(format!("/api/private-scoped?access_token={token}")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let response =
        client.get(format!("/api/private?x=1&access_token={token}&y=2")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);

    let both = client
        .get(format!("/api/private?access_token={token}"))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    let (status, challenge, message) = outcome(both).await;
    assert_eq!((status, message.as_str()), (400, "More than one method used for authentication"));
    assert!(challenge.unwrap().contains("error=\"invalid_request\""));

    let repeated = client
        .get(format!("/api/private?access_token={token}&access_token={token}"))
        .dispatch()
        .await;
    let (status, _, message) = outcome(repeated).await;
    assert_eq!((status, message.as_str()), (400, "More than one access_token parameter"));

    let empty = client.get("/api/private?access_token=").dispatch().await;
    let (status, _, message) = outcome(empty).await;
    assert_eq!((status, message.as_str()), (401, "Bearer token is empty"));

    let junk = client.get("/api/private?access_token=not%20a%20token").dispatch().await;
    let (status, _, message) = outcome(junk).await;
    assert_eq!((status, message.as_str()), (401, "Malformed bearer token"));

    // A non-bearer Authorization header is no bearer credential: the query one counts.
    let basic = client
        .get(format!("/api/private?access_token={token}"))
        .header(Header::new("Authorization", "Basic dXNlcjpwYXNz"))
        .dispatch()
        .await;
    assert_eq!(basic.status(), Status::Ok);
}

#[get("/uri")]
fn uri(origin: &rocket::http::uri::Origin<'_>) -> String {
    origin.to_string()
}

/// Rocket logs the request URI after request fairings run; by then the
/// token must be gone from it, while the guard still sees it.
#[rocket::async_test]
async fn query_tokens_are_redacted_before_logging() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let settings = figment(&idp, json!({"allow_query_token": true}));
    let rocket = test_app(settings).mount("/echo", routes![uri]);
    let client = rocket::local::asynchronous::Client::tracked(rocket).await.unwrap();
    let token = key.token(&good_claims(&idp));

    let seen = client
        .get(format!("/echo/uri?a=1&access_token={token}&b=2"))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap();
    assert_eq!(seen, "/echo/uri?a=1&access_token=redacted&b=2");

    // An encoded parameter name is read as a token, so it is redacted too.
    let encoded = format!("/echo/uri?access%5Ftoken={token}");
    let seen = client.get(encoded).dispatch().await.into_string().await.unwrap();
    assert_eq!(seen, "/echo/uri?access%5Ftoken=redacted");
    let response = client.get(format!("/api/private?access%5Ftoken={token}")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);

    let response = client.get(format!("/api/private?access_token={token}")).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
}
