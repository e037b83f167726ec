/**
 * Every decoder that reads bytes or text from the network or a user, as a
 * fuzz target: given any input it must return or throw a PosternError —
 * never another exception, never hang.
 */
import { FrameDecoder } from '../../agent/transport/frame-decoder.ts';
import { decodeRouted } from '../../protocol/routing/index.ts';
import { decodeTicket } from '../../protocol/ticket/index.ts';
import { verifyCredential, decodeCredentialUnverified } from '../../protocol/credential/index.ts';
import { verifyAttestation } from '../../protocol/identity/index.ts';
import { parsePolicy } from '../../protocol/policy/index.ts';
import { parseConfig } from '../../agent/config/index.ts';
import { decodePayload, SecureChannelHandshake } from '../../protocol/channel/index.ts';
import { MuxSession } from '../../protocol/mux/index.ts';
import { makeAuthority, makeParty, trust } from '../helpers/identities.ts';

export interface Target {
  name: string;
  kind: 'bytes' | 'text';
  run(input: Uint8Array | string): void;
}

const auth = makeAuthority();
const party = makeParty();
const text = (i: Uint8Array | string) => (typeof i === 'string' ? i : Buffer.from(i).toString('latin1'));
const bytes = (i: Uint8Array | string) => (typeof i === 'string' ? new TextEncoder().encode(i) : i);

export const TARGETS: Target[] = [
  {
    name: 'link frames',
    kind: 'bytes',
    run: (i) => {
      const d = new FrameDecoder(4096);
      const b = bytes(i);
      for (let o = 0; o < b.length; o += 7) d.push(b.subarray(o, o + 7), () => {});
    },
  },
  { name: 'routes', kind: 'bytes', run: (i) => void decodeRouted(bytes(i)) },
  { name: 'mux frames', kind: 'bytes', run: (i) => new MuxSession({ initiator: true, send: () => {}, onOpen: (s) => s.reset(3) }).receive(bytes(i)) },
  { name: 'handshake payloads', kind: 'bytes', run: (i) => void decodePayload(bytes(i)) },
  {
    name: 'handshake message 1 (responder)',
    kind: 'bytes',
    run: (i) => void new SecureChannelHandshake({ initiator: false, local: party.local([]), trust: trust(auth) }).receive(bytes(i)),
  },
  {
    name: 'handshake message 2 (initiator)',
    kind: 'bytes',
    run: (i) => {
      const h = new SecureChannelHandshake({ initiator: true, local: party.local([]), trust: trust(auth) });
      h.start();
      h.receive(bytes(i));
    },
  },
  { name: 'tickets', kind: 'text', run: (i) => void decodeTicket(text(i)) },
  { name: 'credentials', kind: 'bytes', run: (i) => void verifyCredential(bytes(i), auth.publicKey, 1_800_000_000) },
  { name: 'credentials (unverified decode)', kind: 'bytes', run: (i) => void decodeCredentialUnverified(bytes(i)) },
  { name: 'attestations', kind: 'bytes', run: (i) => void verifyAttestation(bytes(i), 1_800_000_000) },
  { name: 'policies', kind: 'text', run: (i) => void parsePolicy(text(i)) },
  { name: 'config files', kind: 'text', run: (i) => void parseConfig(text(i), 'fuzz.yaml', { variables: { A: 'x' }, env: {} }) },
];
