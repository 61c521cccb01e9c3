//! Where settings come from: code defaults → Rocket.toml (with profiles) →
//! `ROCKET_*` → the Express sample's variable names. Each case runs in a
//! figment `Jail`: its own working directory and environment.

// `Jail::expect_with` closures must return `figment::Error`, which is large.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use auth0_rocket_api::config::{DEFAULT_PORT, figment};
use figment::Jail;
use rocket_oauth2_jwt_bearer::Settings;

const TOML: &str = r#"
    [default]
    port = 4000

    [default.auth]
    issuer_base_url = "https://from-toml.example.test/"
    audience = "toml-audience"
    clock_tolerance = 7

    [debug.auth]
    jwks_cooldown = 1.5

    [release.auth]
    jwks_cooldown = 60
"#;

fn settings() -> Settings {
    Settings::from_figment(&figment()).expect("valid settings")
}

#[test]
fn code_defaults_apply_without_rocket_toml() {
    Jail::expect_with(|jail| {
        let config: rocket::Config = figment().extract()?;
        assert_eq!(config.port, DEFAULT_PORT);
        assert_eq!(config.address.to_string(), "127.0.0.1");

        jail.set_env("ROCKET_PROFILE", "release");
        let config: rocket::Config = figment().extract()?;
        assert_eq!((config.port, config.address.to_string().as_str()), (3010, "0.0.0.0"));

        // With no issuer anywhere, the message says what to set.
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("ISSUER_BASE_URL"), "{error}");
        Ok(())
    });
}

#[test]
fn rocket_toml_and_its_profiles() {
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", TOML)?;
        let config: rocket::Config = figment().extract()?;
        assert_eq!(config.port, 4000);
        let auth = settings();
        assert_eq!(auth.issuer_base_url(), Some("https://from-toml.example.test/"));
        assert_eq!(auth.audiences(), ["toml-audience"]);
        assert_eq!(auth.clock_tolerance(), Duration::from_secs(7));
        assert_eq!(auth.jwks_cooldown(), Duration::from_millis(1500));
        assert_eq!(auth.jwks_cache_max_age(), Duration::from_secs(600), "code default");

        jail.set_env("ROCKET_PROFILE", "release");
        assert_eq!(settings().jwks_cooldown(), Duration::from_secs(60));
        Ok(())
    });
}

#[test]
fn a_default_address_in_rocket_toml_beats_the_code_default() {
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", "[default]\naddress = \"127.0.0.2\"")?;
        jail.set_env("ROCKET_PROFILE", "release");
        let config: rocket::Config = figment().extract()?;
        assert_eq!(config.address.to_string(), "127.0.0.2");
        Ok(())
    });
}

#[test]
fn environment_overrides_rocket_toml() {
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", TOML)?;

        jail.set_env("ROCKET_AUTH", r#"{audience="rocket-auth",jwks_timeout=0.5}"#);
        jail.set_env("ROCKET_PORT", "4321");
        let auth = settings();
        assert_eq!(auth.audiences(), ["rocket-auth"]);
        assert_eq!(auth.jwks_timeout(), Duration::from_millis(500));
        assert_eq!(auth.clock_tolerance(), Duration::from_secs(7), "untouched keys stay");
        assert_eq!(figment().extract::<rocket::Config>()?.port, 4321);

        // The named variables win over ROCKET_AUTH, read as raw strings.
        jail.set_env("AUDIENCE", "12345");
        jail.set_env("ISSUER_BASE_URL", "http://127.0.0.1:9999");
        let auth = settings();
        assert_eq!(auth.audiences(), ["12345"]);
        assert_eq!(auth.issuer_base_url(), Some("http://127.0.0.1:9999"));

        jail.set_env("AUDIENCE", "\"quoted\"");
        assert_eq!(settings().audiences(), ["\"quoted\""]);

        jail.set_env("ISSUER", "https://custom.example.test/");
        jail.set_env("JWKS_URI", "https://custom.example.test/keys");
        let auth = settings();
        assert_eq!(auth.issuer(), Some("https://custom.example.test/"));
        assert_eq!(auth.jwks_uri(), Some("https://custom.example.test/keys"));
        Ok(())
    });
}

