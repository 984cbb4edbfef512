// Offline tests of the project's Lambda handlers (functions/): run by
// `cargo test --test handlers` (tests/handlers.rs), which runs `node --test`
// on this folder. Only Node's own modules: no npm install.

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");

const functions = path.join(__dirname, "..", "..", "functions");
const load = (name, file = "index.js") => require(path.join(functions, name, file));

const EXAMPLE = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const AT = new Date("2015-08-30T12:36:00Z");

test("search.js signs the Signature Version 4 test suite's get-vanilla request", () => {
  const { sign } = load("index-notes", "search.js");
  const headers = sign({
    method: "GET",
    url: "https://example.amazonaws.com/",
    service: "service",
    region: "us-east-1",
    credentials: EXAMPLE,
    now: AT,
  });
  assert.equal(headers["x-amz-date"], "20150830T123600Z");
  assert.equal(
    headers.authorization,
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
      "SignedHeaders=host;x-amz-date, " +
      "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
  );
});

test("search.js sorts the query as the test suite's get-vanilla-query-order-key-case", () => {
  const { sign } = load("index-notes", "search.js");
  const headers = sign({
    method: "GET",
    url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
    service: "service",
    region: "us-east-1",
    credentials: EXAMPLE,
    now: AT,
  });
  assert.match(headers.authorization, /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/);
});

test("search.js signs the session token and the body", () => {
  const { sign } = load("index-notes", "search.js");
  const base = { method: "POST", url: "https://doc-x.us-east-1.cloudsearch.amazonaws.com/2013-01-01/documents/batch", service: "cloudsearch", region: "us-east-1", now: AT };
  const a = sign({ ...base, body: "[]", credentials: { ...EXAMPLE, sessionToken: "token" } });
  assert.equal(a["x-amz-security-token"], "token");
  assert.match(a.authorization, /SignedHeaders=host;x-amz-date;x-amz-security-token,/);
  const b = sign({ ...base, body: "[1]", credentials: { ...EXAMPLE, sessionToken: "token" } });
  assert.notEqual(a.authorization, b.authorization, "the body is signed");
});

test("the two copies of search.js are the same file", () => {
  const a = fs.readFileSync(path.join(functions, "index-notes", "search.js"));
  const b = fs.readFileSync(path.join(functions, "search-notes", "search.js"));
  assert.ok(a.equals(b), "functions/index-notes/search.js and functions/search-notes/search.js differ: copy one over the other");
});

test("the engine comes from SEARCH_ENGINE or the endpoint's host", () => {
  const { engineOf } = load("index-notes", "search.js");
  assert.equal(engineOf("doc-notes-abc.us-east-1.cloudsearch.amazonaws.com", {}), "cloudsearch");
  assert.equal(engineOf("search-notes-abc.us-east-1.es.amazonaws.com", {}), "opensearch");
  assert.equal(engineOf("http://127.0.0.1:9200", { SEARCH_ENGINE: "OpenSearch" }), "opensearch");
  assert.throws(() => engineOf("x", { SEARCH_ENGINE: "solr" }), /SEARCH_ENGINE is `solr`/);
  assert.throws(() => engineOf("", {}), /not set/);
});

test("auto-confirm confirms the user and verifies the email given", async () => {
  const { handler } = load("auto-confirm");
  const out = await handler({ request: { userAttributes: { email: "a@example.com" } }, response: {} });
  assert.deepEqual(out.response, { autoConfirmUser: true, autoVerifyEmail: true });
  const noEmail = await handler({ request: { userAttributes: {} }, response: {} });
  assert.deepEqual(noEmail.response, { autoConfirmUser: true });
});

test("notes-api refuses a body that is not a note and a call with no identity", async () => {
  const api = load("notes-api");
  const identity = { requestContext: { identity: { cognitoIdentityId: "us-east-1:1234" } }, httpMethod: "POST" };
  for (const [body, message] of [
    ["not json", /not JSON/],
    ["[]", /JSON object/],
    [JSON.stringify({ headline: "", text: "x" }), /headline must be/],
    [JSON.stringify({ headline: "h" }), /text must be/],
    [JSON.stringify({ headline: "h", text: "t", s3_url: 5 }), /s3_url must be/],
  ]) {
    const out = await api.handler({ ...identity, body });
    assert.equal(out.statusCode, 400, body);
    assert.match(JSON.parse(out.body).message, message);
  }
  const anonymous = await api.handler({ httpMethod: "POST", body: JSON.stringify({ headline: "h", text: "t" }) });
  assert.equal(anonymous.statusCode, 403);
  assert.equal(api.caller(identity), "us-east-1:1234");
  assert.deepEqual(api.parse({ body: Buffer.from('{"headline":"h","text":"t"}').toString("base64"), isBase64Encoded: true }), {
    note: { headline: "h", text: "t" },
  });
});

