/**
 * Errors keep their class and stable code across the wire and on every
 * runtime: remote errors (unknown action, a handler that threw, input a
 * schema refused) and the client's own (no server there, a bad action).
 *
 * @module
 */

import assert from "node:assert/strict";
import { action, Client, ClientError, RemoteError, Server } from "../../mod.ts";
import type { StandardSchemaV1 } from "../../mod.ts";
import type { Case } from "./runner.ts";
import { HOST, rejectsWith, serving } from "./support.ts";

class HttpError extends Error {
  status = 418;
  override name = "HttpError";
}

/** A Standard Schema written by hand: the suite depends on no schema library. */
const positive: StandardSchemaV1<unknown, number> = {
  "~standard": {
    version: 1,
    vendor: "conformance",
    validate: (value) =>
      typeof value === "number" && value > 0
        ? { value }
        : { issues: [{ message: "must be a positive number", path: [] }] },
  },
};

const fail = action("fail", (message: string) => {
  throw new HttpError(message);
});
const half = action("half", { input: positive }, (n: number) => n / 2);
const count = action("count", async function* (n: number) {
  for (let i = 0; i < n; i++) yield i;
});

async function checkErrors(port: number): Promise<void> {
  const client = new Client({ hostname: HOST, port });
  try {
    const unknown = await rejectsWith(
      client.runAction("nope"),
      "UNKNOWN_ACTION",
    );
    assert.ok(unknown instanceof RemoteError);

    const failed = await rejectsWith(
      client.runAction(fail, "teapot"),
      "ACTION_FAILED",
    );
    assert.ok(failed instanceof RemoteError);
    assert.equal(failed.remoteName, "HttpError");
    assert.equal(failed.message, "teapot");
    assert.equal(failed.remoteFields.status, 418);

    assert.equal(await client.runAction(half, 8), 4);
    const invalid = await rejectsWith(
      client.runAction(half, -1 as number),
      "INVALID_INPUT",
    );
    assert.ok(invalid instanceof RemoteError);
    assert.equal(invalid.issues?.[0]?.message, "must be a positive number");

    await rejectsWith(client.runAction(count, 3), "STREAM_REQUIRED");

    const bad = await rejectsWith(
      client.runAction("" as unknown as typeof fail, "x"),
      "INVALID_ACTION",
    );
    assert.ok(bad instanceof ClientError);

    // The client stays usable after every error.
    assert.equal(await client.runAction(half, 2), 1);
  } finally {
    await client.close();
  }
}

export const errorCases: Case[] = [
  {
    name: "errors: remote errors arrive with their class, code and fields",
    run: () =>
      serving(
        new Server({ hostname: HOST, port: 0 }).addAction(fail).addAction(half)
          .addAction(count),
        checkErrors,
      ),
  },
  {
    name: "errors: no server there is CONNECT_FAILED",
    run: async () => {
      // A port that was free a moment ago: listen, note it, shut down.
      const server = new Server({ hostname: HOST, port: 0 });
      const { port } = await server.listen();
      await server.shutdown();
      const client = new Client({
        hostname: HOST,
        port,
        retry: 2,
        retryDelay: 10,
      });
      try {
        const error = await rejectsWith(
          client.runAction("echo", 1),
          "CONNECT_FAILED",
        );
        assert.ok(error instanceof ClientError);
      } finally {
        await client.close();
      }
    },
  },
  {
    name: "errors: a port already taken is ADDR_IN_USE",
    run: async () => {
      const first = new Server({ hostname: HOST, port: 0 });
      const { port } = await first.listen();
      try {
        const second = new Server({ hostname: HOST, port });
        await rejectsWith(second.listen(), "ADDR_IN_USE");
        await second.shutdown();
      } finally {
        await first.shutdown();
      }
    },
  },
];
