/**
 * The chaos workload's actions, and the server-side ledger they write to.
 * Every call carries a call id in its data and every answer echoes it, so
 * an answer can be matched to its own call; non-idempotent handlers count
 * their runs per call id, so a call run twice shows.
 *
 * @module
 */

import {
  action,
  type ActionContext,
  type Server,
  type Tracked,
  tracked,
} from "../../mod.ts";

/** What every call's data carries. */
export interface Tagged {
  callId: string;
}

/** An echo of the call id and a payload. */
export interface Echoed extends Tagged {
  payload: unknown;
}

/** One item of a tracked stream. */
export interface Tick extends Tagged {
  n: number;
}

/** One item of an upload. */
export interface UploadItem extends Tagged {
  seq: number;
  bytes: Uint8Array;
}

/** What the server saw of an upload. */
export interface UploadReceipt {
  /** The call id of the first item, or `undefined` when none came. */
  callId: string | undefined;
  /** Whether items of other calls were mixed in. */
  isMixed: boolean;
  bytes: number;
  items: number;
}

/** Non-idempotent: runs once per call, recorded in the ledger. */
export const record = action<Echoed & { ms: number }, Echoed>("chaos.record");
/** Idempotent: may run again after a drop. */
export const echo = action<Echoed, Echoed>("chaos.echo", { idempotent: true });
/** Idempotent and slow, stopping when its signal aborts. */
export const slow = action<Tagged & { ms: number }, Tagged>("chaos.slow", {
  idempotent: true,
});
/** Non-idempotent and slow, recorded in the ledger. */
export const slowOnce = action<Tagged & { ms: number }, Tagged>(
  "chaos.slowOnce",
);
/** A tracked stream of `count` ticks, `gap` ms apart, resumable after a drop. */
export const ticks = action<
  Tagged & { count: number; gap: number },
  AsyncIterable<Tracked<Tick>>
>("chaos.ticks");
/** Idempotent upload: counts the bytes of a stream of items. */
export const upload = action<AsyncIterable<UploadItem>, UploadReceipt>(
  "chaos.upload",
  { idempotent: true },
);
/** Non-idempotent two-way call: the server asks the calling client who it is. */
export const callBack = action<Tagged, Tagged & { answer: Identity }>(
  "chaos.callBack",
);

/** What a client answers to {@linkcode identify}. */
export interface Identity extends Tagged {
  client: number;
}

/** Offered by the clients, called back by the server. */
export const identify = action<Tagged, Identity>("chaos.identify");

/** The names of the actions that must never run twice for one call. */
export const ONCE_ONLY: ReadonlySet<string> = new Set([
  record.name,
  slowOnce.name,
  callBack.name,
]);

/** What the server's handlers did: runs per call id, and handlers running now. */
export class Ledger {
  readonly #runs = new Map<string, number>();
  #running = 0;

  /** Handlers running now (generators included, until their `finally`). */
  get running(): number {
    return this.#running;
  }

  /** How many times a non-idempotent handler ran for `callId`. */
  runs(callId: string): number {
    return this.#runs.get(callId) ?? 0;
  }

  /** Counts a run of a non-idempotent handler. */
  ran(callId: string): void {
    this.#runs.set(callId, this.runs(callId) + 1);
  }

  /** Runs `work` counted among the running handlers. */
  async runCounted<T>(work: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
    }
  }

  /** Marks a handler (a generator, say) as started; call the result when it ends. */
  enter(): () => void {
    this.#running++;
    let isDone = false;
    return () => {
      if (!isDone) this.#running--;
      isDone = true;
    };
  }
}

/** Waits `milliseconds`, or rejects with the signal's reason when it aborts first. */
export function sleep(
  milliseconds: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Offers the chaos actions on `server`, recording into `ledger`. */
export function addChaosActions(server: Server, ledger: Ledger): Server {
  const counted = <I, O>(
    handler: (data: I, context: ActionContext) => Promise<O>,
  ) =>
  (data: I, context: ActionContext): Promise<O> =>
    ledger.runCounted(() => handler(data, context));
  return server
    .addAction(
      record,
      counted(async ({ callId, payload, ms }, context) => {
        ledger.ran(callId);
        if (ms > 0) await sleep(ms, context.signal);
        return { callId, payload };
      }),
    )
    .addAction(
      echo,
      counted(({ callId, payload }) => Promise.resolve({ callId, payload })),
    )
    .addAction(
      slow,
      counted(async ({ callId, ms }, context) => {
        await sleep(ms, context.signal);
        return { callId };
      }),
    )
    .addAction(
      slowOnce,
      counted(async ({ callId, ms }, context) => {
        ledger.ran(callId);
        await sleep(ms, context.signal);
        return { callId };
      }),
    )
    .addAction(ticks, async function* ({ callId, count, gap }, context) {
      const leave = ledger.enter();
      try {
        for (let n = Number(context.lastEventId ?? 0) + 1; n <= count; n++) {
          await sleep(gap, context.signal);
          yield tracked(n, { callId, n });
        }
      } finally {
        leave();
      }
    })
    .addAction(
      upload,
      counted(async (items) => {
        const receipt: UploadReceipt = {
          callId: undefined,
          isMixed: false,
          bytes: 0,
          items: 0,
        };
        for await (const item of items) {
          receipt.callId ??= item.callId;
          if (item.callId !== receipt.callId) receipt.isMixed = true;
          receipt.bytes += item.bytes.length;
          receipt.items++;
        }
        return receipt;
      }),
    )
    .addAction(
      callBack,
      counted(async ({ callId }, context) => {
        ledger.ran(callId);
        const answer = await context.peer.runAction(identify, { callId }, {
          timeout: 1000,
          signal: context.signal,
        });
        return { callId, answer };
      }),
    );
}
