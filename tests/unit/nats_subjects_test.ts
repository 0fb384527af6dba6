import assert from "node:assert/strict";
import {
  actionSubject,
  cancelSubject,
  instanceSubject,
  isServiceName,
  isSubjectPrefix,
  serviceSubject,
} from "../../src/nats/bus.ts";

Deno.test("nats subjects: plain action names are used as they are", () => {
  assert.equal(actionSubject("isock", "lab", "add"), "isock.lab.add");
  assert.equal(actionSubject("isock", "lab", "math.add"), "isock.lab.math.add");
  assert.equal(actionSubject("a.b", "lab", "x-y_z"), "a.b.lab.x-y_z");
});

Deno.test("nats subjects: every other name becomes one valid, distinct subject", () => {
  const names = [
    "say hi",
    "a..b",
    ".a",
    "a.",
    "*",
    ">",
    "a.*",
    "%41",
    "A",
    "é",
    "$isock.describe",
    "tab\there",
  ];
  const subjects = names.map((name) => actionSubject("isock", "lab", name));
  assert.equal(new Set(subjects).size, names.length);
  for (const subject of subjects) {
    const tokens = subject.split(".");
    assert.ok(tokens.every((token) => token.length > 0), subject);
    assert.ok(tokens.every((token) => token !== "*" && token !== ">"), subject);
    assert.ok(!/\s/.test(subject), subject);
    // Under the service's wildcard, never under its control subjects.
    assert.ok(subject.startsWith("isock.lab."), subject);
  }
  assert.equal(actionSubject("isock", "lab", "say hi"), "isock.lab.say%20hi");
  assert.equal(actionSubject("isock", "lab", "é"), "isock.lab.%C3%A9");
  assert.equal(actionSubject("isock", "lab", "%41"), "isock.lab.%2541");
});

Deno.test("nats subjects: control subjects stay out of the service's wildcard", () => {
  assert.equal(serviceSubject("isock", "lab"), "isock.lab.>");
  assert.equal(instanceSubject("isock", "lab", "abc"), "isock.$I.lab.abc");
  assert.equal(cancelSubject("isock", "lab"), "isock.$C.lab");
  // A service name cannot be "$I" or "$C", so no service's wildcard takes them.
  assert.equal(isServiceName("$I"), false);
  assert.equal(isServiceName("$C"), false);
});

Deno.test("nats subjects: service names and prefixes", () => {
  assert.ok(isServiceName("lab"));
  assert.ok(isServiceName("rig-farm_2"));
  for (const bad of ["", "a.b", "a b", "*", ">", 1, undefined]) {
    assert.equal(isServiceName(bad), false, String(bad));
  }
  assert.ok(isSubjectPrefix("isock"));
  assert.ok(isSubjectPrefix("org.isock"));
  for (const bad of ["", ".a", "a.", "a..b", "a.*", "a b"]) {
    assert.equal(isSubjectPrefix(bad), false, bad);
  }
});
