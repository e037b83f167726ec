/** Small byte helpers shared by the codecs. Pure, no I/O. */
import { PosternError } from './errors.ts';

export const EMPTY = new Uint8Array(0);

// Fixed-size integers, byte by byte. Not through a DataView: one on a small
// typed array gives it an ArrayBuffer of its own, an allocation per message
// on the data path. A Uint8Array stores each byte modulo 256.

/** Big-endian u16 at `o`. */
export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Big-endian u32 at `o`. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatInto(new Uint8Array(sumLengths(parts)), parts);
}

function sumLengths(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function concatInto(out: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Merge each run of consecutive parts shorter than `small` bytes into one
 * buffer; larger parts pass through as they are (no copy). A few bytes copied
 * cost less than one more cipher call or socket write. Merged runs come from
 * `alloc`: `transientBytes` (protocol/transient-bytes.ts) when the output is
 * consumed by one call.
 */
export function coalesce(parts: readonly Uint8Array[], small = 2048, alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n)): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  const close = () => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) out.push(concatInto(alloc(sumLengths(run)), run));
    run = [];
  };
  for (const p of parts) {
    if (p.length === 0) continue;
    if (p.length < small) run.push(p);
    else {
      close();
      out.push(p);
    }
  }
  close();
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new PosternError('POSTERN_BAD_HEX', 'not a hex string');
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

const decoder = new TextDecoder('utf-8', { fatal: true });
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Overwrite a buffer we own once its secret is no longer needed. */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/**
 * A bounds-checked reader for the byte envelopes (credentials, tickets,
 * handshake payloads). Every read checks length first; a short input raises
 * `code` (the caller's stable error code), never a RangeError.
 */
export class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private off = 0;
  private readonly code: string;
  private readonly what: string;

  constructor(buf: Uint8Array, code: string, what: string) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.code = code;
    this.what = what;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  fail(reason: string): never {
    throw new PosternError(this.code, `malformed ${this.what}: ${reason}`);
  }

  private need(n: number): void {
    if (this.remaining < n) this.fail('truncated');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }

  /** Unsigned 64-bit big-endian, rejected above 2^53-1 so it fits a number. */
  u64(): number {
    this.need(8);
    const hi = this.view.getUint32(this.off);
    const lo = this.view.getUint32(this.off + 4);
    this.off += 8;
    if (hi > 0x1fffff) this.fail('64-bit value out of range');
    return hi * 0x1_0000_0000 + lo;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  /** u16 length then bytes, at most `max`. */
  vec16(max: number): Uint8Array {
    const n = this.u16();
    if (n > max) this.fail(`field of ${n} bytes exceeds ${max}`);
    return this.bytes(n);
  }

  str16(max: number): string {
    const b = this.vec16(max);
    try {
      return fromUtf8(b);
    } catch {
      return this.fail('invalid UTF-8');
    }
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}

/** The matching writer: grows as needed, returns an exact-size copy. */
export class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private off = 0;

  private grow(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.grow(1);
    this.buf[this.off++] = v;
    return this;
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError('u16 out of range');
    this.grow(2);
    this.view.setUint16(this.off, v);
    this.off += 2;
    return this;
  }

  u32(v: number): this {
    this.grow(4);
    this.view.setUint32(this.off, v);
    this.off += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError('u64 out of range');
    this.grow(8);
    this.view.setUint32(this.off, Math.floor(v / 0x1_0000_0000));
    this.view.setUint32(this.off + 4, v >>> 0);
    this.off += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.grow(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }

  vec16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  str16(s: string): this {
    return this.vec16(utf8(s));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.off);
  }
}
