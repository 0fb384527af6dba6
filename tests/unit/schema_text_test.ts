/**
 * The schema summaries of `isock ls`: the shapes they show, and the budget
 * that bounds them whatever the server sends (each subschema looked at
 * once, a depth, a count, a length).
 */

import assert from "node:assert/strict";
import { summarize, template } from "../../src/cli/schema_text.ts";
import { explodingSchema } from "../hostile_server.ts";

type Schema = Record<string, unknown>;

function chain(levels: number): Schema {
  let schema: Schema = { type: "string" };
  for (let level = 0; level < levels; level++) schema = { anyOf: [schema] };
  return schema;
}

Deno.test("summarize: the shapes of ordinary schemas", () => {
  const cases: [Schema, string][] = [
    [{ type: "string" }, "string"],
    [{ type: ["string", "null"] }, "string | null"],
    [{ type: "array", items: { type: "number" } }, "number[]"],
    [
      { type: "array", items: { type: ["number", "null"] } },
      "(number | null)[]",
    ],
    [
      { type: "array", prefixItems: [{ type: "number" }, { const: "x" }] },
      '[number, "x"]',
    ],
    [
      { enum: ["a", 1, null, [1], { a: 1 }, [], {}] },
      '"a" | 1 | null | […] | {…} | [] | {}',
    ],
    [{ anyOf: [{ type: "string" }, { type: "null" }] }, "string | null"],
    [{ type: "object" }, "object"],
    [
      {
        type: "object",
        properties: {
          a: {
            type: "object",
            properties: { b: { type: "object", properties: { c: {} } } },
          },
        },
        required: ["a"],
      },
      "{a: {b?: {…}}}",
    ],
    [{}, "any"],
    [{ type: "array", items: { type: "string" }, minItems: 1 }, "string[]"],
  ];
  for (const [schema, summary] of cases) {
    assert.equal(summarize(schema), summary, JSON.stringify(schema));
  }
  assert.equal(summarize(undefined), "any");
});

Deno.test("summarize: names and values are escaped alike, a quote in a value too", () => {
  const schema = {
    type: "object",
    properties: {
      "k\x1b\u202e\\": { enum: ["v\x1b\u202e\\", 'say "hi"'] },
    },
  };
  assert.equal(
    summarize(schema),
    '{k\\x1b\\u202e\\\\?: "v\\x1b\\u202e\\\\" | "say \\"hi\\""}',
  );
});

Deno.test("summarize: a schema from a hostile server costs a bounded walk and 60 characters", () => {
  const wide = { anyOf: Array.from({ length: 200_000 }, () => chain(3)) };
  const many = {
    type: "object",
    properties: Object.fromEntries(
      Array.from({ length: 100_000 }, (_, n) => [`p${n}`, wide]),
    ),
  };
  const cases: [string, Schema, RegExp][] = [
    // Twelve entries of "array", eight levels: one walk of each level.
    ["a list of one type", explodingSchema() as Schema, /^string(\[\]){8}$/],
    ["deeper than the budget", chain(100_000), /^…$/],
    ["wider than the budget", wide, /^string \| string \| .*…$/],
    ["an object of wide objects", many, /^\{p0\?: string \| .*…$/],
    [
      "a name of a million characters",
      { type: "object", properties: { ["n".repeat(1_000_000)]: {} } },
      /^\{n{58}…$/,
    ],
    [
      "an enum of a million values",
      { enum: Array.from({ length: 1_000_000 }, (_, n) => n) },
      /^0 \| 1 \| 2 .*…$/,
    ],
  ];
  // A cut never leaves half an escape or half a surrogate pair.
  const cut = (name: string) =>
    summarize({ type: "object", properties: { [name]: {} } });
  assert.equal(cut(`${"n".repeat(55)}\x1b`), `{${"n".repeat(55)}…`);
  assert.equal(cut(`${"n".repeat(54)}\u009b`), `{${"n".repeat(54)}…`);
  assert.equal(cut(`${"n".repeat(57)}😀`), `{${"n".repeat(57)}…`);
  assert.equal(cut(`${"n".repeat(56)}😀`), `{${"n".repeat(56)}😀…`);
  const started = performance.now();
  // Each many times: a walk of the whole schema would take seconds each.
  for (const [what, schema, summary] of cases) {
    for (let run = 0; run < 100; run++) {
      assert.match(summarize(schema), summary, what);
    }
    assert.ok(summarize(schema).length <= 60, what);
  }
  const ms = performance.now() - started;
  assert.ok(ms < 10_000, `${ms.toFixed(0)} ms`);
});

Deno.test("template: a list of types is one type, nested at most 8 levels", () => {
  let expected: unknown = null;
  for (let level = 0; level < 8; level++) expected = [expected];
  assert.deepEqual(template(explodingSchema(10) as Schema), [expected]);
});
