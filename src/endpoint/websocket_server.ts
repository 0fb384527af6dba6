/**
 * A server's WebSocket side, beside its TCP listener: a fetch-style
 * handler that upgrades a request (`Deno.serve`), and the sessions of
 * WebSockets accepted elsewhere (Node's `ws` package, `Deno.upgradeWebSocket`).
 * Each WebSocket becomes a transport the server admits like a TCP
 * connection: the same actions, limits, stats, middleware and shutdown.
 *
 * @module
 */

import type { Transport, TransportOptions } from "../wire/transport.ts";
import {
  CLOSE_CODES,
  type WebSocketLike,
  webSocketTransport,
} from "../wire/websocket_transport.ts";
import type { PeerAddress } from "../wire/transport.ts";

/** What the WebSocket side needs of its server. */
export interface WebSocketHost {
  /** Whether the server is shutting down: new WebSockets are refused. */
  readonly isRefusing: boolean;
  /** The frame limits of every connection. */
  readonly frames: TransportOptions;
  /** Resolves once the server can check clients (its secret is imported). */
  ready(): Promise<unknown>;
  /** Serves a new connection, or refuses it over `maxConnections`. */
  serve(transport: Transport): void;
}

/** What `Deno.serve` hands its handler beside the request: where the client is. */
export interface UpgradeInfo {
  /** The client's address. */
  readonly remoteAddr?: { readonly hostname?: string; readonly port?: number };
}

/**
 * Upgrades a request to a WebSocket session, or answers why not: 426 for
 * a request that is not a WebSocket upgrade, 503 while the server shuts
 * down, 501 where the runtime has no `Deno.upgradeWebSocket`, 400 for an
 * upgrade the runtime refuses.
 *
 * @param host The server.
 * @param request The HTTP request.
 * @param info Where the client is, as `Deno.serve` says.
 * @returns The response to send.
 */
export function upgradeRequest(
  host: WebSocketHost,
  request: Request,
  info?: UpgradeInfo,
): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return textResponse(
      426,
      'This endpoint speaks isock over WebSocket: connect with new Client({ url: "ws://…" }).',
      { upgrade: "websocket" },
    );
  }
  if (host.isRefusing) {
    return textResponse(503, "The server is shutting down.");
  }
  const upgrade = (globalThis as {
    Deno?: {
      upgradeWebSocket?: (
        request: Request,
      ) => { socket: WebSocketLike; response: Response };
    };
  }).Deno?.upgradeWebSocket;
  if (typeof upgrade !== "function") {
    return textResponse(
      501,
      "This runtime cannot upgrade a Request (Deno can): accept the WebSocket yourself and pass it to server.accept(socket).",
    );
  }
  // Deno answers where the client is only until the request is upgraded.
  const peer = requestPeer(info);
  let upgraded: { socket: WebSocketLike; response: Response };
  try {
    upgraded = upgrade(request);
  } catch (error) {
    return textResponse(
      400,
      `Not a valid WebSocket upgrade: ${(error as Error)?.message ?? error}`,
    );
  }
  acceptSocket(host, upgraded.socket, peer);
  return upgraded.response;
}

/**
 * Serves an open or opening WebSocket; one that is closing or closed is
 * left alone. While the server shuts down the WebSocket is closed at once
 * (code 1001).
 *
 * @param host The server.
 * @param socket The WebSocket; owned from now on.
 * @param peer Where the client is, when known.
 */
export function acceptSocket(
  host: WebSocketHost,
  socket: WebSocketLike,
  peer: PeerAddress = { hostname: "", port: 0, transport: "websocket" },
): void {
  if (socket.readyState > 1) return;
  const transport = webSocketTransport(socket, peer, host.frames);
  if (host.isRefusing) {
    transport.closeWith(CLOSE_CODES.goingAway, "The server is shutting down.");
    return;
  }
  host.ready().then(
    () => {
      if (!host.isRefusing) host.serve(transport);
      else {
        transport.closeWith(
          CLOSE_CODES.goingAway,
          "The server is shutting down.",
        );
      }
    },
    () => transport.closeWith(CLOSE_CODES.internal, "The server failed."),
  );
}

function requestPeer(info: UpgradeInfo | undefined): PeerAddress {
  let address: UpgradeInfo["remoteAddr"];
  try {
    address = info?.remoteAddr;
  } catch {
    // A request already closed has no address.
  }
  return {
    hostname: address?.hostname ?? "",
    port: address?.port ?? 0,
    transport: "websocket",
  };
}

function textResponse(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
