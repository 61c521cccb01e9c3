//! The claims of a verified access token: the registered ones typed, the
//! scopes parsed once, and every claim available raw (parsed on first use:
//! most handlers never ask, and building a JSON tree per token is the
//! largest cost of verification after the signature).

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, MapAccess, SeqAccess};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use crate::settings::scope_claims::ScopeClaims;
use crate::verification::delegation::{self, Actor};
use crate::words::error::{Claim, TokenError};

/// A verified token's claims.
#[derive(Debug, Clone)]
pub struct Claims {
    /// `iss`: equal to the configured issuer.
    pub issuer: String,
    /// `sub`, when present.
    pub subject: Option<String>,
    /// `aud`, as a list even when the token has a single string.
    pub audience: Vec<String>,
    /// `exp`, seconds since the epoch (fractions truncated).
    pub expires_at: i64,
    /// `nbf`, when present.
    pub not_before: Option<i64>,
    /// `iat`, when present.
    pub issued_at: Option<i64>,
    /// `client_id`, when present (RFC 9068).
    pub client_id: Option<String>,
    /// `jti`, when present.
    pub token_id: Option<String>,
    scopes: Option<Vec<String>>,
    permissions: Option<Vec<String>>,
    /// `cnf.jkt`: the thumbprint of the key a DPoP-bound token is bound to.
    jkt: Option<String>,
    /// `cnf.x5t#S256`: the thumbprint of a certificate-bound token's
    /// client certificate (RFC 8705 §3.1).
    x5t_s256: Option<String>,
    /// `act`: the delegation chain, current actor first.
    actors: Vec<Actor>,
    org_id: Option<String>,
    org_name: Option<String>,
    azp: Option<String>,
    /// The last instant (seconds since the epoch) the verifier accepts it.
    valid_until: f64,
    payload: Box<str>,
    raw: OnceLock<Map<String, Value>>,
    /// The token these claims came from, exactly as sent: set by the
    /// verifier, and shared by every request that reuses the token (a
    /// cache hit costs no copy of it).
    token: Box<str>,
}

