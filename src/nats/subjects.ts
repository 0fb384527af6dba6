/**
 * The NATS subjects of a service (PROTOCOL.md, "Over NATS"): a request
 * subject per action under the service's own subject, which every instance
 * subscribes with a wildcard in the service's queue group; the control
 * subject of one instance, where everything after a call's first message
 * goes; and the subject every instance hears, for cancels sent before the
 * caller knows which instance took its call.
 *
 * @module
 */

/** The prefix of isock's subjects, unless the bus names another. */
export const DEFAULT_PREFIX = "isock";

/** What a service name, a queue group and each prefix token may hold (as NATS micro). */
const NAME = /^[A-Za-z0-9_-]+$/;
/** An action name that is a valid subject as it is: tokens of safe characters. */
const PLAIN_ACTION = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Whether `name` can name a service or a queue group: letters, digits, `_`
 * and `-` (the NATS micro rule).
 *
 * @param name The name.
 * @returns Whether it is valid.
 */
export function isServiceName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name);
}

/**
 * Whether `prefix` can prefix isock's subjects: one or more such names
 * joined by dots.
 *
 * @param prefix The prefix.
 * @returns Whether it is valid.
 */
export function isSubjectPrefix(prefix: unknown): prefix is string {
  return typeof prefix === "string" && PLAIN_ACTION.test(prefix);
}

/**
 * The subject a call to `action` is published to. An action name made of
 * letters, digits, `_`, `-` and single inner dots is used as it is; any
 * other name has each other character written as `%` and the two hex
 * digits of each of its UTF-8 bytes (dots included), so that every name
 * makes a valid subject and no two names make the same one.
 *
 * @param prefix The subjects' prefix (`"isock"` by default).
 * @param service The service name.
 * @param action The action name.
 * @returns The subject.
 *
 * @example
 * ```ts
 * import { actionSubject } from "./subjects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(actionSubject("isock", "lab", "math.add"), "isock.lab.math.add");
 * assert.equal(actionSubject("isock", "lab", "say hi"), "isock.lab.say%20hi");
 * ```
 */
export function actionSubject(
  prefix: string,
  service: string,
  action: string,
): string {
  return `${prefix}.${service}.${actionToken(action)}`;
}

/**
 * The subject that matches every action subject of a service: what each
 * instance subscribes in the queue group.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @returns `<prefix>.<service>.>`.
 */
export function serviceSubject(prefix: string, service: string): string {
  return `${prefix}.${service}.>`;
}

/**
 * The control subject of one instance: credit, cancels, input items and the
 * rest of a large request's pieces go there, with the call's reply subject
 * as their reply subject.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @param instance The instance id.
 * @returns `<prefix>.$I.<service>.<instance>`.
 */
export function instanceSubject(
  prefix: string,
  service: string,
  instance: string,
): string {
  return `${prefix}.$I.${service}.${instance}`;
}

/**
 * The subject every instance of a service hears (no queue group): a cancel
 * for a call whose instance the caller does not know yet goes there.
 *
 * @param prefix The subjects' prefix.
 * @param service The service name.
 * @returns `<prefix>.$C.<service>`.
 */
export function cancelSubject(prefix: string, service: string): string {
  return `${prefix}.$C.${service}`;
}

/** An action name as one or more subject tokens. */
function actionToken(action: string): string {
  if (PLAIN_ACTION.test(action)) return action;
  let token = "";
  for (const char of action) {
    if (/^[A-Za-z0-9_-]$/.test(char)) {
      token += char;
      continue;
    }
    for (const byte of new TextEncoder().encode(char)) {
      token += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return token;
}
