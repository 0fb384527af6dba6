/**
 * The start of a connection (PROTOCOL.md, "Hello" and "Authentication"):
 * this side's hello, the peer's, and when either side asks for it the
 * challenge–response and the credentials. Until it is done the peer may
 * make this side hold only small frames.
 *
 * @module
 */

import { formatAddress } from "../wire/transport.ts";
import { deferred } from "../base/deferred.ts";
import { ClientError, ProtocolError } from "../base/errors.ts";
import { housekeeping, ignore, type TimerHandle } from "../base/timers.ts";
import {
  type Authenticator,
  checkClient,
  checkServer,
  isAuthRequired,
  NONCE_LABELS,
  prove,
  unauthorized,
} from "../protocol/auth.ts";
import {
  type GoodbyeMessage,
  type Message,
  outgoing,
  type OutgoingMessage,
} from "../protocol/message_table.ts";
import type { Hello } from "../protocol/hello.ts";
import type { PeerFeatures } from "./connection.ts";
import {
  MessageType,
  NONCE_SIZE,
  PROTOCOL_VERSION,
} from "../protocol/message_type.ts";
import type { Peer } from "../dispatch/peer.ts";

/**
 * The largest frame accepted after the hello and before the handshake is
 * complete: room for an AUTH with credentials, not for a peer that has not
 * proved anything to make this side hold megabytes.
 */
export const MAX_PRE_AUTH_FRAME = 64 * 1024;

/** What a {@linkcode Handshake} needs of its connection. */
export interface HandshakeHost {
  /** The peer, for `authenticate`. */
  readonly peer: Peer;
  /** Whether the connection is gone: nothing more is sent. */
  readonly isClosed: boolean;
  /**
   * Why the connection itself refuses the peer (a server's TLS client
   * certificate missing or untrusted); `undefined` when it does not.
   */
  readonly peerRefusal?: string | undefined;
  /** Sets the largest frame accepted from the peer from now on. */
  limitFrames(size: number): void;
  /** Sends an authentication message (AUTH or AUTH_OK). */
  send(message: OutgoingMessage): void;
  /** The peer's hello arrived, and settled these features. */
  negotiated(features: PeerFeatures): void;
  /** The handshake is done: calls may go. */
  opened(hello: Hello): void;
  /** The handshake failed: tell the peer why, then close. */
  failed(error: ClientError | ProtocolError): void;
  /** A frame of the peer does not decode, or its hello is not one. */
  failProtocol(error: ProtocolError): void;
  /** The peer said goodbye during the handshake. */
  peerGoodbye(message: GoodbyeMessage): void;
  /** No handshake within the timeout: close at once. */
  timedOut(error: ClientError | ProtocolError): void;
}

/** What reads frames during the handshake. */
export interface HandshakeDecoder {
  /** Reads the peer's hello. */
  decodeHello(frame: Uint8Array): Hello;
  /** Reads a message. */
  decode(frame: Uint8Array, isBorrowed?: boolean): Message;
}

/** Options of {@linkcode Handshake}. */
export interface HandshakeOptions {
  /** Which end of the connection this is. */
  role: "client" | "server";
  /** How this side authenticates (client) or checks the peer (server); not at all when omitted. */
  auth?: Authenticator;
  /** The largest frame this side accepts once the handshake is done. */
  maxFrameSize: number;
  /** Reads the frames. */
  codec: HandshakeDecoder;
}

/**
 * What the peer's hello settles for this connection (PROTOCOL.md, "Hello"):
 * this side takes every feature, so the peer's hello decides.
 *
 * @param theirs The peer's hello.
 * @returns The features, frozen.
 *
 * @example
 * ```ts
 * import { negotiate } from "./handshake.ts";
 * import assert from "node:assert/strict";
 *
 * const features = negotiate({
 *   version: 1, nonce: new Uint8Array(16),
 *   maxFrameSize: 1024, authRequired: false, batch: true,
 * });
 * assert.equal(features.batch, true);
 * assert.equal(features.metadata, false);
 * assert.equal(features.maxFrameSize, 1024);
 * ```
 */
export function negotiate(theirs: Hello): PeerFeatures {
  return Object.freeze({
    batch: theirs.batch === true,
    metadata: theirs.metadata === true,
    maxFrameSize: theirs.maxFrameSize,
    serves: theirs.serves === true,
  });
}

/** hello: waiting for the peer's hello; auth: for its AUTH or AUTH_OK; checking: verifying it; done. */
type Step = "hello" | "auth" | "checking" | "done";

/**
 * One side of a handshake.
 *
 * @example
 * ```ts
 * import { Handshake } from "./handshake.ts";
 * import { MessageCodec } from "../protocol/message_codec.ts";
 * import assert from "node:assert/strict";
 *
 * const codec = new MessageCodec([]);
 * const server = new Handshake({ role: "server", maxFrameSize: 1024, codec }, {} as never);
 * assert.equal(server.hello(false).authRequired, false);
 * ```
 */
