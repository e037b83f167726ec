/**
 * Noise rev 34 §5.3: HandshakeState, a pure state machine. It holds no
 * sockets: `writeMessage` returns bytes to send, `readMessage` consumes bytes
 * received. Any failure leaves the state unusable (the caller drops it).
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { PosternError } from '../errors.ts';
import { concat, EMPTY } from '../bytes.ts';
import { DHLEN, NOISE_MAX_MESSAGE, TAGLEN } from './constants.ts';
import type { CipherState } from './cipher-state.ts';
import { requireProtocolName, type ProtocolName } from './protocol-name.ts';
import { SymmetricState } from './symmetric-state.ts';

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A static key whose secret stays in a vault: DH is done by the vault. */
export interface StaticKey {
  readonly publicKey: Uint8Array;
  dh(peerPublicKey: Uint8Array): Uint8Array;
}

export interface HandshakeOptions {
  crypto: CryptoProvider;
  protocolName: string;
  initiator: boolean;
  prologue?: Uint8Array;
  s?: KeyPair | StaticKey;
  /** Fixed ephemeral key (test vectors only). */
  e?: KeyPair;
  rs?: Uint8Array;
  re?: Uint8Array;
  psks?: Uint8Array[];
}

export interface SplitResult {
  /** The CipherState this side sends with, and the one it receives with. */
  send: CipherState;
  recv: CipherState;
  handshakeHash: Uint8Array;
}

function fail(message: string): never {
  throw new PosternError('POSTERN_HANDSHAKE_FAILED', `Noise handshake failed: ${message}`);
}

/**
 * A handshake message that did not authenticate (its encrypted static key
 * or payload): same code, but callers can tell it from other failures, e.g.
 * to name a mismatched prologue or protocol as the likely cause.
 */
export class HandshakeAuthError extends PosternError {}

function unauthenticated(what: string): never {
  throw new HandshakeAuthError('POSTERN_HANDSHAKE_FAILED', `Noise handshake failed: ${what} did not authenticate`);
}

export class HandshakeState {
  readonly protocol: ProtocolName;
  readonly initiator: boolean;
  private readonly crypto: CryptoProvider;
  private readonly ss: SymmetricState;
  private s: KeyPair | StaticKey | undefined;
  private e: KeyPair | undefined;
  private rs: Uint8Array | undefined;
  private re: Uint8Array | undefined;
  private readonly psks: Uint8Array[];
  private readonly isPsk: boolean;
  private index = 0;
  private broken = false;

  constructor(o: HandshakeOptions) {
    this.protocol = requireProtocolName(o.protocolName);
    this.crypto = o.crypto;
    this.initiator = o.initiator;
    this.s = o.s;
    this.e = o.e;
    this.rs = o.rs;
    this.re = o.re;
    this.psks = o.psks ? [...o.psks] : [];
    this.isPsk = this.protocol.pattern.messages.some((m) => m.includes('psk'));
    this.ss = new SymmetricState(o.crypto, this.protocol.cipher, o.crypto.hash(this.protocol.hash), o.protocolName);
    this.ss.mixHash(o.prologue ?? EMPTY);
    const p = this.protocol.pattern;
    // §5.3 Initialize(): pre-message public keys, initiator's first.
    for (const t of p.preInitiator) this.ss.mixHash(this.preKey(t, this.initiator));
    for (const t of p.preResponder) this.ss.mixHash(this.preKey(t, !this.initiator));
  }

  private preKey(token: string, mine: boolean): Uint8Array {
    const k = token === 's' ? (mine ? this.s?.publicKey : this.rs) : mine ? this.e?.publicKey : this.re;
    if (k === undefined) fail(`pre-message key ${token} missing`);
    return k;
  }

  /** True when it is this side's turn to write. */
  isMyTurn(): boolean {
    return (this.index % 2 === 0) === this.initiator;
  }

  isComplete(): boolean {
    return this.index >= this.protocol.pattern.messages.length;
  }

  remoteStatic(): Uint8Array | undefined {
    return this.rs;
  }

  handshakeHash(): Uint8Array {
    return this.ss.getHandshakeHash();
  }

