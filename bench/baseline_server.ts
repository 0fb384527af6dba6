/**
 * The baseline system's server: a {@linkcode FramedConn} per connection
 * that decodes each `[id, value]` request and sends it straight back.
 * Started by bench/main.ts with the codec in its config.
 *
 * @module
 */

import { readConfig, type ServerConfig, serveTcp } from "./child.ts";
import { createCodec } from "./codecs.ts";
import { FramedConn } from "./framed_conn.ts";

const codec = await createCodec(readConfig<ServerConfig>().codec ?? "isock");

await serveTcp((conn) => {
  const framed = new FramedConn(conn);
  return framed.readFrames((body) => {
    const [id, value] = codec.decode(body) as [number, unknown];
    framed.send(codec.encode([id, value]));
  });
});
