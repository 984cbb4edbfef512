// GET /search?q=WORD behind an API Gateway Lambda proxy integration: asks the
// search domain for notes matching the words and answers
// { "hits": [{ "noteId", "headline", "text", "s3_url", "userId" }] }.
//
// Environment: SEARCH_ENDPOINT (the domain's search endpoint); optional
// SEARCH_ENGINE (`cloudsearch` or `opensearch`, see search.js), SEARCH_INDEX
// (the OpenSearch index, `notes` by default) and SEARCH_SIZE (most hits, 20).

const search = require("./search");

function answer(statusCode, body) {
  return {
    statusCode,
    headers: { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" },
    body: JSON.stringify(body),
  };
}

/// A field of a hit: CloudSearch gives a string, or an array for array fields.
function first(value) {
  return Array.isArray(value) ? value[0] : value;
}

function hit(id, fields) {
  const out = { noteId: id, headline: first(fields.headline) || "" };
  if (fields.note_text !== undefined) out.text = first(fields.note_text);
  if (fields.s3_url !== undefined) out.s3_url = first(fields.s3_url);
  if (fields.user_id !== undefined) out.userId = first(fields.user_id);
  return out;
}

/// Hits of a CloudSearch answer (2013-01-01 search API).
function cloudsearchHits(body) {
  return ((body.hits && body.hits.hit) || []).map((h) => hit(h.id, h.fields || {}));
}

/// Hits of an OpenSearch _search answer.
function opensearchHits(body) {
  return ((body.hits && body.hits.hits) || []).map((h) => hit(h._id, h._source || {}));
}

exports.cloudsearchHits = cloudsearchHits;
exports.opensearchHits = opensearchHits;

/// The handler's work, with the environment given (tests pass their own).
async function run(event, env) {
  const q = ((event.queryStringParameters || {}).q || "").trim();
  if (!q) {
    return answer(400, { message: "give the words to search for as ?q=..." });
  }
  const size = Math.min(Math.max(parseInt(env.SEARCH_SIZE || "20", 10) || 20, 1), 100);
  const endpoint = env.SEARCH_ENDPOINT;
  const query = (pairs) => pairs.map(([k, v]) => `${search.encode(k)}=${search.encode(v)}`).join("&");
  let engine;
  let body;
  try {
    engine = search.engineOf(endpoint, env);
    const path =
      engine === "cloudsearch"
        ? `/2013-01-01/search?${query([["q", q], ["return", "headline,note_text,s3_url,user_id"], ["size", String(size)]])}`
        : `/${search.encode(env.SEARCH_INDEX || "notes")}/_search?${query([["q", q], ["size", String(size)]])}`;
    body = await search.call({ endpoint, method: "GET", path, env });
  } catch (e) {
    console.error(e);
    return answer(502, { message: "the search domain did not answer" });
  }
  const hits = engine === "cloudsearch" ? cloudsearchHits(body) : opensearchHits(body);
  return answer(200, { hits });
}

exports.run = run;
// Lambda calls handlers with (event, context, callback): the environment is
// read here, never from a third argument.
exports.handler = async (event) => run(event, process.env);
