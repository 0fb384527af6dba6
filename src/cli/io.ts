/**
 * What the `isock` command line needs of its process: output, input and
 * files. The entry point implements it with the runtime's own API, and
 * tests can hand in their own.
 *
 * @module
 */

/** The process's streams and files, as the command line uses them. */
export interface CliIo {
  /** Writes text to stdout, at once (a stream's items appear as they arrive). */
  write(text: string): Promise<void>;
  /** Writes a line to stderr. */
  error(line: string): void;
  /** Standard input, as bytes. */
  stdin(): ReadableStream<Uint8Array>;
  /** Reads a UTF-8 file. */
  readTextFile(path: string): Promise<string>;
  /** Reads an environment variable, or `undefined` when unset or not allowed. */
  env(name: string): string | undefined;
}
