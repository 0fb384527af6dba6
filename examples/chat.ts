/**
 * A chat room: clients join a server and send messages; the server passes
 * each message on to everyone by calling the `receive` action each client
 * offers (two-way calls).
 *
 *     deno task chat                      # a demo: a server and three clients in one program
 *     deno task chat serve [port]         # a server, for real use
 *     deno task chat join NAME [host] [port]   # a client: type lines to send them
 *
 * @module
 */

import { action, Client, type Peer, Server } from "@isock/isock";

/** A message as everyone receives it. */
export interface ChatMessage {
  from: string;
  text: string;
  at: Date;
}

/** Client → server: take this name in the room. */
export const join = action<string, string[]>("join");
/** Client → server: say something to the room. */
export const say = action<string, void>("say");
/** Server → client: a message for you (offered by every client). */
export const receive = action<ChatMessage, void>("receive");

/** A chat server: it knows who is who, and passes every message on to all. */
export function chatServer(options: { port?: number } = {}): Server {
  const names = new Map<Peer, string>();
  const server = new Server({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const broadcast = async (message: ChatMessage) => {
    // Everyone at once; one slow or gone client holds up no one else.
    await Promise.allSettled(
      server.peers.map((peer) =>
        peer.runAction(receive, message, { timeout: 5000 })
      ),
    );
  };
  server.addAction(join, async (name, context) => {
    names.set(context.peer, name);
    await broadcast({ from: "room", text: `${name} joined`, at: new Date() });
    return [...names.values()];
  });
  server.addAction(say, async (text, context) => {
    const from = names.get(context.peer) ?? "someone";
    await broadcast({ from, text, at: new Date() });
  });
  server.addEventListener("disconnect", ({ detail: { peer } }) => {
    const name = names.get(peer);
    if (name === undefined) return;
    names.delete(peer);
    broadcast({ from: "room", text: `${name} left`, at: new Date() });
  });
  return server;
}

/** A chat client that hands each message it receives to `onMessage`. */
export function chatClient(
  port: number,
  onMessage: (message: ChatMessage) => void,
  hostname = "127.0.0.1",
): Client {
  return new Client({ hostname, port }).addAction(receive, onMessage);
}

function show(name: string, message: ChatMessage): void {
  console.log(`[${name}] ${message.from}: ${message.text}`);
}

async function demo(): Promise<void> {
  await using server = chatServer();
  const { port } = await server.listen();
  const names = ["alice", "bob", "carol"];
  const clients = names.map((name) =>
    chatClient(port, (message) => show(name, message))
  );
  try {
    for (const [i, client] of clients.entries()) {
      await client.runAction(join, names[i]);
    }
    await clients[0].runAction(say, "hello, room");
    await clients[1].runAction(say, "hi alice");
    await clients[2].runAction(say, "hey both");
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

async function serve(port: number): Promise<void> {
  const server = chatServer({ port });
  const address = await server.listen();
  console.log(
    `Chat server on ${address.hostname}:${address.port}. Ctrl+C stops it.`,
  );
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
}

async function chat(
  name: string,
  hostname: string,
  port: number,
): Promise<void> {
  await using client = chatClient(
    port,
    (message) => show(name, message),
    hostname,
  );
  const present = await client.runAction(join, name);
  console.log(
    `In the room: ${
      present.join(", ")
    }. Type a line to send it; Ctrl+D leaves.`,
  );
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let pending = "";
  for await (const chunk of lines) {
    pending += chunk;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const line of parts) {
      if (line.trim()) await client.runAction(say, line);
    }
  }
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "serve") await serve(Number(rest[0] ?? 4441));
  else if (mode === "join") {
    await chat(
      rest[0] ?? "guest",
      rest[1] ?? "127.0.0.1",
      Number(rest[2] ?? 4441),
    );
  } else await demo();
}
