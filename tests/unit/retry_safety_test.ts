/**
 * Retry safety is data on the error: `wasRun` says whether the call's
 * action ran, and `wasNotRun` (what the client resends on) reads it.
 */

import assert from "node:assert/strict";
import {
  type ClientErrorCode,
  RemoteError,
  type RemoteErrorCode,
} from "../../mod.ts";
import { ClientError } from "../../src/base/errors.ts";
import {
  errorFromWire,
  wasNotRun,
  wireError,
} from "../../src/protocol/wire_error.ts";

Deno.test("retry safety: a ClientError's code says whether the call may have run", () => {
  const expected: Record<ClientErrorCode, false | "maybe"> = {
    INVALID_ACTION: false,
    DUPLICATE_ACTION: false,
    INVALID_OPTIONS: false,
    CONNECT_FAILED: false,
    TLS_FAILED: false,
    UNAUTHORIZED: false,
    FRAME_TOO_LARGE: false,
    CONNECTION_CLOSED: "maybe",
    TIMEOUT: "maybe",
    ABORTED: "maybe",
    PROTOCOL: "maybe",
    NOT_RESENDABLE: "maybe",
    INVALID_METADATA: false,
    UNAVAILABLE: false,
  };
  for (const [code, wasRun] of Object.entries(expected)) {
    const error = new ClientError(code as ClientErrorCode, "m");
    assert.equal(error.wasRun, wasRun, code);
  }
});

Deno.test("retry safety: a RemoteError's code says whether the handler ran", () => {
  const expected: Record<RemoteErrorCode, boolean | "maybe"> = {
    UNKNOWN_ACTION: false,
    INVALID_INPUT: false,
    INVALID_REQUEST: false,
    OVERLOADED: false,
    STREAM_REQUIRED: false,
    ACTION_FAILED: true,
    FRAME_TOO_LARGE: true,
    PROTOCOL: "maybe",
  };
  for (const [code, wasRun] of Object.entries(expected)) {
    const error = new RemoteError(code as RemoteErrorCode, "m");
    assert.equal(error.wasRun, wasRun, code);
  }
});

Deno.test("retry safety: what the code does not say can be given", () => {
  const refused = new ClientError("CONNECTION_CLOSED", "m", { wasRun: false });
  assert.equal(refused.wasRun, false);
  const cause = new Error("under");
  const wrapped = new ClientError("TIMEOUT", "m", { cause, wasRun: false });
  assert.equal(wrapped.cause, cause);
  assert.equal(wrapped.wasRun, false);
  assert.equal(
    new RemoteError("ACTION_FAILED", "m", { wasRun: "maybe" }).wasRun,
    "maybe",
  );
});

Deno.test("retry safety: a call the peer refused unrun is safe to send again; a dropped one is not", () => {
  const refused = errorFromWire({
    code: "CONNECTION_CLOSED",
    name: "ClientError",
    message: "closing",
  });
  assert.ok(refused instanceof ClientError);
  assert.equal(refused.wasRun, false);
  assert.equal(wasNotRun(refused), true);
  assert.equal(
    wasNotRun(new ClientError("CONNECTION_CLOSED", "dropped")),
    false,
  );
  // Never sent, but not a refusal by a closing peer: the client's own
  // connect retries already ran.
  assert.equal(wasNotRun(new ClientError("CONNECT_FAILED", "m")), false);
  assert.equal(wasNotRun(new RemoteError("OVERLOADED", "m")), false);
  assert.equal(wasNotRun(new Error("plain")), false);
  assert.equal(wasNotRun(undefined), false);
});

Deno.test("retry safety: wasRun is not an own enumerable field, so it never travels", () => {
  const error = new RemoteError("OVERLOADED", "busy", {
    remoteFields: { status: 503 },
  });
  assert.deepStrictEqual(Object.keys(error).includes("wasRun"), false);
  // A handler that passes on an error it got sends its fields, not this one.
  const sent = wireError("ACTION_FAILED", error);
  assert.equal("wasRun" in (sent.fields ?? {}), false);
  assert.deepStrictEqual(
    new RemoteError("OVERLOADED", "busy"),
    new RemoteError("OVERLOADED", "busy", { wasRun: true }),
  );
});
