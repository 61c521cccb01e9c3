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

async function getDevToken() {
  const scopes = ["scope-read", "scope-write"].map($).filter((box) => box.checked).map((box) => box.value);
  scopes.push(...$("scope-extra").value.split(/\s+/).filter(Boolean));
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
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

async function call(path) {
  const headers = {};
  const token = $("token").value.trim();
  const sending = $("send-token").checked && token !== "";
  if (sending) headers.Authorization = `Bearer ${token}`;
  $("request").textContent = `GET ${path}${sending ? " with the token" : " without a token"}`;
  $("status").textContent = "…";

  const response = await fetch(path, { headers });
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
  for (const button of document.querySelectorAll("button[data-path]")) {
    button.addEventListener("click", guarded(() => call(button.dataset.path)));
  }
  detectDevIssuer();
  showClaims();
});
