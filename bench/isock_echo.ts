/**
 * The action the isock server offers and the isock client calls.
 *
 * @module
 */

import { action } from "../mod.ts";

/** Answers with its input. */
export const echo = action("echo", (data: unknown) => data);
