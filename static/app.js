// API explorer: no framework, no build step. Every failure is shown in
// #errors; nothing fails silently.
"use strict";

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("errors");
  const line = document.createElement("p");
  line.textContent = message;
  box.appendChild(line);
  box.hidden = false;
}

window.addEventListener("error", (event) => showError(`Script error: ${event.message}`));
window.addEventListener("unhandledrejection", (event) =>
  showError(`Unexpected error: ${event.reason && event.reason.message ? event.reason.message : event.reason}`));

function base64UrlDecode(segment) {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new Error("not base64url");
  const padded = segment.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((segment.length + 3) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function showClaims() {
  const token = $("token").value.trim();
  const out = $("claims");
  if (!token) {
    out.textContent = "No token.";
    return;
  }
  const parts = token.split(".");
  if (parts.length !== 3) {
    out.textContent = `Not a JWT: expected 3 dot-separated parts, found ${parts.length}.`;
    return;
  }
  try {
    const header = JSON.parse(base64UrlDecode(parts[0]));
    const claims = JSON.parse(base64UrlDecode(parts[1]));
    const times = ["iat", "nbf", "exp"]
      .filter((k) => typeof claims[k] === "number")
      .map((k) => `${k}: ${new Date(claims[k] * 1000).toISOString()}`);
    out.textContent = `Header:\n${JSON.stringify(header, null, 2)}\n\nClaims:\n${JSON.stringify(claims, null, 2)}`
      + (times.length ? `\n\n${times.join("\n")}` : "");
  } catch (error) {
    out.textContent = `Could not decode the token: ${error.message}`;
  }
}

async function detectDevIssuer() {
  try {
    const response = await fetch("/.well-known/openid-configuration");
    const document = response.ok ? await response.json() : null;
    if (document && document.issuer) {
      $("dev-issuer-url").textContent = document.issuer;
      $("dev-issuer").hidden = false;
      return;
    }
  } catch (error) {
    showError(`Could not check for a development issuer: ${error.message}`);
  }
  $("no-dev-issuer").hidden = false;
}

// DPoP (RFC 9449): one ES256 key per page, made by WebCrypto with its
// private half not extractable; a fresh proof for every request.
let dpopKey = null;
let dpopNonce = null;

function base64UrlEncode(bytes) {
  const text = String.fromCharCode(...new Uint8Array(bytes));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = (text) => new TextEncoder().encode(text);

async function dpopKeyPair() {
  if (!dpopKey) {
    if (!window.crypto || !crypto.subtle) throw new Error("WebCrypto is unavailable (DPoP needs a secure context: https, localhost or 127.0.0.1)");
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    dpopKey = { privateKey: pair.privateKey, jwk: { kty, crv, x, y } };
  }
  return dpopKey;
}

// A proof for `method` `url` (query and fragment left out), with `ath`
// when it accompanies an access token and the server's nonce once known.
async function dpopProof(method, url, accessToken) {
  const key = await dpopKeyPair();
  const target = new URL(url, location.href);
  const header = { typ: "dpop+jwt", alg: "ES256", jwk: key.jwk };
  const claims = {
    jti: crypto.randomUUID(),
    htm: method,
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor(Date.now() / 1000),
  };
  if (accessToken) claims.ath = base64UrlEncode(await crypto.subtle.digest("SHA-256", utf8(accessToken)));
  if (dpopNonce) claims.nonce = dpopNonce;
  const input = `${base64UrlEncode(utf8(JSON.stringify(header)))}.${base64UrlEncode(utf8(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, utf8(input));
  $("proof").textContent = `Header:\n${JSON.stringify(header, null, 2)}\n\nClaims:\n${JSON.stringify(claims, null, 2)}`;
  return `${input}.${base64UrlEncode(signature)}`;
}

const usingDpop = () => $("use-dpop").checked;

function showScheme() {
  $("scheme-label").textContent = usingDpop() ? "Authorization: DPoP … (with a DPoP proof)" : "Authorization: Bearer …";
  $("dpop-note").hidden = !usingDpop();
}

async function getDevToken() {
  const scopes = ["scope-read", "scope-write"].map($).filter((box) => box.checked).map((box) => box.value);
  scopes.push(...$("scope-extra").value.split(/\s+/).filter(Boolean));
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  if (usingDpop()) headers.DPoP = await dpopProof("POST", "/dev/token", null);
  const response = await fetch("/dev/token", {
    method: "POST",
    headers,
    body: new URLSearchParams({ scope: scopes.join(" ") }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    showError(`The development issuer refused: ${response.status} ${body.message || ""}`);
    return;
  }
  $("token").value = body.access_token;
  showClaims();
}

async function send(path, token, sending) {
  const headers = {};
  if (sending && usingDpop()) {
    headers.Authorization = `DPoP ${token}`;
    headers.DPoP = await dpopProof("GET", path, token);
  } else if (sending) {
    headers.Authorization = `Bearer ${token}`;
    $("proof").textContent = "No proof.";
  }
  return fetch(path, { headers });
}

async function call(path) {
  const token = $("token").value.trim();
  const sending = $("send-token").checked && token !== "";
  const how = !sending ? " without a token" : usingDpop() ? " with the token and a DPoP proof" : " with the token";
  $("request").textContent = `GET ${path}${how}`;
  $("status").textContent = "…";

  let response = await send(path, token, sending);
  // RFC 9449 §9: a server that wants nonces says so once; retry once with it.
  const nonce = response.headers.get("DPoP-Nonce");
  if (nonce) dpopNonce = nonce;
  if (response.status === 401 && nonce && (response.headers.get("WWW-Authenticate") || "").includes("use_dpop_nonce")) {
    $("request").textContent += " (retried with the server's nonce)";
    response = await send(path, token, sending);
  }
  const text = await response.text();
  $("status").textContent = `${response.status} ${response.statusText}`;
  $("status").dataset.code = String(response.status);
  $("challenge").textContent = response.headers.get("WWW-Authenticate") || "(none)";
  try {
    $("body").textContent = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    $("body").textContent = text || "(empty)";
  }
}

function guarded(action) {
  return (event) => {
    Promise.resolve(action(event)).catch((error) => showError(error.message || String(error)));
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").addEventListener("input", showClaims);
  $("clear-token").addEventListener("click", () => {
    $("token").value = "";
    showClaims();
  });
  $("get-token").addEventListener("click", guarded(getDevToken));
  $("use-dpop").addEventListener("change", showScheme);
  for (const button of document.querySelectorAll("button[data-path]")) {
    button.addEventListener("click", guarded(() => call(button.dataset.path)));
  }
  detectDevIssuer();
  showClaims();
  showScheme();
});
