/**
 * Actions: what a server can do for its clients. An action is a plain
 * object, a name and a handler; a reference is the name alone, typed, for
 * the client side and for handlers that need the server's state. Keep them
 * in a file both programs import, as the types flow from there.
 *
 * @example An action, and a reference to it with a handler added later
 * ```ts
 * import { action, type ActionRef } from "@isock/isock";
 * import assert from "node:assert/strict";
 *
 * const echo = action("echo", (data: string) => data);
 * const greet: ActionRef<string, string> = { name: "greet" }; // a reference
 * assert.equal(echo.name, "echo");
 * assert.equal(greet.name, "greet");
 * ```
 *
 * @module
 */

export {
  type Action,
  action,
  type ActionContext,
  type ActionHandler,
  type ActionInput,
  type ActionOptions,
  type ActionOutput,
  type ActionRef,
} from "./src/dispatch/action.ts";