impl Claims {
    /// The granted scopes, from the `scope` claim (a space-delimited string,
    /// or an array of strings); `None` when the token has no `scope` claim.
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.as_ref().is_some_and(|scopes| scopes.iter().any(|s| s == scope))
    }

    /// Auth0 RBAC's `permissions` claim, when present.
    pub fn permissions(&self) -> Option<&[String]> {
        self.permissions.as_deref()
    }

    /// Whether `permission` is in the `permissions` claim.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.as_ref().is_some_and(|all| all.iter().any(|p| p == permission))
    }

    /// Who acts for the subject (RFC 8693 `act`): the current actor of a
    /// delegated token, `None` when the subject acts itself.
    ///
    /// ```rust
    /// # use rocket_oauth2_jwt_bearer::BearerToken;
    /// #[rocket::get("/audit")]
    /// fn audit(token: BearerToken) -> String {
    ///     let claims = token.claims();
    ///     match claims.actor() {
    ///         Some(actor) => format!("{} for {:?}", actor.subject, claims.subject),
    ///         None => format!("{:?}", claims.subject),
    ///     }
    /// }
    /// ```
    pub fn actor(&self) -> Option<&Actor> {
        self.actors.first()
    }

    /// The whole delegation chain, current actor first and the one who
    /// first delegated last; empty for a token that isn't delegated. At
    /// most [`MAX_ACTORS`](crate::MAX_ACTORS) long.
    pub fn delegation_chain(&self) -> &[Actor] {
        &self.actors
    }

    /// Auth0's `org_id`, when present.
    pub fn org_id(&self) -> Option<&str> {
        self.org_id.as_deref()
    }

    /// Auth0's `org_name`, when present.
    pub fn org_name(&self) -> Option<&str> {
        self.org_name.as_deref()
    }

    /// The client the token was issued to: `client_id` (RFC 9068), else
    /// `azp`.
    pub fn client(&self) -> Option<&str> {
        self.client_id.as_deref().or(self.azp.as_deref())
    }

    /// `cnf.jkt` (RFC 9449 §6): the SHA-256 thumbprint of the key this
    /// token is bound to, when it is a DPoP-bound token. Such a token is
    /// accepted only with a proof signed by that key.
    pub fn jkt(&self) -> Option<&str> {
        self.jkt.as_deref()
    }

    /// `cnf.x5t#S256` (RFC 8705 §3.1): the base64url SHA-256 of the DER of
    /// the client certificate this token is bound to, when it is a
    /// certificate-bound token. Such a token is accepted only over a
    /// connection presenting that certificate.
    pub fn x5t_s256(&self) -> Option<&str> {
        self.x5t_s256.as_deref()
    }

    /// Until when (seconds since the epoch) the verifier accepts these
    /// claims: `exp` (and `iat + max_token_age`) plus the clock tolerance.
    pub fn valid_until(&self) -> f64 {
        self.valid_until
    }

    /// The token these claims were verified from, as sent.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// These claims, as verified from `token`.
    pub(crate) fn with_token(mut self, token: &str) -> Self {
        self.token = token.into();
        self
    }

    /// Every claim of the token, as sent.
    pub fn raw(&self) -> &Map<String, Value> {
        // Can't fail: the payload was validated as this map before it was
        // accepted (see `Registered`).
        self.raw.get_or_init(|| serde_json::from_str(&self.payload).unwrap_or_default())
    }

    /// The bytes these claims hold on the heap, roughly: the payload and
    /// the strings parsed from it (not the raw map, built only on demand).
    pub(crate) fn heap_size(&self) -> usize {
        let strings = |list: &Option<Vec<String>>| {
            list.as_ref().map_or(0, |l| l.iter().map(|s| s.len() + 24).sum::<usize>())
        };
        let text = |text: &Option<String>| text.as_ref().map_or(0, String::len);
        self.payload.len()
            + self.token.len()
            + self.issuer.len()
            + self.audience.iter().map(|a| a.len() + 24).sum::<usize>()
            + text(&self.subject)
            + text(&self.client_id)
            + text(&self.token_id)
            + text(&self.jkt)
            + text(&self.x5t_s256)
            + strings(&self.scopes)
            + strings(&self.permissions)
    }

    /// One claim by name, e.g. `claims.get("https://example.com/roles")`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw().get(name)
    }

    /// The claims as your own type: the registered ones checked here, the
    /// custom ones typed as you declare them. Fails only when the payload
    /// doesn't fit `T` (a claim of the wrong type, a required one missing).
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::{AuthError, BearerToken};
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize)]
    /// struct MyClaims {
    ///     sub: String,
    ///     #[serde(rename = "https://example.com/roles", default)]
    ///     roles: Vec<String>,
    /// }
    ///
    /// #[rocket::get("/roles")]
    /// fn roles(token: BearerToken) -> Result<String, AuthError> {
    ///     let mine: MyClaims = token
    ///         .claims()
    ///         .deserialize()
    ///         .map_err(|_| AuthError::claim_check("Unexpected custom claims"))?;
    ///     Ok(format!("{}: {}", mine.sub, mine.roles.join(", ")))
    /// }
    /// ```
    pub fn deserialize<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }
}

/// The token's payload exactly as sent (the Express library's
/// `req.auth.payload`): every claim, registered or not.
///
/// ```rust
/// # use rocket_oauth2_jwt_bearer::BearerToken;
/// use rocket::serde::json::Json;
///
/// #[rocket::get("/claims")]
/// fn claims(token: BearerToken) -> Json<rocket_oauth2_jwt_bearer::Claims> {
///     Json(token.claims().clone())
/// }
/// ```
impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.payload == other.payload
    }
}

