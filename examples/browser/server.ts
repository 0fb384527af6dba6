/**
 * The browser example's server: a Deno server offering the example's
 * actions (echo, time, exec, execHistory) and a live clock, served with
 * the page and the browser bundle of isock on one port. Run
 *
 *     deno task example:browser [port]
 *
 * and open the URL it prints. Stop it with Ctrl+C and start it again: the
 * page reconnects, and its clock picks up where it left off.
 *
 * @module
 */

import { action, Server, tracked } from "@isock/isock";
import { addExampleActions } from "../actions.ts";

/**
 * The time, every second, after tick `after`. Each tick is tracked, so a
 * stream cut by a dropped connection resumes after the last one the page
 * got; a page whose server was down longer starts a new stream after its
 * last tick itself.
 */
export const clock = action(
  "clock",
  async function* (after: number | undefined, context) {
    // Endless: the server stops it when the page leaves or the connection
    // drops. (Ending it when the signal aborts would end the stream cleanly
    // at a shutdown.)
    const last = Number(context.lastEventId ?? after ?? 0);
    for (let tick = last + 1;; tick++) {
      yield tracked(`${tick}`, { tick, time: new Date() });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  },
);

const HERE = new URL("./", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

/** `deno bundle --platform browser --minify mod.ts`: the module the page imports. */
async function bundleIsock(): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--minify", "mod.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

const port = Number(Deno.args[0] ?? 8080);
const server = addExampleActions(new Server()).addAction(clock);
const files: Record<string, [string, string]> = {
  "/": [
    await Deno.readTextFile(new URL("index.html", HERE)),
    "text/html; charset=utf-8",
  ],
  "/app.js": [
    await Deno.readTextFile(new URL("app.js", HERE)),
    "text/javascript",
  ],
  "/isock.js": [await bundleIsock(), "text/javascript"],
};

const http = Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen({ hostname, port }) {
    console.log(
      `Open http://${hostname}:${port}/ in a browser. Press Ctrl+C to stop.`,
    );
  },
}, (request, info) => {
  const { pathname } = new URL(request.url);
  if (pathname === "/isock") return server.upgrade(request, info);
  const file = files[pathname];
  if (file === undefined) return new Response("Not found", { status: 404 });
  return new Response(file[0], { headers: { "content-type": file[1] } });
});

const stop = async () => {
  console.log("Shutting down…");
  await server.shutdown({ timeout: 1_000 });
  await http.shutdown();
};
Deno.addSignalListener("SIGINT", stop);
await http.finished;
Deno.removeSignalListener("SIGINT", stop);
console.log("Stopped.");
