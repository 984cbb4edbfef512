// POST /notes behind an API Gateway Lambda proxy integration with IAM
// authorization: stores { headline, text, s3_url } in the table `TABLE`
// under the caller's Cognito identity id (hash key `userId`) with a new
// `noteId` (range key), and answers { "noteId": ... }.
//
// Environment: TABLE (the table's name). Uses only what the Lambda Node.js
// runtime provides (node:crypto and the AWS SDK for JavaScript v3).

const { randomUUID } = require("node:crypto");

const MAX_LENGTH = { headline: 1024, text: 65536, s3_url: 2048 };

let client;

/// The DynamoDB client, made on first use (so that the validation below can
/// run where no SDK is installed).
function dynamodb() {
  if (!client) {
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
    client = new DynamoDBClient({});
  }
  return client;
}

function answer(statusCode, body) {
  return {
    statusCode,
    headers: { "Content-Type": "application/json", "Access-Control-Allow-Origin": "*" },
    body: JSON.stringify(body),
  };
}

/// Who is calling: the Cognito identity id of a mobile client's credentials,
/// or (for an IAM user or role calling directly) the principal's id.
function caller(event) {
  const identity = (event.requestContext && event.requestContext.identity) || {};
  return identity.cognitoIdentityId || identity.user || identity.caller || null;
}

/// The note in the request's body, or the reason it is not one.
function parse(event) {
  let body = event.body || "";
  if (event.isBase64Encoded) {
    body = Buffer.from(body, "base64").toString("utf8");
  }
  let note;
  try {
    note = JSON.parse(body);
  } catch (e) {
    return { error: "the body is not JSON" };
  }
  if (note === null || typeof note !== "object" || Array.isArray(note)) {
    return { error: "the body must be a JSON object with headline and text" };
  }
  for (const field of ["headline", "text"]) {
    if (typeof note[field] !== "string" || note[field].length === 0) {
      return { error: `${field} must be a non-empty string` };
    }
  }
  if (note.s3_url !== undefined && note.s3_url !== null && typeof note.s3_url !== "string") {
    return { error: "s3_url must be a string" };
  }
  for (const [field, max] of Object.entries(MAX_LENGTH)) {
    if (typeof note[field] === "string" && note[field].length > max) {
      return { error: `${field} is longer than ${max} characters` };
    }
  }
  return { note };
}

exports.parse = parse;
exports.caller = caller;

exports.handler = async (event) => {
  if ((event.httpMethod || "POST") !== "POST") {
    return answer(405, { message: "only POST is allowed" });
  }
  const userId = caller(event);
  if (!userId) {
    return answer(403, { message: "the request carries no caller identity (call with AWS credentials)" });
  }
  const { note, error } = parse(event);
  if (error) {
    return answer(400, { message: error });
  }
  const noteId = randomUUID();
  const item = {
    userId: { S: userId },
    noteId: { S: noteId },
    headline: { S: note.headline },
    text: { S: note.text },
    createdAt: { S: new Date().toISOString() },
  };
  if (note.s3_url) {
    item.s3_url = { S: note.s3_url };
  }
  const { PutItemCommand } = require("@aws-sdk/client-dynamodb");
  await dynamodb().send(new PutItemCommand({ TableName: process.env.TABLE, Item: item }));
  return answer(200, { noteId });
};