/// The registered claims, each kept as its raw JSON text until checked, so
/// that a wrong type is reported for that claim. Other claims are skipped.
///
/// Before this is read, [`ValidClaimsSet`] checks every claim, fully: RFC 7519 §4
/// wants unique claim names, and a handler reading [`Claims::raw`] must see
/// every claim the token has. serde's `IgnoredAny` skips a value without
/// decoding its strings (a lone surrogate passes) or counting its depth,
/// and the claims map built on first use would then come out empty for a
/// token that was accepted — a handler checking a claim's absence would
/// fail open. [`Valid`] fails exactly where building the map would, without
/// allocating.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(default, borrow, deserialize_with = "raw")]
    iss: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    aud: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    exp: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    nbf: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    iat: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    sub: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    client_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    jti: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    scope: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    scp: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    permissions: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    cnf: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    act: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    org_id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    org_name: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "raw")]
    azp: Option<&'a RawValue>,
}

/// Present means `Some`, even for `null` (which `Option` would map to `None`).
fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The whole claims set checked as the claims map would be built from it,
/// in one walk from the top (so nesting is counted as the map counts it):
/// unique names, every value one `serde_json::Value` can hold.
struct ValidClaimsSet;

impl<'de> Deserialize<'de> for ValidClaimsSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = ValidClaimsSet;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JWT claims set (a JSON object)")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ValidClaimsSet, M::Error> {
                let mut names: Vec<Name<'de>> = Vec::new();
                while let Some(name) = map.next_key::<Name<'de>>()? {
                    if names.contains(&name) {
                        return Err(de::Error::custom("repeated claim"));
                    }
                    map.next_value::<Valid>()?;
                    names.push(name);
                }
                Ok(ValidClaimsSet)
            }
        }

        d.deserialize_map(Visitor)
    }
}

/// A claim name: borrowed from the payload unless it holds escapes.
enum Name<'a> {
    Borrowed(&'a str),
    Decoded(String),
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Borrowed(name) => name,
            Name::Decoded(name) => name,
        }
    }
}

/// Names are equal as decoded: `"x"` and `"\u0078"` are one name.
impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a claim name")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name::Borrowed(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name::Decoded(v.to_owned()))
            }
        }

        d.deserialize_str(Visitor)
    }
}

/// Any JSON value that `serde_json::Value` can hold, checked without
/// being built: strings decoded (so lone surrogates fail), nesting counted
/// (so serde_json's depth limit applies), numbers in range.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Valid;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_bool<E>(self, _: bool) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_str<E>(self, _: &str) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_unit<E>(self) -> Result<Valid, E> {
                Ok(Valid)
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Valid, S::Error> {
                while seq.next_element::<Valid>()?.is_some() {}
                Ok(Valid)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Valid, M::Error> {
                while map.next_entry::<Valid, Valid>()?.is_some() {}
                Ok(Valid)
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// A string, or an array of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum Strings {
    One(String),
    Many(Vec<String>),
}

/// The claim checks, with the verifier's settings and the current time.
pub struct ClaimRules<'a> {
    /// The exact `iss` required.
    pub issuer: &'a str,
    /// Accepted `aud` values (any of).
    pub audiences: &'a [String],
    /// Clock skew allowed, in seconds.
    pub clock_tolerance: f64,
    /// Now, in seconds since the epoch.
    pub now: f64,
    /// Oldest accepted token, in seconds since `iat`.
    pub max_token_age: Option<f64>,
    /// RFC 9068: `sub`, `iat`, `jti`, `client_id` required too.
    pub strict: bool,
    /// Which claims grant scopes.
    pub scope_claims: ScopeClaims,
}

