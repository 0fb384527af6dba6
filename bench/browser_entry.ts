/**
 * What a browser page that only calls a server needs of isock: `action`,
 * `Client` and the error classes. bench/bundle_size.ts bundles it for the
 * browser and weighs it.
 *
 * @module
 */

export { action } from "../src/dispatch/action.ts";
export { Client } from "../client.ts";
export {
  ClientError,
  CodecError,
  IsockError,
  ProtocolError,
  RemoteError,
  ServerError,
} from "../src/base/errors.ts";
