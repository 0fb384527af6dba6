/**
 * The baseline system's client: request ids over a {@linkcode FramedConn},
 * the calls waiting in a map by id. Started by bench/main.ts with the codec
 * in its config.
 *
 * @module
 */

import { type EchoClient, HOSTNAME, runClientProcess } from "./child.ts";
import { type BenchCodec, createCodec } from "./codecs.ts";
import { FramedConn } from "./framed_conn.ts";

/** Calls over one connection; answers may come in any order. */
class BaselineClient implements EchoClient {
  readonly #framed: FramedConn;
  readonly #codec: BenchCodec;
  readonly #pendingCalls = new Map<number, PromiseWithResolvers<unknown>>();
  readonly #reading: Promise<void>;
  #nextId = 1;

  constructor(conn: Deno.TcpConn, codec: BenchCodec) {
    this.#framed = new FramedConn(conn);
    this.#codec = codec;
    this.#reading = this.#framed.readFrames((body) => this.#receive(body))
      .catch((error) => error)
      .then((error) => this.#failPending(error));
  }

  readonly echo = (value: unknown): Promise<unknown> => {
    const id = this.#nextId++;
    const call = Promise.withResolvers<unknown>();
    this.#pendingCalls.set(id, call);
    this.#framed.send(this.#codec.encode([id, value]));
    return call.promise;
  };

  async close(): Promise<void> {
    this.#framed.close();
    await this.#reading;
  }

  #receive(body: Uint8Array): void {
    const [id, value] = this.#codec.decode(body) as [number, unknown];
    const call = this.#pendingCalls.get(id);
    if (call === undefined) throw new Error(`An answer to no call: id ${id}.`);
    this.#pendingCalls.delete(id);
    call.resolve(value);
  }

  #failPending(cause: unknown): void {
    for (const call of this.#pendingCalls.values()) {
      call.reject(new Error("The connection closed.", { cause }));
    }
    this.#pendingCalls.clear();
  }
}

await runClientProcess("value", async ({ port, codec }) => {
  const conn = await Deno.connect({ hostname: HOSTNAME, port });
  return new BaselineClient(conn, await createCodec(codec ?? "isock"));
});
