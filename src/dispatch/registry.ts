/**
 * The actions a side offers its peer, by name: a server's for its clients,
 * and a client's for its server (two-way calls). Shared by both so that
 * both check actions the same way.
 *
 * @module
 */

import {
  type Action,
  action,
  type ActionHandler,
  type ActionOptions,
  isAction,
} from "./action.ts";
import { type ActionRef, isActionRef } from "./peer.ts";
import type { ClientError, ServerError } from "../base/errors.ts";
import { DESCRIBE_ACTION, RESERVED_PREFIX } from "./description.ts";
import { describeAction } from "./reflection.ts";

/** Makes the error a registry throws: a `ServerError` on servers, a `ClientError` on clients. */
export type RegistryErrorFactory = (
  code: "INVALID_ACTION" | "DUPLICATE_ACTION",
  message: string,
) => ServerError | ClientError;

/** Options of an {@linkcode ActionRegistry}. */
export interface RegistryOptions {
  /** Whether the built-in describe request is answered (reflection.ts). */
  readonly reflection?: boolean;
}

/** Actions by name, checked as they are added. */
export class ActionRegistry {
  readonly #actions = new Map<string, Action>();
  readonly #error: RegistryErrorFactory;
  /** The built-in describe action, when reflection is on. */
  readonly #describe: Action | undefined;
  /**
   * Finds an action by name; what the session calls for each request. The
   * built-in requests are looked for only when no action has the name.
   */
  readonly find = (name: string): Action | undefined =>
    this.#actions.get(name) ??
      (name === DESCRIBE_ACTION ? this.#describe : undefined);

  /**
   * @param error Makes the errors thrown for bad or duplicate actions.
   * @param options Whether reflection is on (it is by default).
   */
  constructor(error: RegistryErrorFactory, options: RegistryOptions = {}) {
    this.#error = error;
    this.#describe = options.reflection === false
      ? undefined
      : describeAction(() => this.#actions.values());
  }

  /**
   * Adds an action, or a reference with its handler.
   *
   * @throws `INVALID_ACTION` for anything that is not an action (or a
   * reference with a function), `DUPLICATE_ACTION` for a name taken.
   */
  add<I, O>(ref: ActionRef<I, O>, handler?: ActionHandler<I, O>): void {
    const registered = handler === undefined
      ? this.#checkAction(ref)
      : this.#checkReference(ref, handler);
    if (registered.name.startsWith(RESERVED_PREFIX)) {
      throw this.#error(
        "INVALID_ACTION",
        `Action names beginning with "${RESERVED_PREFIX}" are reserved for isock's built-in requests; "${registered.name}" cannot be added.`,
      );
    }
    if (this.#actions.has(registered.name)) {
      throw this.#error(
        "DUPLICATE_ACTION",
        `An action named "${registered.name}" is already registered: remove it first, or use another name.`,
      );
    }
    this.#actions.set(registered.name, registered);
  }

  /** Removes an action by name or reference; returns whether there was one. */
  remove(ref: string | ActionRef): boolean {
    return this.#actions.delete(typeof ref === "string" ? ref : ref?.name);
  }

  /** How many actions there are. */
  get size(): number {
    return this.#actions.size;
  }

  /** The names, in the order they were added. */
  get names(): readonly string[] {
    return Object.freeze([...this.#actions.keys()]);
  }

  #checkAction(value: unknown): Action {
    if (!isAction(value)) {
      throw this.#error(
        "INVALID_ACTION",
        `addAction() takes an action, { name, handler }, as made by action("name", handler); got ${
          describeValue(value)
        }.`,
      );
    }
    return value;
  }

  #checkReference(ref: unknown, handler: unknown): Action {
    if (!isActionRef(ref)) {
      throw this.#error(
        "INVALID_ACTION",
        `addAction(ref, handler) takes a reference made by action("name"); got ${
          describeValue(ref)
        }.`,
      );
    }
    if (typeof handler !== "function") {
      throw this.#error(
        "INVALID_ACTION",
        `The handler for action "${ref.name}" must be a function; got ${
          describeValue(handler)
        }.`,
      );
    }
    const { input, output, idempotent } = ref;
    return action(
      ref.name,
      { input, output, idempotent } as ActionOptions,
      handler as ActionHandler<unknown, unknown>,
    ) as Action;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") {
    return value.prototype !== undefined && /^class\b/.test(String(value))
      ? `the class ${value.name} (pass an instance or an action)`
      : "a function";
  }
  if (typeof value === "object") {
    const name = (value as { name?: unknown }).name;
    return typeof name === "string" && name.length === 0
      ? "an action with an empty name"
      : typeof name === "string"
      ? `an object named "${name}" without a handler`
      : "an object without a name";
  }
  return `a ${typeof value}`;
}
