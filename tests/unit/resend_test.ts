/** When a client sends a call again: against a fake client that records its tries. */

import assert from "node:assert/strict";
import { ClientError, RemoteError } from "../../mod.ts";
import { Deadline } from "../../src/base/deadline.ts";
import type { CallOptions } from "../../src/dispatch/peer.ts";
import {
  type OpenStream,
  type Redial,
  resend,
  resendable,
  resumableStream,
  retryCall,
  type StreamOpener,
} from "../../src/endpoint/resend.ts";
import { errorFromWire } from "../../src/protocol/wire_error.ts";

/** A client whose calls answer from a script, one entry per try. */
class FakeRedial implements Redial {
  readonly attempts: number;
  isClosed = false;
  readonly calls: (CallOptions | undefined)[] = [];
  readonly pauses: number[] = [];
  readonly #answers: (() => Promise<unknown>)[];
  readonly #streams: (() => OpenStream)[];

  constructor(
    attempts: number,
    answers: (() => Promise<unknown>)[],
    streams: (() => OpenStream)[] = [],
  ) {
    this.attempts = attempts;
    this.#answers = answers;
    this.#streams = streams;
  }

  call(_name: string, _data: unknown, options?: CallOptions): Promise<unknown> {
    this.calls.push(options);
    return this.#answers.shift()!();
  }

  connected(): Promise<StreamOpener> {
    return Promise.resolve({ openStream: () => this.#streams.shift()!() });
  }

  pause(attempt: number): Promise<void> {
    this.pauses.push(attempt);
    return Promise.resolve();
  }
}

const dropped = () => new ClientError("CONNECTION_CLOSED", "dropped");
const refused = () =>
  errorFromWire({ code: "CONNECTION_CLOSED", name: "E", message: "closing" });

Deno.test("resend: a call refused unrun goes once more, without a pause", async () => {
  const redial = new FakeRedial(3, [() => Promise.resolve("ok")]);
  const result = await retryCall(
    redial,
    refused(),
    false,
    "a",
    resendable(1),
    { deadline: Deadline.NONE },
  );
  assert.equal(result, "ok");
  assert.equal(redial.calls.length, 1);
  assert.deepStrictEqual(redial.pauses, []);
});

Deno.test("resend: an idempotent call goes again while its connection drops, up to the attempts", async () => {
  const redial = new FakeRedial(3, [
    () => Promise.reject(dropped()),
    () => Promise.reject(dropped()),
  ]);
  await assert.rejects(
    retryCall(redial, dropped(), true, "a", resendable(1), {
      deadline: Deadline.NONE,
    }),
    (error) =>
      error instanceof ClientError && error.code === "CONNECTION_CLOSED",
  );
  assert.equal(redial.calls.length, 2);
  assert.deepStrictEqual(redial.pauses, [1, 2]);
});

Deno.test("resend: nothing goes again when the action may have run, failed, or the client closed", async () => {
  const cases: [unknown, boolean, boolean][] = [
    [dropped(), false, false], // not idempotent
    [new RemoteError("ACTION_FAILED", "ran"), true, false],
    [new ClientError("TIMEOUT", "late"), true, false],
    [dropped(), true, true], // the client was closed
    [refused(), false, true],
  ];
  for (const [error, isIdempotent, isClosed] of cases) {
    const redial = new FakeRedial(3, []);
    redial.isClosed = isClosed;
    await assert.rejects(
      retryCall(redial, error, isIdempotent, "a", resendable(1), {
        deadline: Deadline.NONE,
      }),
      (thrown) => thrown === error,
    );
    assert.equal(redial.calls.length, 0);
  }
});

Deno.test("resend: a consumed input stream is not sent again; a past deadline is a TIMEOUT", async () => {
  const input = resendable((async function* () {
    yield 1;
  })());
  const iterator = (input.data as AsyncIterable<unknown>)
    [Symbol.asyncIterator]();
  await iterator.next();
  const notAgain = resend("a", input, Deadline.NONE, dropped());
  assert.ok(notAgain instanceof ClientError);
  assert.equal(notAgain.code, "NOT_RESENDABLE");
  const late = resend(
    "a",
    resendable(1),
    Deadline.after(10, undefined, performance.now() - 20),
    0,
  );
  assert.ok(late instanceof ClientError && late.code === "TIMEOUT");
  assert.match(late.message, /within 10 ms/);
  const left = resend("a", resendable(1), Deadline.after(1_000), 0);
  assert.equal(left, undefined);
});

Deno.test("resend: a tracked stream resumes after the last item received", async () => {
  const seenIds: unknown[] = [];
  async function* cutAfter(items: number[]) {
    yield* items;
    throw dropped();
  }
  const redial = new FakeRedial(2, [], [
    () => ({ receiver: cutAfter([1, 2]), lastEventId: 2 }),
    () => ({
      receiver: (async function* () {
        yield 3;
      })(),
      lastEventId: 3,
    }),
  ]);
  const opened = redial.connected;
  redial.connected = () =>
    opened.call(redial).then((opener) => ({
      openStream: (name, data, options) => {
        seenIds.push(options?.lastEventId);
        return opener.openStream(name, data, options);
      },
    }));
  const items = await Array.fromAsync(
    resumableStream(redial, "s", undefined, { deadline: Deadline.NONE }),
  );
  assert.deepStrictEqual(items, [1, 2, 3]);
  assert.deepStrictEqual(seenIds, [undefined, 2]);
  assert.deepStrictEqual(redial.pauses, [1]);
});
