/**
 * Runs known-answer vector files: the cacophony Noise schema
 * (`{_meta, vectors: [...]}`) and the primitives schema (one key per
 * algorithm). Shared by `npm run vectors -- FILE` and the test suite.
 * Protocol names or algorithms Postern does not implement are skipped and
 * counted as skipped, never as passed.
 */
import type { CryptoProvider } from '../../protocol/crypto/provider.ts';
import { HandshakeState, parseProtocolName, type SplitResult } from '../../protocol/noise/index.ts';
import { equal, fromHex, toHex } from '../../protocol/bytes.ts';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';

export interface VectorResult {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  reason?: string;
}

type Json = Record<string, unknown>;

function hex(v: unknown): Uint8Array {
  return typeof v === 'string' ? fromHex(v) : new Uint8Array(0);
}

function keyPair(c: CryptoProvider, secret: unknown) {
  if (typeof secret !== 'string' || secret === '') return undefined;
  const secretKey = fromHex(secret);
  return { secretKey, publicKey: c.x25519PublicKey(secretKey) };
}

export function runNoiseVector(v: Json, c: CryptoProvider, index: number): VectorResult {
  const protocolName = String(v['protocol_name'] ?? '');
  const name = `${protocolName || '(no protocol_name)'} #${index}`;
  if (parseProtocolName(protocolName) === null) return { name, status: 'skip', reason: 'not implemented' };
  try {
    const side = (p: 'init' | 'resp') =>
      new HandshakeState({
        crypto: c,
        protocolName,
        initiator: p === 'init',
        prologue: hex(v[`${p}_prologue`]),
        s: keyPair(c, v[`${p}_static`]),
        e: keyPair(c, v[`${p}_ephemeral`]),
        rs: typeof v[`${p}_remote_static`] === 'string' ? hex(v[`${p}_remote_static`]) : undefined,
        psks: Array.isArray(v[`${p}_psks`]) ? (v[`${p}_psks`] as string[]).map(fromHex) : undefined,
      });
    const init = side('init');
    const resp = side('resp');
    const messages = (v['messages'] as { payload: string; ciphertext: string }[]) ?? [];
    let iSplit: SplitResult | undefined;
    let rSplit: SplitResult | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const fromInit = i % 2 === 0;
      const payload = fromHex(m.payload);
      const expected = fromHex(m.ciphertext);
      let wire: Uint8Array;
      let got: Uint8Array;
      if (!init.isComplete() || !resp.isComplete()) {
        const [w, r] = fromInit ? [init, resp] : [resp, init];
        wire = w.writeMessage(payload);
        got = r.readMessage(wire);
        if (init.isComplete() && resp.isComplete()) {
          iSplit = init.split();
          rSplit = resp.split();
          if (v['handshake_hash'] !== undefined) {
            const hh = hex(v['handshake_hash']);
            if (!equal(iSplit.handshakeHash, hh) || !equal(rSplit.handshakeHash, hh)) {
              return { name, status: 'fail', reason: 'handshake hash differs' };
            }
          }
        }
      } else {
        const [w, r] = fromInit ? [iSplit!, rSplit!] : [rSplit!, iSplit!];
        wire = w.send.encryptWithAd(new Uint8Array(0), payload);
        got = r.recv.decryptWithAd(new Uint8Array(0), wire);
      }
      if (!equal(wire, expected)) {
        return { name, status: 'fail', reason: `message ${i}: ciphertext ${toHex(wire).slice(0, 16)}… differs` };
      }
      if (!equal(got, payload)) return { name, status: 'fail', reason: `message ${i}: payload differs` };
    }
    return { name, status: 'pass' };
  } catch (e) {
    return { name, status: 'fail', reason: e instanceof Error ? e.message : String(e) };
  }
}

function hkdfSha256(c: CryptoProvider, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
  const h = c.hash('SHA256');
  const prk = h.hmac(salt.length === 0 ? new Uint8Array(32) : salt, ikm);
  const out: number[] = [];
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1; out.length < length; i++) {
    t = h.hmac(prk, t, info, Uint8Array.of(i));
    out.push(...t);
  }
  return { prk, okm: Uint8Array.from(out.slice(0, length)) };
}

type Check = (e: Json, c: CryptoProvider, opts: RunOptions) => string | null | 'skip';

