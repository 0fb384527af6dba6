/**
 * The store-and-forward limit with a new buffer per message: the fair
 * ceiling of an RPC, whose handler owns the data it receives. Started by
 * bench/main.ts.
 *
 * @module
 */

import { serveStoreAndForward } from "./raw_store_server.ts";

await serveStoreAndForward(true);
