/**
 * Typed events: `Server` and `Client` are `EventTarget`s whose
 * `addEventListener` knows each event's `detail`.
 *
 * @module
 */

/**
 * An `EventTarget` whose events are `CustomEvent`s named in `EventMap`,
 * so that listeners get a typed `detail`.
 *
 * @typeParam EventMap The events, by name.
 *
 * @example Watch a server's clients come and go
 * ```ts
 * import { Client, Server } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * await using server = new Server();
 * const seen: string[] = [];
 * server.addEventListener("connect", (event) => seen.push(`hello ${event.detail.hostname}`));
 * const { port } = await server.listen();
 * await using client = new Client({ port });
 * await client.runAction("nothing").catch(() => {});
 * assert.deepStrictEqual(seen, ["hello 127.0.0.1"]);
 * ```
 */
export class IsockEventTarget<
  EventMap extends { [K in keyof EventMap]: CustomEvent },
> extends EventTarget {
  /**
   * Listens for one of the events in the map, with a typed `detail`.
   *
   * @param type The event.
   * @param listener Receives a `CustomEvent` whose `detail` describes it.
   * @param options As for `EventTarget`.
   */
  override addEventListener<K extends keyof EventMap & string>(
    type: K,
    listener: (event: EventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens for any event, untyped.
   *
   * @param type The event.
   * @param listener The listener.
   * @param options As for `EventTarget`.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener:
      | EventListenerOrEventListenerObject
      | ((event: never) => void)
      | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(
      type,
      listener as EventListenerOrEventListenerObject | null,
      options,
    );
  }

  /**
   * Dispatches an event of the map with its detail.
   *
   * @param type The event.
   * @param detail What it carries.
   */
  protected emit<K extends keyof EventMap & string>(
    type: K,
    detail: EventMap[K]["detail"],
  ): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