impl ClaimRules<'_> {
    /// Validates the claims set `payload` (JSON text) and types its
    /// registered claims.
    ///
    /// Each rule is checked exactly (RFC 7519 §4.1; RFC 8725 §3.8, §3.9):
    /// - `iss` is a string equal to the issuer (an array is refused);
    /// - `aud` is a string or an array with one of the audiences;
    /// - `exp` is required and numeric, valid while `now < exp + tolerance`;
    /// - `nbf`, if present, is numeric and `nbf <= now + tolerance`;
    /// - `iat`, if present, is numeric; `sub`, `client_id`, `jti`, if
    ///   present, are strings;
    /// - with `max_token_age`, `iat` is required, not in the future and no
    ///   older than the limit (both with the tolerance);
    /// - in strict mode (RFC 9068 §2.2) `sub`, `iat`, `jti`, `client_id` are
    ///   required as well;
    /// - a `cnf` claim (RFC 7800) is an object with exactly one member; a
    ///   `jkt` (DPoP, RFC 9449 §6) is kept for the guard to check against
    ///   the proof, and any other confirmation method is refused: this
    ///   service can't check it, and accepting it would turn a stolen
    ///   sender-constrained token back into a bearer token.
    pub fn check(&self, payload: String) -> Result<Claims, TokenError> {
        // A derived `Deserialize` also accepts a JSON array, field by field.
        if payload.trim_start().as_bytes().first() != Some(&b'{') {
            return Err(TokenError::MalformedClaims);
        }
        serde_json::from_str::<ValidClaimsSet>(&payload)
            .map_err(|_| TokenError::MalformedClaims)?;
        let registered: Registered<'_> =
            serde_json::from_str(&payload).map_err(|_| TokenError::MalformedClaims)?;

        let issuer =
            string(registered.iss, Claim::Iss)?.ok_or(TokenError::MissingClaim(Claim::Iss))?;
        if issuer != self.issuer {
            return Err(TokenError::Issuer);
        }

        let audience = match strings(registered.aud, Claim::Aud)? {
            None => return Err(TokenError::MissingClaim(Claim::Aud)),
            Some(Strings::One(aud)) => vec![aud],
            Some(Strings::Many(auds)) => auds,
        };
        if !audience.iter().any(|aud| self.audiences.contains(aud)) {
            return Err(TokenError::Audience);
        }

        let exp =
            number(registered.exp, Claim::Exp)?.ok_or(TokenError::MissingClaim(Claim::Exp))?;
        if self.now >= exp + self.clock_tolerance {
            return Err(TokenError::Expired);
        }
        let nbf = number(registered.nbf, Claim::Nbf)?;
        if nbf.is_some_and(|nbf| nbf > self.now + self.clock_tolerance) {
            return Err(TokenError::NotYetValid);
        }
        let iat = number(registered.iat, Claim::Iat)?;
        let mut valid_until = exp + self.clock_tolerance;
        if let Some(max_age) = self.max_token_age {
            let iat = iat.ok_or(TokenError::MissingClaim(Claim::Iat))?;
            if iat > self.now + self.clock_tolerance {
                return Err(TokenError::IssuedInTheFuture);
            }
            if self.now - iat > max_age + self.clock_tolerance {
                return Err(TokenError::TooOld);
            }
            valid_until = valid_until.min(iat + max_age + self.clock_tolerance);
        }

        let confirmation = registered.cnf.map(confirmation).transpose()?;
        let (jkt, x5t_s256) = match confirmation {
            None => (None, None),
            Some(Confirmation::Jkt(jkt)) => (Some(jkt), None),
            Some(Confirmation::X5tS256(x5t)) => (None, Some(x5t)),
        };

        let subject = string(registered.sub, Claim::Sub)?;
        let actors = delegation::actors(registered.act)?;
        let org_id = string(registered.org_id, Claim::OrgId)?;
        let org_name = string(registered.org_name, Claim::OrgName)?;
        let azp = string(registered.azp, Claim::Azp)?;
        let client_id = string(registered.client_id, Claim::ClientId)?;
        let token_id = string(registered.jti, Claim::Jti)?;
        if self.strict {
            let required = [
                (subject.is_some(), Claim::Sub),
                (iat.is_some(), Claim::Iat),
                (token_id.is_some(), Claim::Jti),
                (client_id.is_some(), Claim::ClientId),
            ];
            if let Some((_, claim)) = required.iter().find(|(present, _)| !present) {
                return Err(TokenError::MissingClaim(*claim));
            }
        }

        let permissions = scope_list(registered.permissions, Claim::Permissions)?;
        let sources = [
            (self.scope_claims.scope, scope_list(registered.scope, Claim::Scope)?),
            (self.scope_claims.scp, scope_list(registered.scp, Claim::Scp)?),
            (self.scope_claims.permissions, permissions.clone()),
        ];
        let scopes = sources.into_iter().filter(|(used, _)| *used).fold(None, |all, (_, some)| {
            match (all, some) {
                (None, some) => some,
                (Some(all), None) => Some(all),
                (Some(mut all), Some(more)) => {
                    all.extend(more);
                    Some(all)
                }
            }
        });

        Ok(Claims {
            issuer,
            subject,
            client_id,
            token_id,
            audience,
            expires_at: exp as i64,
            not_before: nbf.map(|t| t as i64),
            issued_at: iat.map(|t| t as i64),
            scopes,
            permissions,
            jkt,
            x5t_s256,
            actors,
            org_id,
            org_name,
            azp,
            valid_until,
            payload: payload.into_boxed_str(),
            raw: OnceLock::new(),
            token: Box::default(),
        })
    }
}

