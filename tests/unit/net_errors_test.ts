/**
 * Socket failures in runtime-neutral kinds: Deno's error classes and
 * Node's and Bun's `code` strings say the same thing, so the server and the
 * client raise the same isock codes on every runtime.
 */

import assert from "node:assert/strict";
import { bindError } from "../../src/endpoint/server_connections.ts";
import {
  classifyNetError,
  isCertificateError,
  SocketError,
} from "../../src/wire/net_errors.ts";

/** An error as Node and Bun raise it: a message and a `code`. */
function nodeError(code: string): Error {
  return Object.assign(new Error(`${code} (from node)`), { code });
}

Deno.test("net errors: Deno's classes and Node's codes classify alike", () => {
  const pairs: [Error, Error, string][] = [
    [new Deno.errors.AddrInUse("x"), nodeError("EADDRINUSE"), "addr-in-use"],
    [
      new Deno.errors.ConnectionRefused("x"),
      nodeError("ECONNREFUSED"),
      "refused",
    ],
    [new Deno.errors.TimedOut("x"), nodeError("ETIMEDOUT"), "timeout"],
    [new Deno.errors.NotCapable("x"), nodeError("EACCES"), "permission"],
    [new Deno.errors.PermissionDenied("x"), nodeError("EPERM"), "permission"],
    [new Deno.errors.ConnectionReset("x"), nodeError("ECONNRESET"), "reset"],
    [new Deno.errors.BrokenPipe("x"), nodeError("EPIPE"), "reset"],
    [new Deno.errors.NotFound("x"), nodeError("ENOENT"), "not-found"],
    [
      new Deno.errors.AddrNotAvailable("x"),
      nodeError("EADDRNOTAVAIL"),
      "unavailable",
    ],
  ];
  for (const [deno, node, kind] of pairs) {
    assert.equal(classifyNetError(deno), kind, `Deno ${deno.name}`);
    assert.equal(classifyNetError(node), kind, `code ${node.message}`);
  }
});

Deno.test("net errors: the socket layer's own errors carry their kind", () => {
  assert.equal(classifyNetError(new SocketError("timeout", "late")), "timeout");
  assert.equal(classifyNetError(new SocketError("eof", "cut")), "eof");
  assert.equal(classifyNetError(new Error("what")), "other");
  assert.equal(classifyNetError("not an error"), "other");
  assert.equal(classifyNetError(nodeError("E_SOMETHING_NEW")), "other");
});

Deno.test("net errors: certificate failures are recognised by OpenSSL's codes and Deno's verdict", () => {
  assert.ok(isCertificateError(nodeError("DEPTH_ZERO_SELF_SIGNED_CERT")));
  assert.ok(isCertificateError(nodeError("ERR_TLS_CERT_ALTNAME_INVALID")));
  assert.ok(isCertificateError(nodeError("UNABLE_TO_VERIFY_LEAF_SIGNATURE")));
  assert.ok(
    isCertificateError(
      new Deno.errors.InvalidData("invalid peer certificate: UnknownIssuer"),
    ),
  );
  assert.ok(!isCertificateError(new Deno.errors.InvalidData("bad bytes")));
  assert.ok(!isCertificateError(nodeError("ECONNREFUSED")));
});

Deno.test("net errors: a taken port is ADDR_IN_USE whichever runtime said so", () => {
  const where = { hostname: "127.0.0.1", port: 4440 };
  for (
    const error of [new Deno.errors.AddrInUse("x"), nodeError("EADDRINUSE")]
  ) {
    const bound = bindError(error, where);
    assert.equal(bound.code, "ADDR_IN_USE");
    assert.match(
      bound.message,
      /^Cannot listen on 127\.0\.0\.1:4440: the port is already in use/,
    );
    assert.equal(bound.cause, error);
  }
  assert.equal(bindError(nodeError("EACCES"), where).code, "LISTEN_FAILED");
  const unix = bindError(nodeError("EADDRINUSE"), {
    hostname: "/tmp/isock.sock",
    port: 0,
    transport: "unix",
  });
  assert.match(
    unix.message,
    /^Cannot listen on \/tmp\/isock\.sock: the socket path is already in use/,
  );
});
