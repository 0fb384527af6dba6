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
  /** Aborts the signals of the calls still running (their answers still go). */
  abortHandlers(reason: IsockError): void;
}

/** What a shutdown needs from a connection (the session implements it). */
export interface Retiring extends Running {
  /** Tells the peer the connection is going away; it sends nothing new. */
  sayGoodbye(): void;
  /** How many of the peer's calls run now. */
  readonly activeHandlers: number;
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
export const SHUTDOWN_GRACE = 500;

/**
 * How long shutdown waits, once it aborted the signals of the calls that
 * outlived its timeout, for their handlers to return: their `finally`
 * blocks run, and their answers go, before the connections close.
 */
export const ABORT_GRACE = 250;

/**
 * Says goodbye on every connection, waits for their running calls (for
 * `timeout` ms at most), aborts the signals of those still running and
 * gives them {@linkcode ABORT_GRACE} ms to return, then closes every
 * connection: one with no call left running once its client closed it
 * (or after {@linkcode SHUTDOWN_GRACE} ms), the others at once.
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
  await stopRunning(sessions, timeout);
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down.",
  );
  // Clients close when their calls are answered; wait a moment for them.
  // One whose call is still running waits for an answer that will not come.
  await Promise.all(sessions.map(async (session) => {
    await (session.activeHandlers > 0
      ? session.close(reason)
      : session.retire(SHUTDOWN_GRACE, reason));
    await session.closed;
  }));
}

/**
 * Waits for the calls of `running` to end, `timeout` ms at most; then
 * aborts the signals of those still running (their reason a
 * `CONNECTION_CLOSED` `ClientError`), and waits {@linkcode ABORT_GRACE} ms
 * more at most for them to return.
 *
 * @param running What runs the calls.
 * @param timeout The longest wait, in milliseconds.
 * @returns Resolves once every call ended, or the waits are over.
 */
export async function stopRunning(
  running: readonly Running[],
  timeout: number,
): Promise<void> {
  if (await idleWithin(running, timeout)) return;
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down while the call ran: it outlived the shutdown timeout.",
  );
  for (const calls of running) calls.abortHandlers(reason);
  await idleWithin(running, ABORT_GRACE);
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
