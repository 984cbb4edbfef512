// DynamoDB stream trigger of the notes table: sends each new or changed note
// to the search domain's document endpoint, and takes removed notes out of
// it. A failed upload throws, so Lambda retries the batch (stream records
// are kept in order until they are indexed or expire).
//
// Environment: SEARCH_DOCUMENT_ENDPOINT (the domain's document endpoint);
// optional SEARCH_ENGINE (`cloudsearch` or `opensearch`, see search.js) and
// SEARCH_INDEX (the OpenSearch index, `notes` by default).
//
// CloudSearch: one batch of `add`/`delete` operations to
// /2013-01-01/documents/batch, with the fields headline, note_text, s3_url
// and user_id. OpenSearch: one _bulk request of index/delete actions.

const search = require("./search");

/// A stream image's string attributes as plain values.
function plain(image) {
  const out = {};
  for (const [name, value] of Object.entries(image || {})) {
    if (value && typeof value.S === "string") {
      out[name] = value.S;
    } else if (value && typeof value.N === "string") {
      out[name] = Number(value.N);
    }
  }
  return out;
}

/// What to do with one stream record: { op: "add" | "delete", id, fields }
/// or null when the record is not a note.
function operation(record) {
  const data = record.dynamodb || {};
  const keys = plain(data.Keys);
  const id = keys.noteId;
  if (typeof id !== "string" || id.length === 0) {
    return null;
  }
  if (record.eventName === "REMOVE") {
    return { op: "delete", id };
  }
  const note = plain(data.NewImage);
  const fields = {
    headline: note.headline || "",
    note_text: note.text || "",
    user_id: note.userId || keys.userId || "",
  };
  if (note.s3_url) {
    fields.s3_url = note.s3_url;
  }
  return { op: "add", id, fields };
}

/// A CloudSearch document id allows a-z, 0-9 and _-=#;:/?@& (1 to 128).
function cloudsearchId(id) {
  return /^[a-z0-9_\-=#;:/?@&]{1,128}$/.test(id);
}

function cloudsearchBatch(ops) {
  return ops
    .filter((o) => cloudsearchId(o.id))
    .map((o) => (o.op === "delete" ? { type: "delete", id: o.id } : { type: "add", id: o.id, fields: o.fields }));
}

function opensearchBulk(ops, index) {
  const lines = [];
  for (const o of ops) {
    if (o.op === "delete") {
      lines.push(JSON.stringify({ delete: { _index: index, _id: o.id } }));
    } else {
      lines.push(JSON.stringify({ index: { _index: index, _id: o.id } }));
      lines.push(JSON.stringify(o.fields));
    }
  }
  return lines.join("\n") + "\n";
}

exports.operation = operation;
exports.cloudsearchBatch = cloudsearchBatch;
exports.opensearchBulk = opensearchBulk;

/// The handler's work, with the environment given (tests pass their own).
async function run(event, env) {
  const ops = (event.Records || []).map(operation).filter(Boolean);
  if (ops.length === 0) {
    return { indexed: 0, deleted: 0 };
  }
  const endpoint = env.SEARCH_DOCUMENT_ENDPOINT;
  if (search.engineOf(endpoint, env) === "cloudsearch") {
    const batch = cloudsearchBatch(ops);
    const skipped = ops.length - batch.length;
    if (skipped > 0) {
      console.warn(`${skipped} note(s) skipped: a CloudSearch document id allows only a-z, 0-9 and _-=#;:/?@&`);
    }
    if (batch.length > 0) {
      await search.call({ endpoint, method: "POST", path: "/2013-01-01/documents/batch", body: JSON.stringify(batch), env });
    }
  } else {
    const answer = await search.call({
      endpoint,
      method: "POST",
      path: "/_bulk",
      body: opensearchBulk(ops, env.SEARCH_INDEX || "notes"),
      contentType: "application/x-ndjson",
      env,
    });
    if (answer.errors) {
      throw new Error(`opensearch _bulk: some documents failed: ${JSON.stringify(answer.items).slice(0, 500)}`);
    }
  }
  return {
    indexed: ops.filter((o) => o.op === "add").length,
    deleted: ops.filter((o) => o.op === "delete").length,
  };
}

exports.run = run;
// Lambda calls handlers with (event, context, callback): the environment is
// read here, never from a third argument.
exports.handler = async (event) => run(event, process.env);
