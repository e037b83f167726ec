/**
 * Bytes that live for one native call that consumes them (a cipher's
 * `update()`), carved from a shared pool.
 *
 * A new small Uint8Array lives on V8's heap, and native code handed one makes
 * V8 first move it into an ArrayBuffer of its own (a malloc'd backing store
 * that the GC then tracks); a larger one gets such an ArrayBuffer at once. A
 * view into a pool needs neither, as with Node's own Buffer pool. Pool space
 * is never reused: a full pool is left to the GC, which frees it once its
 * last view is gone. So a view kept (queued for a socket write that a peer
 * may stall) would keep its whole pool alive: bytes that outlive the call
 * must be allocated as usual.
 */

/** Larger requests get an ArrayBuffer of their own, as `new Uint8Array(n)` would. */
const POOLED_MAX = 4096;
const POOL_SIZE = 64 * 1024;

let pool = new ArrayBuffer(POOL_SIZE);
let used = 0;

/**
 * `n` zeroed bytes. A pooled view (n ≤ 4 KiB) is never a whole ArrayBuffer,
 * so nothing that frees whole buffers by hand (`releaseAfterWrite`) ever
 * detaches a pool.
 */
export function transientBytes(n: number): Uint8Array {
  if (n > POOLED_MAX) return new Uint8Array(n);
  if (used + n > POOL_SIZE) {
    pool = new ArrayBuffer(POOL_SIZE);
    used = 0;
  }
  const out = new Uint8Array(pool, used, n);
  used += n;
  return out;
}