export class Handshake {
  /** Resolves once the handshake is done; rejects if it fails. */
  readonly ready: Promise<Hello>;
  /** The peer's hello, once it arrived. */
  peerHello: Hello | undefined;
  /** Who the peer is: what `authenticate` returned for it. */
  identity: unknown;
  readonly #options: HandshakeOptions;
  readonly #auth: Authenticator;
  readonly #host: HandshakeHost;
  /** This side's nonce; a server without authentication needs none. */
  readonly #nonce: Uint8Array;
  #step: Step = "hello";
  /** Client: frames that arrived right behind the server's AUTH_OK, handled once it is verified. */
  #held: Uint8Array[] = [];
  #timer: TimerHandle | undefined;
  readonly #ready = deferred<Hello>();

  /**
   * Prepares one side of a handshake; `start` starts its clock.
   *
   * @param options The role, authentication and codec.
   * @param host The connection.
   */
  constructor(options: HandshakeOptions, host: HandshakeHost) {
    this.#options = options;
    this.#auth = options.auth ?? {};
    this.#host = host;
    this.ready = this.#ready.promise;
    // Whoever awaits `ready` sees the failure; nobody has to.
    this.ready.catch(ignore);
    this.#nonce = options.role === "client" || isAuthRequired(this.#auth)
      ? crypto.getRandomValues(new Uint8Array(NONCE_SIZE))
      : new Uint8Array(0);
  }

  /** Whether the handshake is done. */
  get isDone(): boolean {
    return this.#step === "done";
  }

