/** Freeing large message buffers by hand, once nothing refers to them. */

/** Below this, a buffer costs the garbage collector too little to free by hand. */
const RELEASE_MIN = 16 * 1024;

/**
 * Free large message buffers once written, instead of leaving them to the
 * garbage collector: each is memory outside the JavaScript heap, and a relay
 * makes them faster than young-generation collections clear them, so V8
 * would run a full collection every few dozen megabytes. Detaching
 * (`ArrayBuffer.prototype.transfer(0)`) frees the memory at once. Only
 * buffers that are a whole ArrayBuffer, owned by the caller and referenced
 * nowhere else, are passed here.
 */
export function releaseAfterWrite(bufs: readonly Uint8Array[]): void {
  for (const b of bufs) {
    if (b.byteLength >= RELEASE_MIN && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) {
      try {
        (b.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer }).transfer?.(0);
      } catch {
        /* not detachable (e.g. WebAssembly memory): left to the garbage collector */
      }
    }
  }
}
