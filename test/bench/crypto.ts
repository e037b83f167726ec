/**
 * npm run bench:crypto — handshakes per second and AEAD throughput for both
 * cipher choices, on both providers (node:crypto and @noble), one core.
 * Not part of `npm test`.
 */
import { nobleCrypto, nodeCrypto, type CryptoProvider } from '../../protocol/crypto/index.ts';
import { HandshakeState } from '../../protocol/noise/index.ts';
import { encodeNonce } from '../../protocol/noise/nonce.ts';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 1;

function timed(fn: () => void, budgetMs: number): { ops: number; ms: number } {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let k = 0; k < 8; k++) fn();
    ops += 8;
    now = performance.now();
  }
  return { ops, ms: now - start };
}

function handshakeOnce(c: CryptoProvider, protocolName: string, si: { secretKey: Uint8Array; publicKey: Uint8Array }, sr: typeof si): void {
  const i = new HandshakeState({ crypto: c, protocolName, initiator: true, s: si });
  const r = new HandshakeState({ crypto: c, protocolName, initiator: false, s: sr });
  const empty = new Uint8Array(0);
  r.readMessage(i.writeMessage(empty));
  i.readMessage(r.writeMessage(empty));
  r.readMessage(i.writeMessage(empty));
  i.split();
  r.split();
}

const rows: string[][] = [['provider', 'measure', 'value']];
for (const c of [nodeCrypto, nobleCrypto]) {
  const kp = () => {
    const secretKey = c.x25519Generate();
    return { secretKey, publicKey: c.x25519PublicKey(secretKey) };
  };
  const si = kp();
  const sr = kp();
  for (const cipher of ['AESGCM', 'ChaChaPoly'] as const) {
    const name = `Noise_XX_25519_${cipher}_SHA256`;
    const h = timed(() => handshakeOnce(c, name, si, sr), seconds * 400);
    rows.push([c.name, `XX handshakes/s (${cipher}, both sides)`, (h.ops / (h.ms / 1000)).toFixed(0)]);
    for (const size of [1024, 16384, 65000]) {
      const key = c.aead(cipher, c.randomBytes(32));
      const pt = c.randomBytes(size);
      const nonce = encodeNonce(cipher, 1);
      const ad = new Uint8Array(0);
      const t = timed(() => key.seal(nonce, ad, pt), seconds * 300);
      rows.push([c.name, `${cipher} seal MB/s @ ${size} B`, ((t.ops * size) / 1e6 / (t.ms / 1000)).toFixed(0)]);
    }
  }
  const ed = c.ed25519Generate();
  const edPub = c.ed25519PublicKey(ed);
  const msg = c.randomBytes(128);
  const sig = c.ed25519Sign(ed, msg);
  const s1 = timed(() => c.ed25519Sign(ed, msg), seconds * 200);
  const s2 = timed(() => c.ed25519Verify(edPub, msg, sig), seconds * 200);
  const s3 = timed(() => c.x25519(si.secretKey, sr.publicKey), seconds * 200);
  rows.push([c.name, 'Ed25519 sign/s', (s1.ops / (s1.ms / 1000)).toFixed(0)]);
  rows.push([c.name, 'Ed25519 verify/s', (s2.ops / (s2.ms / 1000)).toFixed(0)]);
  rows.push([c.name, 'X25519 DH/s', (s3.ops / (s3.ms / 1000)).toFixed(0)]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  '));