/// What a sender-constrained token is bound to.
enum Confirmation {
    /// A DPoP key's thumbprint (RFC 9449 §6).
    Jkt(String),
    /// A client certificate's thumbprint (RFC 8705 §3.1).
    X5tS256(String),
}

/// `cnf` (RFC 7800 §3.1: one proof-of-possession key): a DPoP key's `jkt`
/// or a certificate's `x5t#S256`; any other method is refused as
/// uncheckable.
fn confirmation(raw: &RawValue) -> Result<Confirmation, TokenError> {
    let invalid = TokenError::InvalidClaim(Claim::Cnf);
    let members: Map<String, Value> = serde_json::from_str(raw.get()).map_err(|_| invalid)?;
    let Some((name, value)) = members.iter().next().filter(|_| members.len() == 1) else {
        return Err(invalid);
    };
    match (name.as_str(), value) {
        ("jkt", Value::String(jkt)) => Ok(Confirmation::Jkt(jkt.clone())),
        ("x5t#S256", Value::String(x5t)) => Ok(Confirmation::X5tS256(x5t.clone())),
        ("jkt" | "x5t#S256", _) => Err(invalid),
        _ => Err(TokenError::SenderConstrained),
    }
}

/// A scope-like claim: a space-delimited string (RFC 8693 §4.2, RFC 9068)
/// or an array of strings (Auth0 `permissions`, Okta and Azure `scp`).
fn scope_list(raw: Option<&RawValue>, claim: Claim) -> Result<Option<Vec<String>>, TokenError> {
    Ok(strings(raw, claim)?.map(|value| match value {
        Strings::One(list) => list.split(' ').filter(|s| !s.is_empty()).map(String::from).collect(),
        Strings::Many(items) => items,
    }))
}

fn string(raw: Option<&RawValue>, claim: Claim) -> Result<Option<String>, TokenError> {
    raw.map(|raw| serde_json::from_str(raw.get()).map_err(|_| TokenError::InvalidClaim(claim)))
        .transpose()
}

fn strings(raw: Option<&RawValue>, claim: Claim) -> Result<Option<Strings>, TokenError> {
    raw.map(|raw| serde_json::from_str(raw.get()).map_err(|_| TokenError::InvalidClaim(claim)))
        .transpose()
}

