/**
 * How an address is written in messages: `host:port`, IPv6 hosts in
 * brackets (`[::1]:4440`), a Unix socket by its path.
 *
 * @module
 */

/** Where a peer or a server is. */
export interface Address {
  /** The host name, IP address, or socket path. */
  readonly hostname: string;
  /** The port; unused for Unix sockets. */
  readonly port: number;
  /** The kind of connection. */
  readonly transport?: "tcp" | "unix" | "websocket";
}

/**
 * Writes an address for messages.
 *
 * @param address The host (or path) and port.
 * @returns `host:port`, `[v6]:port`, or the socket path.
 */
export function formatAddress(address: Address): string {
  if (address.transport === "unix") return address.hostname;
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}