  private guard(writing: boolean): readonly string[] {
    if (this.broken) fail('handshake state is no longer usable');
    const tokens = this.protocol.pattern.messages[this.index];
    if (tokens === undefined) fail('handshake already complete');
    if (this.isMyTurn() !== writing) fail(writing ? 'not our turn to write' : 'unexpected message order');
    return tokens;
  }

  private dh(token: string): Uint8Array {
    // §7.1: "es" is DH(e, rs) for the initiator, DH(s, re) for the responder, etc.
    const [a, b] = token as 'ee' | 'es' | 'se' | 'ss';
    const mineFirst = this.initiator;
    const localTok = mineFirst ? a : b;
    const remoteTok = mineFirst ? b : a;
    const local = localTok === 'e' ? this.e : this.s;
    const remote = remoteTok === 'e' ? this.re : this.rs;
    if (local === undefined || remote === undefined) fail(`missing key for ${token}`);
    try {
      return 'dh' in local ? local.dh(remote) : this.crypto.x25519(local.secretKey, remote);
    } catch {
      return fail(`invalid public key in ${token}`);
    }
  }

  writeMessage(payload: Uint8Array): Uint8Array {
    const tokens = this.guard(true);
    try {
      const parts: Uint8Array[] = [];
      for (const t of tokens) {
        if (t === 'e') {
          if (this.e === undefined) {
            const secretKey = this.crypto.x25519Generate();
            this.e = { secretKey, publicKey: this.crypto.x25519PublicKey(secretKey) };
          }
          parts.push(this.e.publicKey);
          this.ss.mixHash(this.e.publicKey);
          if (this.isPsk) this.ss.mixKey(this.e.publicKey);
        } else if (t === 's') {
          if (this.s === undefined) fail('local static key missing');
          parts.push(this.ss.encryptAndHash(this.s.publicKey));
        } else if (t === 'psk') {
          const psk = this.psks.shift();
          if (psk === undefined) fail('psk missing');
          this.ss.mixKeyAndHash(psk);
        } else {
          this.ss.mixKey(this.dh(t));
        }
      }
      parts.push(this.ss.encryptAndHash(payload));
      const msg = concat(...parts);
      if (msg.length > NOISE_MAX_MESSAGE) fail('message exceeds 65535 bytes');
      this.index++;
      return msg;
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  readMessage(message: Uint8Array): Uint8Array {
    const tokens = this.guard(false);
    try {
      if (message.length > NOISE_MAX_MESSAGE) fail('message exceeds 65535 bytes');
      let off = 0;
      const take = (n: number): Uint8Array => {
        if (message.length - off < n) fail('message truncated');
        const b = message.subarray(off, off + n);
        off += n;
        return b;
      };
      for (const t of tokens) {
        if (t === 'e') {
          this.re = take(DHLEN).slice();
          this.ss.mixHash(this.re);
          if (this.isPsk) this.ss.mixKey(this.re);
        } else if (t === 's') {
          const n = this.ss.cs.hasKey() ? DHLEN + TAGLEN : DHLEN;
          try {
            this.rs = this.ss.decryptAndHash(take(n)).slice();
          } catch (e) {
            if (e instanceof PosternError && e.code === 'POSTERN_HANDSHAKE_FAILED') throw e;
            unauthenticated('static key');
          }
        } else if (t === 'psk') {
          const psk = this.psks.shift();
          if (psk === undefined) fail('psk missing');
          this.ss.mixKeyAndHash(psk);
        } else {
          this.ss.mixKey(this.dh(t));
        }
      }
      const rest = message.subarray(off);
      if (this.ss.cs.hasKey() && rest.length < TAGLEN) fail('message truncated');
      let payload: Uint8Array;
      try {
        payload = this.ss.decryptAndHash(rest);
      } catch {
        unauthenticated('payload');
      }
      this.index++;
      return payload.slice();
    } catch (e) {
      this.broken = true;
      throw e;
    }
  }

  /** §5.2 Split(), oriented for this side. Only once the handshake is complete. */
  split(): SplitResult {
    if (!this.isComplete() || this.broken) fail('split before the handshake completed');
    const [c1, c2] = this.ss.split();
    const handshakeHash = this.ss.getHandshakeHash().slice();
    this.e?.secretKey.fill(0);
    return this.initiator
      ? { send: c1, recv: c2, handshakeHash }
      : { send: c2, recv: c1, handshakeHash };
  }
}