/// A NumericDate (RFC 7519 §2): a JSON number, possibly with a fraction.
fn number(raw: Option<&RawValue>, claim: Claim) -> Result<Option<f64>, TokenError> {
    raw.map(|raw| {
        serde_json::from_str::<f64>(raw.get()).map_err(|_| TokenError::InvalidClaim(claim))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: f64 = 1_700_000_000.0;

    fn rules() -> ClaimRules<'static> {
        static AUDIENCES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let audiences = AUDIENCES.get_or_init(|| vec!["api".into(), "other".into()]);
        ClaimRules {
            issuer: "https://issuer/",
            audiences,
            clock_tolerance: 5.0,
            now: NOW,
            max_token_age: None,
            strict: false,
            scope_claims: ScopeClaims::default(),
        }
    }

    fn check(changes: Value) -> Result<Claims, TokenError> {
        let mut claims = json!({"iss": "https://issuer/", "aud": "api", "exp": NOW + 60.0});
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        rules().check(claims.to_string())
    }

    #[test]
    fn exp_boundary_includes_the_tolerance() {
        assert!(check(json!({"exp": NOW - 4.0})).is_ok());
        assert!(check(json!({"exp": NOW - 4.999})).is_ok());
        assert_eq!(check(json!({"exp": NOW - 5.0})).unwrap_err(), TokenError::Expired);
        assert_eq!(check(json!({"exp": null})).unwrap_err(), TokenError::MissingClaim(Claim::Exp));
        for bad in [json!("9999999999"), json!(true), json!([1]), json!({})] {
            assert_eq!(
                check(json!({"exp": bad})).unwrap_err(),
                TokenError::InvalidClaim(Claim::Exp)
            );
        }
    }

    #[test]
    fn nbf_boundary_includes_the_tolerance() {
        assert!(check(json!({"nbf": NOW + 5.0})).is_ok());
        assert_eq!(check(json!({"nbf": NOW + 5.001})).unwrap_err(), TokenError::NotYetValid);
        assert_eq!(check(json!({"nbf": "0"})).unwrap_err(), TokenError::InvalidClaim(Claim::Nbf));
        assert_eq!(check(json!({"iat": "0"})).unwrap_err(), TokenError::InvalidClaim(Claim::Iat));
    }

    #[test]
    fn issuer_is_an_exact_string() {
        assert_eq!(check(json!({"iss": "https://issuer"})).unwrap_err(), TokenError::Issuer);
        assert_eq!(check(json!({"iss": "https://ISSUER/"})).unwrap_err(), TokenError::Issuer);
        assert_eq!(
            check(json!({"iss": ["https://issuer/"]})).unwrap_err(),
            TokenError::InvalidClaim(Claim::Iss)
        );
        assert_eq!(check(json!({"iss": null})).unwrap_err(), TokenError::MissingClaim(Claim::Iss));
    }

    #[test]
    fn audience_is_any_of() {
        assert!(check(json!({"aud": ["x", "other"]})).is_ok());
        assert_eq!(check(json!({"aud": ["x", "y"]})).unwrap_err(), TokenError::Audience);
        assert_eq!(check(json!({"aud": "API"})).unwrap_err(), TokenError::Audience);
        assert_eq!(check(json!({"aud": []})).unwrap_err(), TokenError::Audience);
        assert_eq!(
            check(json!({"aud": ["api", 1]})).unwrap_err(),
            TokenError::InvalidClaim(Claim::Aud)
        );
        assert_eq!(check(json!({"aud": null})).unwrap_err(), TokenError::MissingClaim(Claim::Aud));
    }

    #[test]
    fn optional_string_claims_are_typed() {
        for claim in [Claim::Sub, Claim::ClientId, Claim::Jti] {
            let error = check(json!({ claim.name(): 5 })).unwrap_err();
            assert_eq!(error, TokenError::InvalidClaim(claim));
        }
        let claims = check(json!({"sub": "u", "client_id": "c", "jti": "j"})).unwrap();
        assert_eq!(claims.subject.as_deref(), Some("u"));
        assert_eq!(claims.client_id.as_deref(), Some("c"));
    }

    #[test]
    fn repeated_or_non_object_claims_sets_are_malformed() {
        let exp = NOW + 60.0;
        for payload in [
            format!(r#"{{"iss":"https://issuer/","iss":"https://evil/","aud":"api","exp":{exp}}}"#),
            format!(r#"["https://issuer/","api",{exp}]"#),
            "null".to_owned(),
        ] {
            assert_eq!(
                rules().check(payload.clone()).unwrap_err(),
                TokenError::MalformedClaims,
                "{payload}"
            );
        }
        let claims = rules()
            .check(format!(
                r#"{{"iss":"https://issuer/","aud":"api","exp":{exp},"x":{{"y":[1]}}}}"#
            ))
            .unwrap();
        assert_eq!(claims.get("x").unwrap()["y"][0], 1, "the raw claims are all there");
        assert_eq!(check(json!({"iss": "https://issuer/"})).unwrap().raw().len(), 3);
    }

    #[test]
    fn a_claims_set_that_cannot_be_fully_represented_is_refused() {
        let exp = NOW + 60.0;
        let base = format!(r#""iss":"https://issuer/","aud":"api","exp":{exp}"#);
        let deep = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        for extra in [
            r#""x":"\ud800""#.to_owned(),
            r#""x":{"y":["ok","\udfff tail"]}"#.to_owned(),
            r#""sub":"\ud83d""#.to_owned(),
            format!(r#""x":{}"#, deep(200)),
            format!(r#""cnf":{}"#, deep(200)),
            // 128 levels inside a registered claim are 129 from the top.
            format!(r#""aud":{}"#, deep(128)),
            format!(r#""x":{}"#, deep(128)),
            r#""x":1,"x":2"#.to_owned(),
            r#""x":1,"\u0078":2"#.to_owned(),
            r#""i\u0073s":"https://evil/""#.to_owned(),
            r#""x":1e400"#.to_owned(),
        ] {
            let payload = format!("{{{base},{extra}}}");
            assert_eq!(
                rules().check(payload.clone()).unwrap_err(),
                TokenError::MalformedClaims,
                "{payload}"
            );
        }

        // Accepted exactly when the claims map can be built, at every depth.
        for levels in 120..135 {
            for name in ["x", "cnf"] {
                let payload = format!(r#"{{{base},"{name}":{{"a":{}}}}}"#, deep(levels));
                let map = serde_json::from_str::<Map<String, Value>>(&payload);
                let valid = serde_json::from_str::<ValidClaimsSet>(&payload);
                assert_eq!(valid.is_ok(), map.is_ok(), "{name} at {levels}");
            }
        }

        // What is accepted is all in the map, however it is spelled.
        let payload = format!(r#"{{{base},"x":{},"e":"\ud83d\ude00","\u0079":null}}"#, deep(100));
        let claims = rules().check(payload).unwrap();
        assert_eq!(claims.raw().len(), 6);
        assert_eq!(claims.get("e").unwrap(), "\u{1f600}");
        assert!(claims.get("y").unwrap().is_null());
        assert!(claims.get("x").unwrap().is_array());
    }

    #[test]
    fn dpop_bindings_are_kept_and_other_confirmations_refused() {
        let claims = check(json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}));
        assert_eq!(claims.unwrap().jkt(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert_eq!(check(json!({})).unwrap().jkt(), None);

        let refused = |cnf: Value| check(json!({ "cnf": cnf })).unwrap_err();
        let bound =
            check(json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}));
        let bound = bound.unwrap();
        assert_eq!(bound.x5t_s256(), Some("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"));
        assert_eq!(bound.jkt(), None);
        assert_eq!(refused(json!({"x5t#S256": 1})), TokenError::InvalidClaim(Claim::Cnf));
        assert_eq!(refused(json!({"jwk": {"kty": "EC"}})), TokenError::SenderConstrained);
        for bad in [
            json!({}),
            json!({"jkt": 1}),
            json!({"jkt": null}),
            json!({"jkt": "a", "x5t#S256": "b"}),
            json!("jkt"),
            json!(["jkt"]),
        ] {
            assert_eq!(refused(bad.clone()), TokenError::InvalidClaim(Claim::Cnf), "{bad}");
        }
    }

    #[test]
    fn scopes_are_a_string_or_an_array() {
        let claims = check(json!({"scope": "read:messages  write:messages"})).unwrap();
        assert_eq!(claims.scopes().unwrap(), ["read:messages", "write:messages"]);
        assert!(claims.has_scope("read:messages"));
        assert!(!claims.has_scope("read"));

        let claims = check(json!({"scope": ["read:messages"]})).unwrap();
        assert!(claims.has_scope("read:messages"));
        assert!(check(json!({})).unwrap().scopes().is_none());
        assert!(check(json!({"scope": ""})).unwrap().scopes().unwrap().is_empty());
        assert_eq!(check(json!({"scope": 1})).unwrap_err(), TokenError::InvalidClaim(Claim::Scope));
    }
}
