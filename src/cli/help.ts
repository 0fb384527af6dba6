/**
 * The help of `isock` and of each of its commands, with examples and the
 * exit codes.
 *
 * @module
 */

import type { CommandName } from "./args.ts";
import { LS_ACTIONS } from "./commands.ts";
import { EXIT_TABLE } from "./exit_codes.ts";

const CONNECTION_FLAGS = `Connection flags (every command):
  --timeout DURATION      deadline of each request: 500ms, 2s, 1m
                          (default 10s; none for call, whose streams may run long)
  -m, --metadata KEY=VALUE
                          call metadata (repeatable), e.g. -m x-request-id=42
  --ca FILE               trust this certificate authority (PEM); implies TLS
  --insecure-skip-verify  TLS without checking the server's certificate (testing only)
  --secret VALUE          the server's shared secret (visible to other local users
                          in the process list: prefer --secret-file or ISOCK_SECRET)
  --secret-file FILE      read the shared secret from FILE (one trailing newline dropped)
  --json                  machine-readable output, and errors as one JSON line on stderr
  -h, --help              this help

Environment:
  ISOCK_SECRET            the shared secret, when neither flag gives one
                          (read only with --allow-env; never printed)

TARGET: host:port, tls://host:port, or [::1]:port for IPv6.`;

const HELP: Readonly<Record<CommandName, string>> = {
  help: `isock: list, describe, call and ping isock servers.

Usage: isock COMMAND TARGET [ARGS] [FLAGS]

Commands:
  ls TARGET                     the server's actions, one a line
  describe TARGET ACTION        an action's schemas and a data template
  call TARGET ACTION [DATA]     run an action, print its result as JSON
  ping TARGET [-c N]            round trips, with min/avg/max

Run isock COMMAND --help for a command's flags and examples.

Examples:
  isock ls localhost:4000
  isock call localhost:4000 add '[1, 2]'
  isock ping tls://example.com:4000 --ca ca.pem -c 5

${CONNECTION_FLAGS}

${EXIT_TABLE}`,
  ls: `isock ls TARGET: the server's actions, one a line:
  NAME  KIND  IDEMPOTENT  INPUT → OUTPUT
KIND is "stream" for an action whose handler is an async generator, "call"
otherwise; INPUT and OUTPUT summarize its schemas ("any" without one). The
first ${LS_ACTIONS} actions are listed, then how many there are. What the server
wrote is printed with control characters escaped (\\x1b, \\r, \\u009b). The
server must answer describe requests (reflection, on by default).

Flags:
  --json    the full description: { version, actions: [...] }, with JSON Schemas

Examples:
  isock ls localhost:4000
  isock ls tls://api.example.com:4000 --secret-file secret.txt --json

${CONNECTION_FLAGS}

${EXIT_TABLE}`,
  describe:
    `isock describe TARGET ACTION: an action's kind, its input and output
schemas (JSON Schema, when the server's schema library writes them), and a
data template to edit and pass to isock call.

Flags:
  --json    the action's description and template as one JSON object

Examples:
  isock describe localhost:4000 add
  isock describe localhost:4000 add --json | jq .template > add.json
  isock call localhost:4000 add @add.json

${CONNECTION_FLAGS}

${EXIT_TABLE}`,
  call: `isock call TARGET ACTION [DATA]: runs ACTION and prints its result as
one line of JSON. A streamed result prints one line per item as it arrives
(NDJSON). Without DATA the action gets no data (undefined).

DATA:
  '{"x": 1}'      JSON
  @FILE           JSON read from FILE (needs --allow-read)
  -               JSON read from stdin
Values JSON lacks are tagged objects, both ways: {"$date": "2024-01-01T00:00:00.000Z"},
{"$bigint": "12345678901234567890"}, {"$bytes": "base64…"}.

Flags:
  --input-stream  send stdin as the input stream, one JSON value a line (NDJSON)

Examples:
  isock call localhost:4000 add '[1, 2]'
  isock call localhost:4000 tail '{"file": "app.log"}' | jq .
  echo '{"at": {"$date": "2024-05-01T12:00:00Z"}}' | isock call localhost:4000 schedule -
  seq 1 100 | isock call localhost:4000 sum --input-stream

${CONNECTION_FLAGS}

${EXIT_TABLE}`,
  ping: `isock ping TARGET: connects, then sends N requests one after another
and prints each round trip, then min/avg/max, like ping. A request is the
reserved name $isock.ping, which every server answers at once (as an unknown
action), so it times the network and the server's connection handling.

Flags:
  -c, --count N          how many requests (default 4)
  -i, --interval DURATION  the wait between requests (default 1s)

Examples:
  isock ping localhost:4000
  isock ping tls://example.com:4000 -c 10 -i 200ms

${CONNECTION_FLAGS}

${EXIT_TABLE}`,
};

/**
 * The help of a command, or of `isock` itself.
 *
 * @param command The command.
 * @returns The text.
 */
export function helpText(command: CommandName): string {
  return HELP[command];
}
