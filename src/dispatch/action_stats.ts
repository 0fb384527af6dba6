/**
 * Per-action stats: how often each action was called, how often it failed,
 * how many of its calls run now, how long they took, and its last error.
 * The server owns one {@linkcode ActionStatsTable}; each connection's
 * requests feed it through the narrow {@linkcode CallRecorder}.
 *
 * @module
 */

import type { WireError } from "../protocol/wire_error.ts";

/** The last error an action answered with. */
export interface ActionLastError {
  /** The error's stable code, e.g. `ACTION_FAILED` or `INVALID_INPUT`. */
  readonly code: string;
  /** The error's message, as sent to the caller. */
  readonly message: string;
  /** When the call failed. */
  readonly time: Date;
}

/**
 * The stats of one action, as `server.stats()` returns them. Close to
 * a NATS micro endpoint's stats (`$SRV.STATS`), with JavaScript names and
 * milliseconds:
 *
 * | here                    | NATS micro                          |
 * | ----------------------- | ----------------------------------- |
 * | `name`                  | `name`                              |
 * | `calls`                 | `num_requests`                      |
 * | `errors`                | `num_errors`                        |
 * | `running`               | (none)                              |
 * | `processingTime`        | `processing_time` (ns, here ms)     |
 * | `averageProcessingTime` | `average_processing_time` (ns → ms) |
 * | `lastError`             | `last_error` (`"code: message"`)    |
 *
 * A call counts once it is answered (like NATS, which counts a request when
 * its handler returns): `calls` are the answered calls, `running` those in
 * flight now, so `calls + running` were received.
 */
export interface ActionStats {
  /** The action's name. */
  readonly name: string;
  /** Calls answered, with a result, an error, or the end of their stream. */
  readonly calls: number;
  /**
   * Calls answered with an error: the handler threw, its input failed the
   * schema (`INVALID_INPUT`), its result failed the output schema, its
   * stream failed part way, or the caller's deadline passed while it ran
   * (`TIMEOUT`: counted then, once, whenever its handler returns). Included
   * in `calls`.
   */
  readonly errors: number;
  /** Calls running now (a streamed result runs until its stream ends). */
  readonly running: number;
  /**
   * Milliseconds spent on the answered calls, in total: from the request
   * being taken to its answer (the end, for a stream, so the time the caller
   * took to read it is included).
   */
  readonly processingTime: number;
  /** `processingTime / calls`; 0 before the first call. */
  readonly averageProcessingTime: number;
  /** The last error answered, if any. */
  readonly lastError?: ActionLastError;
}

/**
 * A server's stats, as `server.stats()` returns them: plain objects, a
 * snapshot that later calls do not change. NATS micro's `$SRV.STATS` has
 * the same numbers (see {@linkcode ActionStats} for the names).
 *
 * @example Watch an action fail
 * ```ts
 * import { action, Client, Server, type ServerStats } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const half = action("half", (n: number) => {
 *   if (n % 2 !== 0) throw new Error(`${n} is odd`);
 *   return n / 2;
 * });
 * await using server = new Server({ hostname: "127.0.0.1", port: 0 });
 * server.addAction(half);
 * const { port } = await server.listen();
 * await using client = new Client({ hostname: "127.0.0.1", port });
 * await client.runAction(half, 4);
 * await assert.rejects(client.runAction(half, 3));
 *
 * const stats: ServerStats = server.stats({ reset: true });
 * const [entry] = stats.actions;
 * assert.equal(entry.calls, 2);
 * assert.equal(entry.errors, 1);
 * assert.equal(entry.lastError?.code, "ACTION_FAILED");
 * assert.equal(entry.lastError?.message, "3 is odd");
 * assert.equal(server.stats().actions[0].calls, 0); // reset
 * ```
 */
export interface ServerStats {
  /** Since when these numbers count: the server's creation, or the last reset (NATS `started`). */
  readonly started: Date;
  /**
   * One entry per action: every action offered now (in the order added),
   * then those called since `started` and removed or built in (such as
   * the describe request). NATS calls these `endpoints`.
   */
  readonly actions: readonly ActionStats[];
  /**
   * Requests that named no action here (answered `UNKNOWN_ACTION`). They
   * count nowhere else: no action ran. Requests refused before their action
   * ran (`OVERLOADED`, a closing connection, data that could not be
   * decoded) are not counted at all.
   */
  readonly unknownActions: number;
}

/** Options of `server.stats()`. */
export interface StatsOptions {
  /**
   * Start counting afresh once read: calls, errors, times, the last error
   * and `unknownActions` go back to zero, `started` to now. Calls running
   * stay counted as running, and count as calls when they end.
   *
   * @default {false}
   */
  reset?: boolean;
}

/**
 * The live counters of one action. A call takes them at its start and
 * gives them back at its end, so the action's name is looked up once.
 */