  /** Whether this side requires the peer to authenticate (a server with a secret or a check). */
  get isAuthRequired(): boolean {
    return isAuthRequired(this.#auth);
  }

  /**
   * This side's hello.
   *
   * @param serves Whether this client offers actions to its server.
   * @returns The hello to send.
   */
  hello(serves: boolean): Hello {
    const isServer = this.#options.role === "server";
    return {
      version: PROTOCOL_VERSION,
      maxFrameSize: this.#options.maxFrameSize,
      nonce: this.#nonce,
      authRequired: isServer && this.isAuthRequired,
      serves: !isServer && serves,
      metadata: true,
      batch: true,
    };
  }

  /**
   * Starts the clock: a peer that has not completed the handshake within
   * `timeout` ms is not an isock peer (or a stuck one).
   *
   * @param timeout Milliseconds.
   */
  start(timeout: number): void {
    this.#timer = housekeeping(setTimeout(() => {
      if (this.isDone) return;
      const message = `No isock handshake from ${
        formatAddress(this.#host.peer)
      } within ${timeout} ms: is it an isock peer?`;
      // For a client this is a failed connection attempt, tried again like
      // a refused one; for a server, a peer that broke the protocol.
      this.#host.timedOut(
        this.#options.role === "client"
          ? new ClientError("CONNECT_FAILED", message)
          : new ProtocolError("PROTOCOL", message),
      );
    }, timeout));
  }

  /**
   * The peer left during the handshake, for `reason`: `ready` rejects with
   * it. The clock goes on, for a peer that does not close.
   *
   * @param reason The peer's error.
   */
  peerLeft(reason: unknown): void {
    if (!this.isDone) this.#ready.reject(reason);
  }

  /**
   * Gives up: the connection ended (or the peer left) before the handshake
   * was done. Stops the clock; `ready` rejects unless it resolved already.
   *
   * @param reason Why.
   */
  stop(reason: unknown): void {
    clearTimeout(this.#timer);
    this.#ready.reject(reason);
  }

  /**
   * What a failure of the connection means: before the peer's hello, a
   * frame too large means the peer speaks another protocol.
   *
   * @param error What the transport reported.
   * @returns The error to report.
   */
  explain(error: unknown): unknown {
    if (
      this.peerHello !== undefined || !(error instanceof ProtocolError) ||
      error.code !== "FRAME_TOO_LARGE"
    ) {
      return error;
    }
    return new ProtocolError(
      "PROTOCOL",
      `${
        formatAddress(this.#host.peer)
      } is not an isock peer: its first bytes are not an isock hello. Check the host and port (and whether the server uses TLS: then set the client's tls option).`,
      { cause: error },
    );
  }

  /**
   * Takes a frame that arrived before the handshake was done.
   *
   * @param body The frame body.
   * @param isBorrowed Whether the body is only lent for this call.
   */
  receive(body: Uint8Array, isBorrowed: boolean): void {
    if (this.#step === "hello") return this.#receiveHello(body);
    if (this.#step === "checking" && this.#options.role === "client") {
      // The server may ping or call right behind its AUTH_OK: hold those
      // frames until its proof is checked, then handle them in order.
      this.#held.push(isBorrowed ? body.slice() : body);
      return;
    }
    let message: Message;
    try {
      message = this.#options.codec.decode(body, isBorrowed);
    } catch (error) {
      return this.#host.failProtocol(error as ProtocolError);
    }
    this.#receiveDuringAuth(message);
  }

  /**
   * An AUTH after the handshake: a client with a secret asks this server,
   * which has none, to prove it. The answer carries no proof, and the
   * client refuses it.
   *
   * @returns Whether it was answered (else it breaks the protocol).
   */
  answerLateAuth(): boolean {
    if (this.#options.role !== "server" || this.isAuthRequired) return false;
    this.#host.send(outgoing.authOk(null));
    return true;
  }

  /**
   * The frames held behind the server's AUTH_OK, to handle now that it is done.
   *
   * @returns The frames, in order.
   */
  takeHeld(): Uint8Array[] {
    return this.#held.splice(0);
  }

  #receiveHello(body: Uint8Array): void {
    let hello: Hello;
    try {
      hello = this.peerHello = this.#options.codec.decodeHello(body);
    } catch (error) {
      return this.#host.failProtocol(error as ProtocolError);
    }
    this.#host.negotiated(negotiate(hello));
    const auth = this.#auth;
    const role = this.#options.role;
    // Known by now (the TLS handshake is done once the hello arrives), and
    // answered the same on every runtime: an UNAUTHORIZED goodbye, final.
    const refusal = role === "server" ? this.#host.peerRefusal : undefined;
    if (refusal !== undefined) return this.#fail(unauthorized(refusal));
    const mustAuthenticate = role === "server"
      ? isAuthRequired(auth)
      : hello.authRequired || auth.key !== undefined ||
        auth.credentials !== undefined;
    if (!mustAuthenticate) return this.#open();
    // Until the handshake is complete, a peer may make this side hold only small frames.
    this.#host.limitFrames(MAX_PRE_AUTH_FRAME);
    this.#step = "auth";
    if (role === "client") this.#sendAuth().catch(this.#fail);
  }

  #open(): void {
    this.#host.limitFrames(this.#options.maxFrameSize);
    this.#step = "done";
    clearTimeout(this.#timer);
    this.#ready.resolve(this.peerHello!);
    this.#host.opened(this.peerHello!);
  }

  /** Client: proves it knows the secret (if it has one), sends its credentials. */
  async #sendAuth(): Promise<void> {
    const { key, credentials } = this.#auth;
    const proof = key === undefined ? null : await prove(
      key,
      NONCE_LABELS.client,
      this.peerHello!.nonce,
      this.#nonce,
    );
    if (this.#host.isClosed) return;
    this.#host.send(outgoing.auth(proof, credentials));
  }

  #receiveDuringAuth(message: Message): void {
    if (message.type === MessageType.GOODBYE) {
      return this.#host.peerGoodbye(message);
    }
    const isAuthTurn = this.#step === "auth";
    const { role } = this.#options;
    if (isAuthTurn && role === "server" && message.type === MessageType.AUTH) {
      this.#step = "checking"; // Anything before the answer is out of turn.
      this.#checkAuth(message.proof, message.credentials).catch(this.#fail);
      return;
    }
    if (
      isAuthTurn && role === "client" && message.type === MessageType.AUTH_OK
    ) {
      this.#step = "checking";
      // What follows is the server's to send as it likes; the proof is checked next.
      this.#host.limitFrames(this.#options.maxFrameSize);
      this.#checkServerProof(message.proof).catch(this.#fail);
      return;
    }
    this.#fail(
      role === "server"
        ? unauthorized("a message arrived before authentication was complete")
        : new ProtocolError(
          "PROTOCOL",
          "A message arrived before authentication was complete.",
        ),
    );
  }

  /** Server: checks the client's proof and credentials, then answers with its own proof. */
  async #checkAuth(
    proof: Uint8Array | undefined,
    credentials: unknown,
  ): Promise<void> {
    const peerNonce = this.peerHello!.nonce;
    const auth = this.#auth;
    this.identity = await checkClient(
      auth,
      proof,
      credentials,
      this.#host.peer,
      this.#nonce,
      peerNonce,
    );
    if (this.#host.isClosed) return;
    const answer = auth.key === undefined
      ? null
      : await prove(auth.key, NONCE_LABELS.server, peerNonce, this.#nonce);
    this.#host.send(outgoing.authOk(answer));
    this.#open();
  }

  /** Client: a server that claims to know the secret must prove it. */
  async #checkServerProof(proof: Uint8Array | undefined): Promise<void> {
    await checkServer(this.#auth, proof, this.#nonce, this.peerHello!.nonce);
    if (!this.#host.isClosed) this.#open();
  }

  readonly #fail = (error: unknown): void => {
    this.#host.failed(
      error instanceof ClientError || error instanceof ProtocolError
        ? error
        : unauthorized("the handshake failed", error),
    );
  };
}
