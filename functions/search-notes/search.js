// Talks to the stack's search domain (Amazon CloudSearch or Amazon
// OpenSearch Service) with requests signed by AWS Signature Version 4, using
// only what the Lambda Node.js runtime provides (node:crypto and fetch).
//
// The same file is in functions/index-notes and functions/search-notes (each
// function's folder is its whole package); a test keeps the two identical.
//
// The engine is SEARCH_ENGINE (`cloudsearch` or `opensearch`) when set, else
// read from the endpoint's host name: OpenSearch Service endpoints end in
// `.es.amazonaws.com` (or `.on.aws`), anything else is taken as CloudSearch.

const crypto = require("node:crypto");

function sha256Hex(data) {
  return crypto.createHash("sha256").update(data, "utf8").digest("hex");
}

function hmac(key, data) {
  return crypto.createHmac("sha256", key).update(data, "utf8").digest();
}

/// RFC 3986 percent-encoding, as Signature Version 4 wants it.
function encode(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/// The credentials Lambda gives the function's role.
function credentialsFromEnv(env = process.env) {
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
  };
}

/// Signs a request: returns the headers to send (the given ones, `host`,
/// `x-amz-date`, `x-amz-security-token` when there is a session token, and
/// `authorization`).
function sign({ method, url, service, region, body = "", headers = {}, credentials, now = new Date() }) {
  const u = new URL(url);
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const all = {};
  for (const [name, value] of Object.entries(headers)) {
    all[name.toLowerCase()] = String(value);
  }
  all.host = u.host;
  all["x-amz-date"] = amzDate;
  if (credentials.sessionToken) {
    all["x-amz-security-token"] = credentials.sessionToken;
  }
  const names = Object.keys(all).sort();
  const canonicalHeaders = names
    .map((n) => `${n}:${all[n].trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const signedHeaders = names.join(";");
  const path = u.pathname
    .split("/")
    .map((segment) => encode(decodeURIComponent(segment)))
    .join("/") || "/";
  const query = [...u.searchParams.entries()]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [method, path, query, canonicalHeaders, signedHeaders, sha256Hex(body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const dayKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
  const key = hmac(hmac(hmac(dayKey, region), service), "aws4_request");
  const signature = crypto.createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  all.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return all;
}

/// The endpoint as a base URL (CloudSearch and OpenSearch name a host).
function baseUrl(endpoint) {
  if (!endpoint) {
    throw new Error("the search endpoint is not set (SEARCH_DOCUMENT_ENDPOINT / SEARCH_ENDPOINT)");
  }
  const withScheme = /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`;
  return withScheme.replace(/\/+$/, "");
}

function engineOf(endpoint, env = process.env) {
  const chosen = (env.SEARCH_ENGINE || "").toLowerCase();
  if (chosen === "cloudsearch" || chosen === "opensearch") {
    return chosen;
  }
  if (chosen) {
    throw new Error(`SEARCH_ENGINE is \`${env.SEARCH_ENGINE}\`: use cloudsearch or opensearch`);
  }
  const host = new URL(baseUrl(endpoint)).hostname;
  return /\.es\.amazonaws\.com(\.cn)?$|\.on\.aws$/.test(host) ? "opensearch" : "cloudsearch";
}

/// One signed request to the domain; the parsed JSON answer. Throws on a
/// status other than 2xx, with the status and the start of the answer.
async function call({ endpoint, method, path, body, contentType = "application/json", env = process.env }) {
  const engine = engineOf(endpoint, env);
  const url = baseUrl(endpoint) + path;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  const headers = sign({
    method,
    url,
    service: engine === "cloudsearch" ? "cloudsearch" : "es",
    region,
    body: body || "",
    headers: body ? { "content-type": contentType } : {},
    credentials: credentialsFromEnv(env),
  });
  delete headers.host;
  const response = await fetch(url, { method, headers, body: body || undefined });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${engine} ${method} ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  }
  return text ? JSON.parse(text) : {};
}

module.exports = { sign, encode, baseUrl, engineOf, call, credentialsFromEnv };
