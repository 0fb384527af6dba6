import assert from "node:assert/strict";
import { ClientError } from "../../src/base/errors.ts";
import {
  checkClient,
  checkServer,
  importSecret,
  NONCE_LABELS,
  prove,
} from "../../src/protocol/auth.ts";

const peer = { hostname: "127.0.0.1", port: 1, transport: "tcp" as const };
const serverNonce = new Uint8Array(32).fill(1);
const clientNonce = new Uint8Array(32).fill(2);

function isUnauthorized(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof ClientError && error.code === "UNAUTHORIZED" &&
    pattern.test(error.message);
}

Deno.test("auth checks: a client's proof of the secret passes; none, or a wrong one, does not", async () => {
  const key = await importSecret("k");
  const proof = await prove(key, NONCE_LABELS.client, serverNonce, clientNonce);
  const check = (p: Uint8Array | undefined) =>
    checkClient({ key }, p, undefined, peer, serverNonce, clientNonce);
  assert.equal(await check(proof), undefined);
  await assert.rejects(check(undefined), isUnauthorized(/client has none/));
  await assert.rejects(
    check(proof.map((b) => b ^ 1)),
    isUnauthorized(/does not match/),
  );
});

Deno.test("auth checks: authenticate's answer is the identity; false, null or a throw refuse", async () => {
  const check = (authenticate: () => unknown) =>
    checkClient(
      { authenticate },
      undefined,
      "me",
      peer,
      serverNonce,
      clientNonce,
    );
  assert.deepEqual(await check(() => ({ user: 1 })), { user: 1 });
  await assert.rejects(check(() => false), isUnauthorized(/refused/));
  await assert.rejects(check(() => null), isUnauthorized(/refused/));
  const cause = new Error("database down");
  await assert.rejects(
    check(() => {
      throw cause;
    }),
    (error: unknown) => error instanceof ClientError && error.cause === cause,
  );
});

Deno.test("auth checks: a server must prove the secret the client has; a client without one checks nothing", async () => {
  const key = await importSecret("k");
  // Each side proves over the other's nonce first, then its own.
  const proof = await prove(key, NONCE_LABELS.server, clientNonce, serverNonce);
  await checkServer({ key }, proof, clientNonce, serverNonce);
  await assert.rejects(
    checkServer({ key }, undefined, clientNonce, serverNonce),
    isUnauthorized(/did not prove/),
  );
  // A client's proof is no server's proof.
  const clientProof = await prove(
    key,
    NONCE_LABELS.client,
    serverNonce,
    clientNonce,
  );
  await assert.rejects(
    checkServer({ key }, clientProof, clientNonce, serverNonce),
    isUnauthorized(/did not prove/),
  );
  await checkServer({}, undefined, clientNonce, serverNonce);
});
