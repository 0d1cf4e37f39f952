import type { Cluster, Redis } from "ioredis";

/** The part of a `net.Socket` used here. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

// Sockets corked by `batchWrites` until the end of the current tick.
const corked = new WeakSet<object>();

/**
 * Coalesces the commands sent on one connection within one tick into one socket write. Under
 * concurrency, many requests resume on the same chunk of replies and each sends its next command
 * at once; written one by one, each command is a syscall, most of a round trip's client CPU. The
 * socket is corked at the first command of a tick and uncorked in `process.nextTick`, after the
 * promise jobs of that tick: one `writev` for all of them, as node-redis writes by default. Order
 * is kept and nothing waits past the current tick, so a lone request is not delayed. Only a
 * connected standalone client is touched: a Cluster (a connection per node), a client still
 * connecting (its commands wait in ioredis' offline queue) or anything without a socket is left
 * as it is.
 */
export function batchWrites(redis: Redis | Cluster): void {
  if (redis.status !== "ready") return;
  const stream = (redis as { stream?: unknown }).stream;
  if (!isCorkable(stream) || corked.has(stream)) return;
  stream.cork();
  corked.add(stream);
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork();
  });
}

function isCorkable(stream: unknown): stream is Corkable {
  return (
    typeof stream === "object" &&
    stream !== null &&
    typeof (stream as Corkable).cork === "function" &&
    typeof (stream as Corkable).uncork === "function"
  );
}
