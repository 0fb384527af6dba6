/**
 * A graceful shutdown of a server's connections: each is told the server is
 * going away, running calls get up to the shutdown's timeout to finish, and
 * then every connection closes.
 *
 * @module
 */

import { ClientError, type IsockError } from "../base/errors.ts";

/** What a shutdown needs from a connection (the session implements it). */
export interface Retiring {
  /** Tells the peer the connection is going away; it sends nothing new. */
  sayGoodbye(): void;
  /** Resolves once no call the peer made is running. */
  whenIdle(): Promise<void>;
  /**
   * Closes the connection once the peer has closed it, or after `grace` ms.
   *
   * @param grace The longest wait for the peer, in milliseconds.
   * @param reason What calls still waiting reject with.
   */
  retire(grace: number, reason?: IsockError): Promise<void>;
}

/** How long shutdown waits for clients to close once their calls are answered. */
const SHUTDOWN_GRACE = 500;

/**
 * Says goodbye on every connection, waits for their running calls (for
 * `timeout` ms at most), then closes them.
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(sessions.map((session) => session.whenIdle())),
    new Promise((resolve) => timer = setTimeout(resolve, timeout)),
  ]);
  clearTimeout(timer);
  const reason = new ClientError(
    "CONNECTION_CLOSED",
    "The server shut down.",
  );
  // Clients close when their calls are answered; wait a moment for them.
  await Promise.all(
    sessions.map((session) => session.retire(SHUTDOWN_GRACE, reason)),
  );
}