/// A local HTTP server that records requests and answers `reply(request)`.
async function server(reply) {
  const seen = [];
  const s = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = { method: req.method, url: req.url, headers: req.headers, body };
      seen.push(request);
      const [status, answer] = reply(request);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((ok) => s.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${s.address().port}`, seen, close: () => s.close() };
}

const ENV = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "token", AWS_REGION: "eu-west-1" };

const insert = (noteId, headline, text) => ({
  eventName: "INSERT",
  dynamodb: {
    Keys: { userId: { S: "eu-west-1:abc" }, noteId: { S: noteId } },
    NewImage: { userId: { S: "eu-west-1:abc" }, noteId: { S: noteId }, headline: { S: headline }, text: { S: text }, s3_url: { S: "s3://b/k.jpg" } },
  },
});

test("index-notes sends new notes to CloudSearch in one signed batch and deletes removed ones", async () => {
  const { run } = load("index-notes");
  const s = await server(() => [200, { status: "success", adds: 1, deletes: 1 }]);
  try {
    const remove = { eventName: "REMOVE", dynamodb: { Keys: { userId: { S: "eu-west-1:abc" }, noteId: { S: "old-note" } } } };
    const out = await run({ Records: [insert("n-1", "Hello", "first words"), remove] }, { ...ENV, SEARCH_ENGINE: "cloudsearch", SEARCH_DOCUMENT_ENDPOINT: s.url });
    assert.deepEqual(out, { indexed: 1, deleted: 1 });
    assert.equal(s.seen.length, 1);
    const [req] = s.seen;
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/2013-01-01/documents/batch");
    assert.match(req.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/cloudsearch\/aws4_request, /);
    assert.equal(req.headers["x-amz-security-token"], "token");
    assert.deepEqual(JSON.parse(req.body), [
      { type: "add", id: "n-1", fields: { headline: "Hello", note_text: "first words", user_id: "eu-west-1:abc", s3_url: "s3://b/k.jpg" } },
      { type: "delete", id: "old-note" },
    ]);
  } finally {
    s.close();
  }
});

test("index-notes fails the batch when the domain refuses it, so Lambda retries", async () => {
  const { run } = load("index-notes");
  const s = await server(() => [403, { message: "denied" }]);
  try {
    await assert.rejects(
      run({ Records: [insert("n-1", "h", "t")] }, { ...ENV, SEARCH_ENGINE: "cloudsearch", SEARCH_DOCUMENT_ENDPOINT: s.url }),
      /HTTP 403/,
    );
  } finally {
    s.close();
  }
});

test("index-notes writes an OpenSearch _bulk request", async () => {
  const { run } = load("index-notes");
  const s = await server(() => [200, { errors: false, items: [] }]);
  try {
    await run({ Records: [insert("n-2", "Title", "body")] }, { ...ENV, SEARCH_ENGINE: "opensearch", SEARCH_DOCUMENT_ENDPOINT: s.url });
    const [req] = s.seen;
    assert.equal(req.url, "/_bulk");
    assert.match(req.headers.authorization, /\/eu-west-1\/es\/aws4_request, /);
    assert.equal(req.headers["content-type"], "application/x-ndjson");
    assert.deepEqual(req.body.trim().split("\n").map((l) => JSON.parse(l)), [
      { index: { _index: "notes", _id: "n-2" } },
      { headline: "Title", note_text: "body", user_id: "eu-west-1:abc", s3_url: "s3://b/k.jpg" },
    ]);
  } finally {
    s.close();
  }
});

test("search-notes asks CloudSearch and answers the hits", async () => {
  const { run } = load("search-notes");
  const s = await server(() => [
    200,
    { status: { rid: "x" }, hits: { found: 1, start: 0, hit: [{ id: "n-1", fields: { headline: "Hello", note_text: "first words", user_id: "eu-west-1:abc" } }] } },
  ]);
  try {
    const out = await run({ queryStringParameters: { q: "first words" } }, { ...ENV, SEARCH_ENGINE: "cloudsearch", SEARCH_ENDPOINT: s.url });
    assert.equal(out.statusCode, 200);
    assert.deepEqual(JSON.parse(out.body), { hits: [{ noteId: "n-1", headline: "Hello", text: "first words", userId: "eu-west-1:abc" }] });
    const [req] = s.seen;
    assert.equal(req.method, "GET");
    assert.equal(req.url, "/2013-01-01/search?q=first%20words&return=headline%2Cnote_text%2Cs3_url%2Cuser_id&size=20");
    assert.match(req.headers.authorization, /\/cloudsearch\/aws4_request, /);
    const missing = await run({ queryStringParameters: {} }, { ...ENV, SEARCH_ENDPOINT: s.url });
    assert.equal(missing.statusCode, 400);
  } finally {
    s.close();
  }
});

test("search-notes answers 502 when the domain fails", async () => {
  const { run } = load("search-notes");
  const s = await server(() => [500, { message: "boom" }]);
  try {
    const out = await run({ queryStringParameters: { q: "x" } }, { ...ENV, SEARCH_ENGINE: "cloudsearch", SEARCH_ENDPOINT: s.url });
    assert.equal(out.statusCode, 502);
  } finally {
    s.close();
  }
});
