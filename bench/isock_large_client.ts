/**
 * One large echo, for bench/footprint.ts: connects, echoes one
 * `payloadBytes` Uint8Array, checks the answer, prints
 * {@linkcode LargeEchoReport}, and stays up until standard input ends, so
 * that the orchestrator can read its peak memory.
 *
 * @module
 */

import { DENO_RUNTIME, readConfig } from "./child.ts";
import { isockEchoClient } from "./isock_echo.ts";
import { echoCheck, patternedBytes } from "./workloads.ts";

/** The argument of this program. */
export interface LargeEchoConfig {
  /** The server's port on 127.0.0.1. */
  readonly port: number;
  /** The payload's size. */
  readonly payloadBytes: number;
  /** The client's (and the server's) frame size limit. */
  readonly maxFrameSize: number;
}

/** What this program prints. */
export interface LargeEchoReport {
  /** The process's RSS once connected, before the payload was made. */
  readonly rssBeforeBytes: number;
  /** How long the echo took. */
  readonly seconds: number;
}

const { port, payloadBytes, maxFrameSize } = readConfig<LargeEchoConfig>();
const client = isockEchoClient(port, { maxFrameSize });
try {
  await client.echo(0);
  const rssBeforeBytes = Deno.memoryUsage().rss;
  const payload = patternedBytes(payloadBytes);
  const started = performance.now();
  echoCheck("large echo", payload)(await client.echo(payload), 0);
  const report: LargeEchoReport = {
    rssBeforeBytes,
    seconds: (performance.now() - started) / 1000,
  };
  console.log(JSON.stringify(report));
  await DENO_RUNTIME.stdinEnd();
} finally {
  await client.close();
}
