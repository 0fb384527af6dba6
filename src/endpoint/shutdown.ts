/**
 * A graceful shutdown of a server's connections: each is told the server is
 * going away, running calls get up to the shutdown's timeout to finish,
 * those still running then have their signals aborted and a short grace to
 * return, and then every connection closes.
 *
 * @module
 */

import { ClientError, type IsockError } from "../base/errors.ts";
import type { TimerHandle } from "../base/timers.ts";

/** Whatever runs a peer's calls: a connection's requests, or a NATS caller's. */
export interface Running {
  /** Resolves once none of its calls runs. */
  whenIdle(): Promise<void>;
  /**
   * Gives up on the calls still running: their signals abort, what they
   * answer is dropped.
   *
   * @returns How many it gave up on.
   */
  abortHandlers(reason: IsockError): number;
}

/** What a shutdown needs from a connection (the session implements it). */
export interface Retiring extends Running {
  /** Tells the peer the connection is going away; it sends nothing new. */
  sayGoodbye(): void;
  /**
   * Closes the connection once the peer has closed it, or after `grace` ms.
   *
   * @param grace The longest wait for the peer, in milliseconds.
   * @param reason What calls still waiting reject with.
   */
  retire(grace: number, reason?: IsockError): Promise<void>;
  /**
   * Closes the connection now (what is queued is written first, for a
   * short while at most).
   *
   * @param reason What calls still waiting reject with.
   */
  close(reason?: IsockError): Promise<void>;
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;
}

/** How long shutdown waits for clients to close once their calls are answered. */
const SHUTDOWN_GRACE = 500;

/**
 * How long shutdown waits, once it gave up on the calls that outlived its
 * timeout, for their handlers to return: their `finally` blocks run
 * before the connections close and the shutdown ends.
 */
const ABORT_GRACE = 250;

/**
 * Says goodbye on every connection, waits for their running calls (for
 * `timeout` ms at most), gives up on those still running and gives them
 * {@linkcode ABORT_GRACE} ms to return, then closes every connection: at
 * once where a call was given up on (its client waits for nothing else),
 * elsewhere once its client closed it, or after {@linkcode SHUTDOWN_GRACE} ms.
 *
 * @param sessions The connections open when the shutdown began.
 * @param timeout The longest wait for running calls, in milliseconds.
 * @returns Resolves once every connection is closed.
 */
export async function retireAll(
  sessions: readonly Retiring[],
  timeout: number,
): Promise<void> {
  for (const session of sessions) session.sayGoodbye();
  const givenUp = await stopRunning(sessions, timeout);
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down.",
  );
  // Clients close when their calls are answered; wait a moment for them.
  // One whose call was given up on waits for an answer that will not come.
  await Promise.all(sessions.map(async (session) => {
    await (givenUp.has(session)
      ? session.close(reason)
      : session.retire(SHUTDOWN_GRACE, reason));
    await session.closed;
  }));
}

/**
 * Waits for the calls of `running` to end, `timeout` ms at most; then
 * gives up on those still running (their signals' reason a
 * `CONNECTION_CLOSED` `ClientError`), and waits {@linkcode ABORT_GRACE} ms
 * more at most for their handlers to return.
 *
 * @param running What runs the calls.
 * @param timeout The longest wait, in milliseconds.
 * @returns Those of `running` that had calls given up on.
 */
export async function stopRunning<T extends Running>(
  running: readonly T[],
  timeout: number,
): Promise<ReadonlySet<T>> {
  const givenUp = new Set<T>();
  if (await idleWithin(running, timeout)) return givenUp;
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down while the call ran: it outlived the shutdown timeout.",
  );
  for (const calls of running) {
    if (calls.abortHandlers(reason) > 0) givenUp.add(calls);
  }
  await idleWithin(running, ABORT_GRACE);
  return givenUp;
}

/** Whether every call of `running` ended within `ms` milliseconds. */
async function idleWithin(
  running: readonly Running[],
  ms: number,
): Promise<boolean> {
  let timer: TimerHandle | undefined;
  const isIdle = await Promise.race([
    Promise.all(running.map((calls) => calls.whenIdle())).then(() => true),
    // A timer that keeps the process alive: the shutdown is awaited.
    new Promise<boolean>((resolve) =>
      timer = setTimeout(() => resolve(false), ms)
    ),
  ]);
  clearTimeout(timer);
  return isIdle;
}
