/**
 * Startup, bare Deno: listens with `Deno.listen`, prints
 * {@linkcode StartupReport}, and exits; the reference for startup_isock.ts.
 *
 * @module
 */

/** What a startup program prints once it listens. */
export interface StartupReport {
  readonly port: number;
  /** `performance.now()` once listening: milliseconds since the runtime started. */
  readonly listenedAtMs: number;
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const report: StartupReport = {
  port: listener.addr.port,
  listenedAtMs: performance.now(),
};
console.log(JSON.stringify(report));
listener.close();
