// The browser example's page script: isock's browser bundle, a client over
// WebSocket, the example's actions, and a live stream that resumes after
// the server restarts.
import { Client } from "/isock.js";

const $ = (id) => document.getElementById(id);
const client = new Client({
  url: `ws://${location.host}/isock`,
  // Keep trying while the server restarts: up to ~2 minutes.
  retry: 60,
  retryDelay: 250,
  maxRetryDelay: 2_000,
});
client.addEventListener("connect", () => {
  $("status").textContent = "connected";
  $("status").className = "up";
});
client.addEventListener("disconnect", () => {
  $("status").textContent = "reconnecting…";
  $("status").className = "down";
});

async function show(id, call) {
  try {
    const value = await call();
    $(id).textContent = typeof value === "string"
      ? value
      : JSON.stringify(value, null, 1);
  } catch (error) {
    $(id).textContent = `${error.name} ${error.code}: ${error.message}`;
  }
}

$("echo").onclick = () =>
  show("echoed", () => client.runAction("echo", $("text").value));
$("time").onclick = () =>
  show("now", async () => (await client.runAction("time")).toISOString());
$("exec").onclick = () =>
  show("execOut", () => client.runAction("exec", ["hostname"]));
$("history").onclick = () =>
  show("execOut", () => client.runAction("execHistory"));

// The clock is tracked: after a reconnect it goes on from the last tick.
// A server that shut down makes the stream fail instead (a client tries
// a server that said goodbye once): start it again a little later, after
// the last tick seen.
let lastTick = 0;
for (;;) {
  try {
    for await (const { tick, time } of client.stream("clock", lastTick)) {
      lastTick = tick;
      $("clock").textContent = `tick ${tick}: ${time.toLocaleTimeString()}`;
    }
  } catch (error) {
    $("clock").textContent = `${error.code}: ${error.message}`;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}
