/**
 * The store-and-forward limit's client with a new buffer per answer: the
 * fair ceiling of an RPC, whose caller owns the result it receives. Started
 * by bench/main.ts.
 *
 * @module
 */

import { storeAndForwardClient } from "./raw_store_client.ts";

await storeAndForwardClient(true);
