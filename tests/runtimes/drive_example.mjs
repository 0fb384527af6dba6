// Drives Debian's Chromium headless through playwright-core on the browser
// example's page (examples/browser/): argv[2] is its URL, argv[3] a fresh
// profile folder. Prints one JSON line once the page is connected and its
// buttons answered, waits for a line on standard input (the server is
// being restarted), then prints a second once the page has reconnected
// and its clock goes on. Exits within argv[4] ms (default 120 s).
import { exitAfter, launchChromium } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [url, profile, limit = "120000"] = process.argv.slice(2);
const timer = exitAfter(limit, "example");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const context = await launchChromium(profile);
const pageErrors = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  const text = (id) => page.textContent(`#${id}`);
  const tick = async () =>
    Number((await text("clock")).match(/tick (\d+)/)?.[1] ?? 0);
  await page.goto(url);
  await page.waitForFunction(() =>
    document.getElementById("status").textContent === "connected" &&
    /tick [2-9]/.test(document.getElementById("clock").textContent)
  );
  for (
    const [button, output] of [["echo", "echoed"], ["time", "now"], [
      "exec",
      "execOut",
    ]]
  ) {
    await page.click(`#${button}`);
    await page.waitForFunction(
      (id) => document.getElementById(id).textContent !== "",
      output,
    );
  }
  const lastTick = await tick();
  console.log(JSON.stringify({
    echoed: await text("echoed"),
    now: await text("now"),
    execOut: (await text("execOut")).trim(),
    lastTick,
  }));
  await lines.next();
  // The server is restarting: the page says so, then reconnects.
  const statuses = new Set();
  const deadline = Date.now() + 60_000;
  let seen = await tick();
  const ticks = [lastTick];
  while (Date.now() < deadline) {
    statuses.add(await text("status"));
    seen = await tick();
    if (seen !== 0 && seen !== ticks.at(-1)) ticks.push(seen);
    if (
      statuses.has("reconnecting…") && seen > lastTick + 1 &&
      await text("status") === "connected"
    ) break;
    await page.waitForTimeout(50);
  }
  console.log(
    JSON.stringify({ statuses: [...statuses], ticks, pageErrors }),
  );
} finally {
  await context.close();
  clearTimeout(timer);
  process.stdin.destroy();
}
