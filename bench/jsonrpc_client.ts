/**
 * The JSON-RPC peer's client, on Node: jayson's TCP client, which opens a
 * connection per call (that is how it works). Bytes travel as base64, as
 * JSON-RPC users send them. Bundled and started by bench/main.ts.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { HOSTNAME, runClientProcess } from "./child.ts";
import { NODE_RUNTIME, requirePeer } from "./node_child.ts";

/** A JSON-RPC 2.0 response. */
interface Response {
  result?: unknown;
  error?: { code: number; message: string };
}

/** The little of jayson's promise API the client uses. */
interface Jayson {
  Client: {
    tcp(options: { host: string; port: number }): {
      request(method: string, params: unknown[]): Promise<Response>;
    };
  };
}

const jayson = requirePeer("jayson/promise") as Jayson;

await runClientProcess("value", ({ port }) => {
  const client = jayson.Client.tcp({ host: HOSTNAME, port });
  const call = async (value: unknown) => {
    const { result, error } = await client.request("echo", [value]);
    if (error !== undefined) {
      throw new Error(`echo failed: ${error.message} (${error.code})`);
    }
    return result;
  };
  return Promise.resolve({
    echo: async (payload) => {
      if (!(payload instanceof Uint8Array)) return await call(payload);
      const bytes = Buffer.from(
        payload.buffer,
        payload.byteOffset,
        payload.byteLength,
      );
      return Buffer.from(
        await call(bytes.toString("base64")) as string,
        "base64",
      );
    },
    close: () => {},
  });
}, NODE_RUNTIME);
