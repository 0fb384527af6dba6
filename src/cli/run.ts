/**
 * One run of `isock`: reads the command line, connects, runs the command,
 * and turns any failure into one line on stderr and an exit code. The
 * entry point (cli.ts) hands in the process ({@linkcode CliHost}).
 *
 * @module
 */

import type {
  ClientOptions,
  TcpClientOptions,
} from "../endpoint/client_options.ts";
import {
  type CommandLine,
  parseArgs,
  parseTarget,
  type Target,
} from "./args.ts";
import {
  call,
  type CliConnection,
  type CommandContext,
  describeCommand,
  ls,
  ping,
} from "./commands.ts";
import { classify, CliError, EXIT, failureLine, usage } from "./exit_codes.ts";
import { helpText } from "./help.ts";
import { readFile } from "./input.ts";
import type { CliIo } from "./io.ts";

/** What a run needs of its process. */
export interface CliHost {
  /** Output, input, files and environment. */
  readonly io: CliIo;
  /** Makes a client (not yet connected). */
  client(options: ClientOptions): CliConnection & {
    close(): Promise<void>;
  };
  /** Waits, between pings. */
  sleep(ms: number): Promise<void>;
}

/** The deadline of each request of `ls`, `describe` and `ping` by default. */
const DEFAULT_TIMEOUT = 10_000;

/** What each command takes after its name: [least, most]. */
const ARITY: Readonly<Record<string, readonly [number, number, string]>> = {
  ls: [1, 1, "TARGET"],
  describe: [2, 2, "TARGET ACTION"],
  call: [2, 3, "TARGET ACTION [DATA]"],
  ping: [1, 1, "TARGET"],
};

/**
 * Runs `isock` once.
 *
 * @param args The arguments after the program's name.
 * @param host The process.
 * @returns The exit code.
 */
export async function run(
  args: readonly string[],
  host: CliHost,
): Promise<number> {
  const { io } = host;
  // Before the line is read, --json anywhere still asks for a JSON error.
  let json = args.includes("--json");
  try {
    const line = parseArgs(args);
    json = line.json;
    if (line.help || line.command === "help") {
      await io.write(`${helpText(line.command)}\n`);
      return EXIT.ok;
    }
    const [least, most, shape] = ARITY[line.command];
    const { positionals } = line;
    if (positionals.length < least || positionals.length > most) {
      throw usage(
        `isock ${line.command} takes ${shape}; got ${positionals.length} argument(s). See isock ${line.command} --help.`,
      );
    }
    if (line.inputStream && positionals[2] !== undefined) {
      throw usage("--input-stream reads the data from stdin: give no DATA.");
    }
    const target = parseTarget(positionals[0]);
    const timeout = line.timeout ??
      (line.command === "call" ? 0 : DEFAULT_TIMEOUT);
    const client = host.client(
      await clientOptions(line, target, timeout, io),
    );
    const context: CommandContext = {
      connection: client,
      line,
      target,
      io,
      timeout,
    };
    try {
      await runCommand(context, host);
    } finally {
      await client.close();
    }
    return EXIT.ok;
  } catch (error) {
    const failure = classify(error);
    io.error(failureLine(failure, json));
    return failure.exitCode;
  }
}

function runCommand(context: CommandContext, host: CliHost): Promise<void> {
  const [, action, data] = context.line.positionals;
  switch (context.line.command) {
    case "ls":
      return ls(context);
    case "describe":
      return describeCommand(context, action);
    case "call":
      return call(context, action, data);
    default:
      return ping(context, host.sleep);
  }
}

/** The client's options from the command line: one try to connect, TLS, the secret. */
async function clientOptions(
  line: CommandLine,
  target: Target,
  timeout: number,
  io: CliIo,
): Promise<ClientOptions> {
  const options: TcpClientOptions = {
    hostname: target.hostname,
    port: target.port,
    // A command line reports a refused connection at once, not after retries.
    retry: 1,
    handshakeTimeout: timeout > 0 ? timeout : DEFAULT_TIMEOUT,
  };
  if (line.ca !== undefined) {
    options.tls = { caCerts: [await readFile(line.ca, io)] };
  } else if (line.insecureSkipVerify) {
    options.tls = { insecureSkipVerify: true };
  } else if (target.tls) {
    options.tls = true;
  }
  if (line.ca !== undefined && line.insecureSkipVerify) {
    throw usage("--ca and --insecure-skip-verify do not go together.");
  }
  const secret = await readSecret(line, io);
  if (secret !== undefined) options.secret = secret;
  return options;
}

/** The secret: --secret, else --secret-file, else ISOCK_SECRET. Never printed. */
async function readSecret(
  line: CommandLine,
  io: CliIo,
): Promise<string | undefined> {
  if (line.secret !== undefined) {
    if (line.secret === "") throw usage("--secret is empty.");
    return line.secret;
  }
  if (line.secretFile !== undefined) {
    const secret = (await readFile(line.secretFile, io)).replace(/\r?\n$/, "");
    if (secret === "") {
      throw new CliError(
        "UNREADABLE",
        `${line.secretFile} holds no secret.`,
        EXIT.input,
      );
    }
    return secret;
  }
  const fromEnv = io.env("ISOCK_SECRET");
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}
