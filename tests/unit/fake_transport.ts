/**
 * A transport that records what is sent and closes on demand: sessions run
 * over it without a socket.
 *
 * @module
 */

import { concat } from "../../src/base/bytes.ts";
import type { FrameReceiver, Transport } from "../../src/wire/transport.ts";

/** A transport that keeps every frame sent, and delivers frames given to it. */
export class FakeTransport implements Transport {
  readonly peer = { hostname: "::1", port: 4440, transport: "tcp" } as const;
  readonly lastActivity = Date.now();
  readonly isCongested = false;
  /** Every frame body sent, whole. */
  readonly sent: Uint8Array[] = [];
  isClosed = false;
  #receiver: FrameReceiver | undefined;

  start(receiver: FrameReceiver): void {
    this.#receiver = receiver;
  }

  send(body: readonly Uint8Array[]): void {
    if (!this.isClosed) this.sent.push(concat(body));
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.#receiver?.closed(undefined);
  }

  /** Delivers a frame as if the peer sent it. */
  receive(body: Uint8Array): void {
    this.#receiver?.frame(body, false);
  }

  ref(): void {}

  unref(): void {}
}