const PRIMITIVES: Record<string, Check> = {
  x25519(e, c, opts) {
    if (e['type'] === 'scalarmult') {
      return equal(c.x25519(hex(e['scalar']), hex(e['u'])), hex(e['output'])) ? null : 'output differs';
    }
    if (e['type'] === 'dh') {
      const a = hex(e['alice_private']);
      const b = hex(e['bob_private']);
      if (!equal(c.x25519PublicKey(a), hex(e['alice_public']))) return 'alice public differs';
      if (!equal(c.x25519PublicKey(b), hex(e['bob_public']))) return 'bob public differs';
      const s1 = c.x25519(a, hex(e['bob_public']));
      const s2 = c.x25519(b, hex(e['alice_public']));
      return equal(s1, hex(e['shared_secret'])) && equal(s2, s1) ? null : 'shared secret differs';
    }
    if (e['type'] === 'iterated') {
      const iterations = Number(e['iterations']);
      if (iterations > opts.maxIterations) return 'skip';
      let k = hex(e['initial_k']);
      let u = hex(e['initial_u']);
      for (let i = 0; i < iterations; i++) [k, u] = [c.x25519(k, u), k];
      return equal(k, hex(e['output'] ?? e['result'])) ? null : 'iterated result differs';
    }
    return 'skip';
  },
  ed25519(e, c) {
    const sk = hex(e['secret_key']);
    const msg = hex(e['message']);
    if (!equal(c.ed25519PublicKey(sk), hex(e['public_key']))) return 'public key differs';
    const sig = c.ed25519Sign(sk, msg);
    if (!equal(sig, hex(e['signature']))) return 'signature differs';
    if (!c.ed25519Verify(hex(e['public_key']), msg, sig)) return 'verify failed';
    const bad = sig.slice();
    bad[0]! ^= 1;
    return c.ed25519Verify(hex(e['public_key']), msg, bad) ? 'tampered signature accepted' : null;
  },
  chacha20poly1305_aead: (e, c) => aeadCheck(e, c, 'ChaChaPoly'),
  aes256gcm(e, c) {
    if (hex(e['iv']).length !== 12) return 'skip';
    return aeadCheck(e, c, 'AESGCM');
  },
  hkdf_sha256(e, c) {
    const r = hkdfSha256(c, hex(e['ikm']), hex(e['salt']), hex(e['info']), Number(e['length']));
    if (!equal(r.prk, hex(e['prk']))) return 'prk differs';
    return equal(r.okm, hex(e['okm'])) ? null : 'okm differs';
  },
  // The parts of ChaCha20-Poly1305: checked on @noble, the reference the node path is cross-checked against.
  chacha20_block(e) {
    const out = chacha20(hex(e['key']), hex(e['nonce']), new Uint8Array(64), undefined, Number(e['counter']));
    return equal(out, hex(e['keystream_block'])) ? null : 'keystream differs';
  },
  chacha20_encrypt(e) {
    const out = chacha20(hex(e['key']), hex(e['nonce']), hex(e['plaintext']), undefined, Number(e['counter']));
    return equal(out, hex(e['ciphertext'])) ? null : 'ciphertext differs';
  },
  poly1305(e) {
    return equal(poly1305(hex(e['message']), hex(e['key'])), hex(e['tag'])) ? null : 'tag differs';
  },
  poly1305_keygen(e) {
    const block = chacha20(hex(e['key']), hex(e['nonce']), new Uint8Array(32), undefined, 0);
    return equal(block, hex(e['otk'])) ? null : 'one-time key differs';
  },
};

function aeadCheck(e: Json, c: CryptoProvider, cipher: 'AESGCM' | 'ChaChaPoly'): string | null {
  const k = c.aead(cipher, hex(e['key']));
  const nonce = hex(e['nonce'] ?? e['iv']);
  const wire = new Uint8Array([...hex(e['ciphertext']), ...hex(e['tag'])]);
  const opened = k.open(nonce, hex(e['aad']), wire);
  if (e['expect'] === 'decrypt_fails') return opened === null ? null : 'tampered message accepted';
  if (!equal(k.seal(nonce, hex(e['aad']), hex(e['plaintext'])), wire)) return 'ciphertext differs';
  return opened !== null && equal(opened, hex(e['plaintext'])) ? null : 'decrypt failed';
}

export interface RunOptions {
  /** Iterated X25519 entries above this count are skipped (the 10^6 one is slow). */
  maxIterations: number;
}

export function runVectorFile(json: unknown, c: CryptoProvider, opts: RunOptions = { maxIterations: 1000 }): VectorResult[] {
  if (typeof json !== 'object' || json === null) throw new Error('vector file is not a JSON object');
  const doc = json as Json;
  if (Array.isArray(doc['vectors'])) {
    return (doc['vectors'] as Json[]).map((v, i) => runNoiseVector(v, c, i));
  }
  const out: VectorResult[] = [];
  for (const [key, entries] of Object.entries(doc)) {
    if (key === '_meta' || !Array.isArray(entries)) continue;
    const check = PRIMITIVES[key];
    for (const [i, e] of (entries as Json[]).entries()) {
      const name = `${key} ${String(e['id'] ?? i)}`;
      if (check === undefined) {
        out.push({ name, status: 'skip', reason: 'not implemented' });
        continue;
      }
      try {
        const r = check(e, c, opts);
        out.push(r === 'skip' ? { name, status: 'skip', reason: 'not covered' } : r === null ? { name, status: 'pass' } : { name, status: 'fail', reason: r });
      } catch (err) {
        out.push({ name, status: 'fail', reason: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}
