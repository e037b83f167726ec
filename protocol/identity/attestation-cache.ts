/**
 * Attestations whose signature this side has already checked, for a side
 * that sees the same peers again and again (the hub: every node reconnects
 * with the attestation it signed at start). A signature check is a pure
 * function of the bytes, so an envelope equal byte for byte to one that
 * verified needs no second Ed25519 verification; its times are still
 * checked on every use (`verifyAttestation`). Only envelopes that verified
 * are added, and the cache keeps the most recently used `capacity` of them.
 */
import { toHex } from '../bytes.ts';

export const DEFAULT_ATTESTATION_CACHE = 16_384;

export class AttestationCache {
  private readonly seen = new Map<string, true>();
  private readonly capacity: number;

  constructor(capacity = DEFAULT_ATTESTATION_CACHE) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
  }

  get size(): number {
    return this.seen.size;
  }

  /** True when exactly these bytes verified before (and marks them recently used). */
  has(envelope: Uint8Array): boolean {
    const k = toHex(envelope);
    if (!this.seen.has(k)) return false;
    this.touch(k);
    return true;
  }

  /** Remember an envelope whose signature just verified. */
  add(envelope: Uint8Array): void {
    this.touch(toHex(envelope));
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Most recently used: a Map iterates in insertion order, the oldest first. */
  private touch(k: string): void {
    this.seen.delete(k);
    this.seen.set(k, true);
  }
}
