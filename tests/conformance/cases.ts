/**
 * Every conformance case, in the order they run.
 *
 * @module
 */

import { badPeerCases } from "./bad_peers.ts";
import { classicCases } from "./classic.ts";
import { dataCases } from "./data.ts";
import { deadlineCases } from "./deadlines.ts";
import { errorCases } from "./errors.ts";
import type { Case } from "./runner.ts";
import { securityCases } from "./security.ts";
import { serverDeadlineCases } from "./server_deadlines.ts";
import { shutdownCases } from "./shutdown.ts";
import { socketCases } from "./sockets.ts";
import { streamCases } from "./streams.ts";
import { twoWayCases } from "./two_way.ts";

/** The conformance suite. */
export const cases: readonly Case[] = [
  ...classicCases,
  ...dataCases,
  ...errorCases,
  ...deadlineCases,
  ...serverDeadlineCases,
  ...streamCases,
  ...twoWayCases,
  ...securityCases,
  ...socketCases,
  ...badPeerCases,
  ...shutdownCases,
];