#[test]
fn empty_named_variables_are_unset() {
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", TOML)?;
        jail.set_env("AUDIENCE", "");
        assert_eq!(settings().audiences(), ["toml-audience"]);
        Ok(())
    });
}

#[test]
fn bad_settings_name_themselves() {
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", TOML)?;

        jail.set_env("ISSUER_BASE_URL", "http://idp.example.test/");
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.starts_with("invalid setting `auth.issuer_base_url`"), "{error}");
        assert!(error.contains("(from environment variable `ISSUER_BASE_URL`)"), "{error}");

        jail.set_env("ISSUER_BASE_URL", "not a url");
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("`auth.issuer_base_url`"), "{error}");

        jail.set_env("ISSUER_BASE_URL", "https://ok.example.test/");
        jail.set_env("ROCKET_AUTH", "{clock_tolerance=\"soon\"}");
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("`auth.clock_tolerance` (from ROCKET_AUTH)"), "{error}");

        jail.set_env("ROCKET_AUTH", "{}");
        jail.set_env("ROCKET_PROFILE", "release");
        jail.create_file("Rocket.toml", "[release.auth]\njwks_timeout = 0\naudience = \"a\"")?;
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("`auth.jwks_timeout` (from Rocket.toml [release.auth])"), "{error}");
        Ok(())
    });
}

#[test]
fn a_stray_secret_variable_is_ignored_with_a_warning() {
    const SECRET: &str = "a-test-only-secret-that-is-long-enough-for-hs256";
    Jail::expect_with(|jail| {
        jail.create_file("Rocket.toml", TOML)?;

        // RS256 deployment with a leftover SECRET: the JWKS stays in charge.
        jail.set_env("SECRET", SECRET);
        let auth = settings();
        assert!(!auth.uses_secret());
        assert_eq!(auth.warnings().len(), 1);
        assert!(auth.warnings()[0].contains("ignoring SECRET"), "{:?}", auth.warnings());
        assert!(!auth.warnings()[0].contains(SECRET));

        // With an HS algorithm, SECRET is the point.
        jail.set_env("TOKEN_SIGNING_ALG", "HS256");
        jail.set_env("ISSUER", "https://issuer.example.test/");
        let auth = settings();
        assert!(auth.uses_secret());
        assert!(auth.warnings().is_empty());
        Ok(())
    });
}

#[test]
fn a_configured_secret_without_an_hs_algorithm_is_an_error() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "Rocket.toml",
            "[default.auth]\nissuer = \"https://i.test/\"\naudience = \"a\"\n\
             secret = \"a-test-only-secret-that-is-long-enough-for-hs256\"",
        )?;
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("`auth.secret`") && error.contains("token_signing_alg"), "{error}");
        Ok(())
    });
}

#[test]
fn issuers_and_a_single_issuer_setting_together_name_both_and_their_origins() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "Rocket.toml",
            r#"
            [default.auth]
            audience = "a"
            issuers = ["https://one.example.test/", "https://two.example.test/"]
            "#,
        )?;
        let settings = settings();
        assert_eq!(settings.issuers().len(), 2);

        jail.set_env("ISSUER_BASE_URL", "https://stray.example.test/");
        let error = Settings::from_figment(&figment()).unwrap_err().to_string();
        assert!(error.contains("`auth.issuers` (from Rocket.toml [default.auth])"), "{error}");
        assert!(
            error.contains("`auth.issuer_base_url` (from environment variable `ISSUER_BASE_URL`)"),
            "{error}"
        );
        Ok(())
    });
}

