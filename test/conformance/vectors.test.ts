import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../protocol/crypto/index.ts';
import { runVectorFile } from './runner.ts';

// A copy of the public vectors (provenance and licences in vectors/README.md), so a clone anywhere runs them.
const shared = fileURLToPath(new URL('./vectors/', import.meta.url));
const noise = JSON.parse(readFileSync(`${shared}noise-vectors.json`, 'utf8'));
const primitives = JSON.parse(readFileSync(`${shared}primitives.json`, 'utf8'));

describe.each([nodeCrypto, nobleCrypto])('vectors on $name', (provider) => {
  it('passes every Noise XX, NN and IK vector (and XXpsk3)', () => {
    const results = runVectorFile(noise, provider);
    const failures = results.filter((r) => r.status !== 'pass');
    expect(failures).toEqual([]);
    for (const pattern of ['XX', 'NN', 'IK']) {
      for (const cipher of ['ChaChaPoly', 'AESGCM']) {
        for (const hash of ['SHA256', 'BLAKE2s']) {
          const name = `Noise_${pattern}_25519_${cipher}_${hash}`;
          expect(results.some((r) => r.name.startsWith(`${name} `) && r.status === 'pass'), name).toBe(true);
        }
      }
    }
  });

  it('passes every primitive entry it covers', () => {
    const results = runVectorFile(primitives, provider);
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    const skipped = results.filter((r) => r.status === 'skip').map((r) => r.name);
    // Only the 10^6-iteration X25519 run and the non-96-bit GCM IVs (never used by Noise).
    expect(skipped.sort()).toEqual(
      ['aes256gcm gcm-spec-tc17', 'aes256gcm gcm-spec-tc18', 'aes256gcm gcm-spec-tc18-bad-tag', 'x25519 rfc7748-5.2-iter-1000000'].sort(),
    );
    expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThanOrEqual(45);
  });

  it('fails a vector whose ciphertext was altered', () => {
    const broken = structuredClone(noise);
    const m = broken.vectors[9].messages[1];
    m.ciphertext = (m.ciphertext[0] === '0' ? '1' : '0') + m.ciphertext.slice(1);
    const results = runVectorFile(broken, provider);
    expect(results[9]!.status).toBe('fail');
  });

  it('skips and counts protocol names it does not implement', () => {
    const doc = { _meta: { other: true }, vectors: [{ protocol_name: 'Noise_KK_448_ChaChaPoly_SHA512', messages: [] }] };
    expect(runVectorFile(doc, provider)).toEqual([{ name: 'Noise_KK_448_ChaChaPoly_SHA512 #0', status: 'skip', reason: 'not implemented' }]);
  });
});
