// Shared by the browser drivers: Debian's Chromium headless through
// playwright-core (no browser build is downloaded), and a watchdog that
// ends the run whatever happens.
import { chromium } from "playwright-core";

/** Exits with status 2 after `limit` ms; returns the timer to clear. */
export function exitAfter(limit, what) {
  return setTimeout(() => {
    console.error(`the ${what} run timed out`);
    process.exit(2);
  }, Number(limit));
}

/** Opens Chromium headless with a fresh profile in the folder `profile`. */
export function launchChromium(profile) {
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
