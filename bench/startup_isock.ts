/**
 * Startup, isock: imports the library, makes a server and listens, prints
 * {@linkcode StartupReport}, and exits. bench/footprint.ts times it next to
 * startup_bare.ts, so nothing else is imported here.
 *
 * @module
 */

import { Server } from "../mod.ts";
import type { StartupReport } from "./startup_bare.ts";

const server = new Server({ hostname: "127.0.0.1", port: 0 });
const { port } = await server.listen();
const report: StartupReport = { port, listenedAtMs: performance.now() };
console.log(JSON.stringify(report));
await server.shutdown();
