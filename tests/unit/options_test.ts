/**
 * The option checks a client and a server share: one table of defaults and
 * bounds, the same errors from both constructors.
 */

import assert from "node:assert/strict";
import { Client, ClientError, Server, ServerError } from "../../mod.ts";
import {
  checkSecret,
  CONNECTION_LIMITS,
  CONNECTION_OPTIONS,
  readIntegerOptions,
} from "../../src/endpoint/options.ts";
import { CLIENT_OPTIONS } from "../../src/endpoint/client_options.ts";
import { SERVER_OPTIONS } from "../../src/endpoint/server_options.ts";
import { MAX_TIMEOUT } from "../../src/base/timers.ts";

const fail = (message: string) => new RangeError(message);

Deno.test("connection options: defaults fill what is left out", () => {
  assert.deepStrictEqual(readIntegerOptions(CONNECTION_LIMITS, {}, fail), {
    maxFrameSize: 64 * 1024 * 1024,
    handshakeTimeout: 10_000,
    heartbeatInterval: 10_000,
    maxInFlight: 1_000,
  });
});

/** Each shared option, a value just out of bounds, and one just in. */
const BOUNDS: [name: string, bad: unknown, good: number][] = [
  ["maxFrameSize", 1, 0xffff_ffff],
  ["maxFrameSize", 0xffff_ffff + 1, 1024 * 1024],
  ["handshakeTimeout", 0, 1],
  ["handshakeTimeout", MAX_TIMEOUT + 1, MAX_TIMEOUT],
  ["heartbeatInterval", -1, 0],
  ["heartbeatInterval", 1.5, MAX_TIMEOUT],
  ["maxInFlight", 0, 1],
  ["maxInFlight", "10", 2 ** 31],
];

for (const [name, bad, good] of BOUNDS) {
  Deno.test(`connection options: ${name} ${JSON.stringify(bad)} fails the client and the server alike`, () => {
    const clientError = catchError(() =>
      new Client({ port: 1, [name]: bad } as never)
    );
    const serverError = catchError(() => new Server({ [name]: bad } as never));
    assert.ok(clientError instanceof ClientError);
    assert.ok(serverError instanceof ServerError);
    assert.equal(clientError.code, "INVALID_OPTIONS");
    assert.equal(serverError.code, "INVALID_OPTIONS");
    assert.equal(clientError.message, serverError.message);
    assert.match(clientError.message, new RegExp(`^Option ${name} must be`));
    // One step back in bounds is accepted by both.
    using _client = new Client({ port: 1, [name]: good } as never);
    new Server({ [name]: good } as never);
  });
}

Deno.test("connection options: the client needs a port, the server picks one", () => {
  assert.throws(
    () => new Client({} as never),
    (error) =>
      error instanceof ClientError && /Option port/.test(error.message),
  );
  assert.equal(new Server().addr, undefined);
});

Deno.test("connection options: client- and server-only options keep their own bounds", () => {
  const cases: [() => unknown, RegExp][] = [
    [() => new Client({ port: 1, retry: 1001 }), /retry/],
    [() => new Client({ port: 1, retryDelay: 60_001 }), /retryDelay/],
    [() => new Client({ port: 1, maxRetryDelay: -1 }), /maxRetryDelay/],
    [() => new Client({ port: 1, timeout: MAX_TIMEOUT + 1 }), /timeout/],
    [() => new Server({ idleTimeout: -1 }), /idleTimeout/],
    [() => new Server({ maxConnections: 0 }), /maxConnections/],
    [() => new Server({ port: 65536 }), /port/],
  ];
  for (const [make, name] of cases) {
    assert.throws(
      make,
      (error) =>
        (error instanceof ClientError || error instanceof ServerError) &&
        error.code === "INVALID_OPTIONS" && name.test(error.message),
    );
  }
});

Deno.test("connection options: an empty secret fails at once, on both ends", () => {
  assert.throws(() => checkSecret("", fail), RangeError);
  assert.throws(() => checkSecret(new Uint8Array(0), fail), RangeError);
  checkSecret(undefined, fail);
  checkSecret("s", fail);
  assert.throws(
    () => new Client({ port: 1, secret: "" }),
    (error) => error instanceof ClientError && error.code === "INVALID_OPTIONS",
  );
  assert.throws(
    () => new Server({ secret: "" }),
    (error) => error instanceof ServerError && error.code === "INVALID_OPTIONS",
  );
});

Deno.test("connection options: a shutdown timeout past the longest timer fails", async () => {
  const server = new Server();
  await assert.rejects(
    async () => await server.shutdown({ timeout: MAX_TIMEOUT + 1 }),
    (error) => error instanceof ServerError && error.code === "INVALID_OPTIONS",
  );
});

function catchError(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  assert.fail("no error");
}

/** Each documented `@default` of an interface's fields, by field name. */
async function documentedDefaults(
  file: string,
  name: string,
): Promise<Map<string, string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", file],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success, `deno doc ${file}`);
  type Property = {
    name: string;
    jsDoc?: { tags?: { kind: string; value?: string }[] };
  };
  type Symbol = {
    name: string;
    declarations: { kind: string; def?: { properties?: Property[] } }[];
  };
  const json = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    nodes: Record<string, { symbols: Symbol[] }>;
  };
  const symbols = Object.values(json.nodes).flatMap((node) => node.symbols);
  const found = symbols.find((symbol) => symbol.name === name);
  assert.ok(found !== undefined, `${name} in ${file}`);
  const defaults = new Map<string, string>();
  for (const declaration of found.declarations) {
    for (const property of declaration.def?.properties ?? []) {
      const tag = property.jsDoc?.tags?.find((tag) => tag.kind === "default");
      if (tag?.value !== undefined) defaults.set(property.name, tag.value);
    }
  }
  return defaults;
}

Deno.test("options: every row's default is the one its field documents, and a field without a default documents none", async () => {
  const tables: [string, string, Record<string, { default?: unknown }>][] = [
    ["src/endpoint/options.ts", "ConnectionOptions", CONNECTION_OPTIONS],
    ["src/endpoint/client_options.ts", "ClientBaseOptions", CLIENT_OPTIONS],
    ["src/endpoint/server_options.ts", "ServerOptions", SERVER_OPTIONS],
  ];
  for (const [file, name, rows] of tables) {
    const documented = await documentedDefaults(file, name);
    for (const [option, row] of Object.entries(rows)) {
      assert.equal(
        documented.get(option),
        row.default === undefined ? undefined : JSON.stringify(row.default),
        `${name}.${option}: the documented @default and the row's`,
      );
    }
  }
});