export class ActionCounters {
  /** Calls answered. */
  calls = 0;
  /** Calls answered with an error. */
  errors = 0;
  /** Calls running now; a reset leaves it alone. */
  running = 0;
  /** Milliseconds of the answered calls. */
  processingTime = 0;
  /** The last error's code; none before the first error. */
  lastErrorCode: string | undefined = undefined;
  /** The last error's message. */
  lastErrorMessage = "";
  /** When the last error happened, in milliseconds since the epoch. */
  lastErrorTime = 0;

  /**
   * A call started.
   *
   * @returns The start time, to hand to {@linkcode ActionCounters.finish}.
   */
  start(): number {
    this.running++;
    // Date.now() costs less than half of performance.now() here (an op
    // each), and this runs twice a call. Its millisecond steps average out:
    // a call of d ms that starts at a random point of a millisecond is
    // counted as 1 ms with probability d, so totals and averages are
    // unbiased over many calls.
    return Date.now();
  }

  /**
   * A call ended.
   *
   * @param startedAt What {@linkcode ActionCounters.start} returned.
   * @param error The error it answered with, if it failed.
   */
  finish(startedAt: number, error: WireError | undefined): void {
    this.running--;
    this.calls++;
    this.processingTime += Math.max(0, Date.now() - startedAt);
    if (error !== undefined) {
      this.errors++;
      this.lastErrorCode = error.code;
      this.lastErrorMessage = error.message;
      this.lastErrorTime = Date.now();
    }
  }

  /** Forgets everything but the calls running now. */
  reset(): void {
    this.calls = this.errors = this.processingTime = 0;
    this.lastErrorCode = undefined;
    this.lastErrorMessage = "";
    this.lastErrorTime = 0;
  }
}

/**
 * What a connection needs to count the calls it runs: the server's
 * {@linkcode ActionStatsTable} implements it.
 */
export interface CallRecorder {
  /** The counters of the action named `name`. */
  counters(name: string): ActionCounters;
  /** A request named no action. */
  unknownAction(): void;
}

/**
 * A server's stats for all its connections.
 *
 * @example
 * ```ts
 * import { ActionStatsTable } from "./action_stats.ts";
 * import assert from "node:assert/strict";
 *
 * const table = new ActionStatsTable();
 * const counters = table.counters("echo");
 * counters.finish(counters.start(), undefined);
 * const [echo] = table.snapshot(["echo"]).actions;
 * assert.equal(echo.calls, 1);
 * assert.equal(echo.running, 0);
 * ```
 */
export class ActionStatsTable implements CallRecorder {
  readonly #byName = new Map<string, ActionCounters>();
  #unknownActions = 0;
  #started = Date.now();

  /**
   * The counters of an action, made on its first call.
   *
   * @param name The action's name.
   * @returns Its counters.
   */
  counters(name: string): ActionCounters {
    let counters = this.#byName.get(name);
    if (counters === undefined) {
      counters = new ActionCounters();
      this.#byName.set(name, counters);
    }
    return counters;
  }

  /** A request named no action. */
  unknownAction(): void {
    this.#unknownActions++;
  }

  /**
   * The numbers now, as plain objects.
   *
   * @param offered The names of the actions offered now, listed first (with
   * zeros when never called).
   * @param reset Whether to start counting afresh after reading (calls
   * running go on counting as running, and count as calls when they end).
   * @returns The snapshot.
   */
  snapshot(offered: readonly string[], reset = false): ServerStats {
    const actions: ActionStats[] = [];
    const listed = new Set<string>();
    for (const name of offered) {
      listed.add(name);
      actions.push(entry(name, this.#byName.get(name)));
    }
    for (const [name, counters] of this.#byName) {
      if (listed.has(name)) continue;
      if (counters.calls > 0 || counters.running > 0) {
        actions.push(entry(name, counters));
      }
    }
    const stats: ServerStats = {
      started: new Date(this.#started),
      actions,
      unknownActions: this.#unknownActions,
    };
    if (reset) {
      for (const counters of this.#byName.values()) counters.reset();
      this.#unknownActions = 0;
      this.#started = Date.now();
    }
    return stats;
  }
}

function entry(
  name: string,
  counters: ActionCounters | undefined,
): ActionStats {
  if (counters === undefined) {
    return {
      name,
      calls: 0,
      errors: 0,
      running: 0,
      processingTime: 0,
      averageProcessingTime: 0,
    };
  }
  const { calls, errors, running, processingTime } = counters;
  const stats = {
    name,
    calls,
    errors,
    running,
    processingTime,
    averageProcessingTime: calls === 0 ? 0 : processingTime / calls,
  };
  if (counters.lastErrorCode === undefined) return stats;
  return {
    ...stats,
    lastError: {
      code: counters.lastErrorCode,
      message: counters.lastErrorMessage,
      time: new Date(counters.lastErrorTime),
    },
  };
}
