// Drives Debian's Chromium headless through playwright-core (no browser
// build is downloaded): opens the page at argv[2] with a fresh profile in
// argv[3], waits for the cases it runs, and prints their results as one
// JSON line. Exits within argv[4] ms (default 120 s) whatever happens.
import { exitAfter, launchChromium } from "./chromium.mjs";

const [url, profile, limit = "120000"] = process.argv.slice(2);
const timer = exitAfter(limit, "browser");

const context = await launchChromium(profile);
const pageErrors = [];
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await page.goto(url);
  await page.waitForFunction(() => globalThis.isockResults !== undefined);
  const results = await page.evaluate(() => globalThis.isockResults);
  process.stdout.write(JSON.stringify({ results, pageErrors }) + "\n");
} finally {
  await context.close();
  clearTimeout(timer);
}