/// Every `auth` setting, given a bad value in `Rocket.toml`'s
/// `[release.auth]`: the error names the setting, where its value came
/// from, and what is wrong. (Tables: `[release.auth.dpop]`, `.mtls`.)
#[test]
fn every_setting_s_bad_value_names_the_setting_and_where_it_came_from() {
    let cases: &[(&str, &str, &str)] = &[
        ("", "issuer_base_url = \"ftp://x.example.test/\"", "issuer_base_url"),
        ("", "audience = 5", "audience"),
        ("", "issuer = 5", "issuer"),
        ("", "jwks_uri = \"ftp://x.example.test/jwks\"", "jwks_uri"),
        ("", "algorithms = [\"RS257\"]", "algorithms"),
        ("", "clock_tolerance = -1", "clock_tolerance"),
        ("", "jwks_cache_max_age = -1", "jwks_cache_max_age"),
        ("", "jwks_cooldown = \"soon\"", "jwks_cooldown"),
        ("", "jwks_timeout = 0", "jwks_timeout"),
        ("", "jwks_launch_retry = -1", "jwks_launch_retry"),
        ("", "allow_query_token = \"yes\"", "allow_query_token"),
        ("", "token_cache_capacity = -1", "token_cache_capacity"),
        ("", "token_cache_max_bytes = -1", "token_cache_max_bytes"),
        ("", "max_token_size = -1", "max_token_size"),
        ("", "secret = 5", "secret"),
        ("", "token_signing_alg = \"RS257\"", "token_signing_alg"),
        ("", "public_key = 5", "public_key"),
        ("", "max_token_age = -1", "max_token_age"),
        ("", "strict = \"yes\"", "strict"),
        ("", "scope_claims = [\"roles\"]", "scope_claims"),
        ("", "dev_issuer = \"yes\"", "dev_issuer"),
        ("", "resource = \"ftp://api.example.test\"", "resource"),
        ("", "scopes_supported = [5]", "scopes_supported"),
        ("", "resource_name = 5", "resource_name"),
        ("", "resource_documentation = 5", "resource_documentation"),
        ("", "require_keys_at_launch = \"yes\"", "require_keys_at_launch"),
        ("", "dynamic_issuers_max = -1", "dynamic_issuers_max"),
        ("", "dynamic_issuer_idle = -1", "dynamic_issuer_idle"),
        ("", "trusted_proxies = [\"10.0.0.0/40\"]", "trusted_proxies"),
        ("", "proxy_headers = \"x-real-ip\"", "proxy_headers"),
        ("", "unknown_setting = 1", "unknown_setting"),
        (".dpop", "mode = \"sometimes\"", "dpop.mode"),
        (".dpop", "iat_offset = 0", "dpop.iat_offset"),
        (".dpop", "iat_leeway = -1", "dpop.iat_leeway"),
        (".dpop", "algorithms = [\"HS256\"]", "dpop.algorithms"),
        (".dpop", "replay_cache_capacity = 0", "dpop.replay_cache_capacity"),
        (".dpop", "replay_quota = 0", "dpop.replay_quota"),
        (".dpop", "replay_store = \"http://x.example.test\"", "dpop.replay_store"),
        (".dpop", "replay_store_failure = \"panic\"", "dpop.replay_store_failure"),
        (".dpop", "nonce = \"yes\"", "dpop.nonce"),
        (".dpop", "nonce_secret = \"short\"", "dpop.nonce_secret"),
        (".dpop", "nonce_lifetime = 0", "dpop.nonce_lifetime"),
        (".dpop", "public_url = \"api.example.test\"", "dpop.public_url"),
        (".mtls", "mode = \"sometimes\"", "mtls.mode"),
        (".mtls", "proxy_header = \"X Bad\"", "mtls.proxy_header"),
    ];
    let mut wrong = Vec::new();
    for (table, line, setting) in cases {
        Jail::expect_with(|jail| {
            jail.set_env("ROCKET_PROFILE", "release");
            jail.create_file(
                "Rocket.toml",
                &format!(
                    "[default.auth]\nissuer_base_url = \"https://t.example.test/\"\naudience = \"a\"\n\
                     [release.auth{table}]\n{line}\n"
                ),
            )?;
            let error = match Settings::from_figment(&figment()) {
                Ok(_) => "accepted".to_owned(),
                Err(error) => error.to_string(),
            };
            let named = error.contains(&format!("`auth.{setting}`"));
            let placed = error.contains("(from Rocket.toml [release.auth])");
            if !(named && placed) {
                wrong.push(format!("{line}: {error}"));
            }
            Ok(())
        });
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
