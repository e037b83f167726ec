/**
 * The secure channel handshake: Noise XX plus identity binding. A pure state
 * machine: feed it the peer's messages, send what it returns.
 *
 *   -> e                                   (message 1, empty payload)
 *   <- e, ee, s, es   + responder payload  (message 2)
 *   -> s, se          + initiator payload  (message 3)
 *
 * A payload carries the identity key, the identity's attestation of the Noise
 * static key, and credentials (payload.ts). The channel is established only
 * if the attestation verifies, names the same identity key and attests the
 * exact static key Noise authenticated; every presented credential must
 * verify against a trusted authority and name the peer as its subject.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { EMPTY, equal } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import { HandshakeAuthError, HandshakeState, type KeyPair, type StaticKey } from '../noise/handshake-state.ts';
import { identifierOf } from '../identity/identifier.ts';
import { verifyAttestation } from '../identity/attestation.ts';
import type { AttestationCache } from '../identity/attestation-cache.ts';
import { verifyCredential, type Credential } from '../credential/credential.ts';
import { DEFAULT_PROTOCOL, DEFAULT_REKEY_INTERVAL, PROLOGUE, PROLOGUE_TEXT, SUPPORTED_PROTOCOLS, type ChannelProtocol } from './constants.ts';
import { decodePayload, encodePayload } from './payload.ts';
import { TransportState } from './transport.ts';

export interface LocalIdentity {
  identityPublicKey: Uint8Array;
  staticKey: KeyPair | StaticKey;
  attestation: Uint8Array;
  /** Credential envelopes to present (may be empty, e.g. before enrollment). */
  credentials: Uint8Array[];
}

export interface TrustOptions {
  /** Authority public keys whose credentials this side accepts. */
  authorities: Uint8Array[];
  /** When set, credentials must belong to this project. */
  project?: string;
  /** Refuse a peer that presents no valid credential. */
  requireCredential: boolean;
  /**
   * Neither verify nor report the credentials the peer presents: for a side
   * that decides membership elsewhere (the hub reads its store). Saves an
   * Ed25519 verification per credential, and a peer cannot make this side
   * verify anything but its attestation. Not with requireCredential.
   */
  ignoreCredentials?: boolean;
  /** Refuse any peer but this identifier (pinning, e.g. the hub). */
  expectedPeer?: string;
  /**
   * Attestations already verified, for a side that sees the same peers
   * reconnect (the hub): their signature is not checked again, their
   * times are (identity/attestation-cache.ts).
   */
  attestations?: AttestationCache;
  /** Unix seconds. */
  now: () => number;
}

export interface PeerInfo {
  identifier: string;
  identityPublicKey: Uint8Array;
  /** Attributes from the peer's verified credentials (empty if none). */
  attributes: Readonly<Record<string, string>>;
  /** True when the peer presented at least one valid credential of a trusted authority. */
  member: boolean;
  credentials: Credential[];
  /** Earliest expiry among the presented credentials, null if none. */
  credentialExpiresAt: number | null;
}

export interface EstablishedChannel {
  peer: PeerInfo;
  transport: TransportState;
  handshakeHash: Uint8Array;
  protocol: ChannelProtocol;
}

export interface HandshakeResult {
  reply?: Uint8Array;
  established?: EstablishedChannel;
}

export interface SecureChannelOptions {
  initiator: boolean;
  local: LocalIdentity;
  trust: TrustOptions;
  protocol?: ChannelProtocol;
  rekeyInterval?: number;
  /** Largest transport message once established (default 65,535; an end-to-end channel: MAX_CHANNEL_MESSAGE). */
  maxMessage?: number;
  crypto?: CryptoProvider;
}

function refuse(code: string, message: string, hint?: string): never {
  throw new PosternError(code, message, hint);
}

/** Verify a peer's payload against the static key Noise authenticated. */
export function verifyPeer(
  payloadBytes: Uint8Array,
  remoteStatic: Uint8Array,
  trust: TrustOptions,
  crypto: CryptoProvider,
): PeerInfo {
  const payload = decodePayload(payloadBytes);
  const now = trust.now();
  const att = verifyAttestation(payload.attestation, now, crypto, trust.attestations);
  if (!equal(att.identityPublicKey, payload.identityPublicKey)) {
    refuse('POSTERN_ATTESTATION_MISMATCH', 'the attestation belongs to another identity');
  }
  if (!equal(att.staticPublicKey, remoteStatic)) {
    refuse('POSTERN_ATTESTATION_MISMATCH', 'the attestation does not match the Noise static key');
  }
  const identifier = identifierOf(payload.identityPublicKey, crypto);
  if (trust.expectedPeer !== undefined && trust.expectedPeer !== identifier) {
    refuse('POSTERN_PEER_UNEXPECTED', `peer ${identifier} is not the expected ${trust.expectedPeer}`, 'check the hub identity pinned in the ticket or brand');
  }
  const credentials: Credential[] = [];
  const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const env of trust.ignoreCredentials === true ? [] : payload.credentials) {
    let cred: Credential | undefined;
    let lastError: unknown;
    for (const authority of trust.authorities) {
      try {
        cred = verifyCredential(env, authority, now, crypto);
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (cred === undefined) {
      if (lastError instanceof PosternError) throw lastError;
      refuse('POSTERN_CREDENTIAL_WRONG_AUTHORITY', 'no trusted authority is configured for this credential');
    }
    if (cred.subject !== identifier) {
      refuse('POSTERN_CREDENTIAL_SUBJECT', 'the credential was issued to another identity');
    }
    if (trust.project !== undefined && cred.project !== trust.project) {
      refuse('POSTERN_CREDENTIAL_PROJECT', `the credential is for project ${cred.project}, not ${trust.project}`);
    }
    credentials.push(cred);
    for (const [k, v] of Object.entries(cred.attributes)) attributes[k] = v;
  }
  if (trust.requireCredential && credentials.length === 0) {
    refuse('POSTERN_CREDENTIAL_MISSING', 'the peer presented no credential', 'enroll the node with a ticket first');
  }
  return {
    identifier,
    identityPublicKey: payload.identityPublicKey,
    attributes: Object.freeze(attributes),
    member: credentials.length > 0,
    credentials,
    credentialExpiresAt: credentials.length === 0 ? null : Math.min(...credentials.map((c) => c.expiresAt)),
  };
}

export class SecureChannelHandshake {
  readonly initiator: boolean;
  private readonly hs: HandshakeState;
  private readonly o: SecureChannelOptions;
  private readonly crypto: CryptoProvider;
  private readonly protocol: ChannelProtocol;
  private peer: PeerInfo | undefined;
  private started = false;
  private done = false;

  constructor(o: SecureChannelOptions) {
    this.o = o;
    this.initiator = o.initiator;
    this.crypto = o.crypto ?? defaultCrypto;
    this.protocol = o.protocol ?? DEFAULT_PROTOCOL;
    if (!SUPPORTED_PROTOCOLS.includes(this.protocol)) refuse('POSTERN_NOISE_UNSUPPORTED', `unsupported protocol ${this.protocol}`);
    if (o.trust.requireCredential && o.trust.ignoreCredentials === true) {
      throw new TypeError('trust options: requireCredential and ignoreCredentials exclude each other');
    }
    this.hs = new HandshakeState({
      crypto: this.crypto,
      protocolName: this.protocol,
      initiator: o.initiator,
      prologue: PROLOGUE,
      s: o.local.staticKey,
    });
  }

  private payload(): Uint8Array {
    const l = this.o.local;
    return encodePayload({ identityPublicKey: l.identityPublicKey, attestation: l.attestation, credentials: l.credentials });
  }

  /** Initiator: the first message. */
  start(): Uint8Array {
    if (!this.initiator || this.started) refuse('POSTERN_HANDSHAKE_FAILED', 'start() is for the initiator, once');
    this.started = true;
    return this.hs.writeMessage(EMPTY);
  }

  /** Feed one handshake message from the peer. */
  receive(message: Uint8Array): HandshakeResult {
    if (this.done) refuse('POSTERN_HANDSHAKE_FAILED', 'handshake already complete');
    if (this.initiator && !this.started) refuse('POSTERN_HANDSHAKE_FAILED', 'initiator must start() first');
    let payload: Uint8Array;
    try {
      payload = this.hs.readMessage(message);
    } catch (e) {
      // Message 2 is the first one keyed by both sides' inputs, the prologue included.
      if (this.initiator && e instanceof HandshakeAuthError) {
        throw new PosternError(
          e.code,
          e.message,
          `a peer of another Postern protocol version (this side speaks ${PROLOGUE_TEXT}) or configured for another Noise protocol (this side: ${this.protocol}) fails this way, as does a message changed on the way; upgrade the older side`,
        );
      }
      throw e;
    }
    if (this.initiator) {
      // message 2 from the responder: verify, then send message 3.
      this.peer = verifyPeer(payload, this.hs.remoteStatic()!, this.o.trust, this.crypto);
      const reply = this.hs.writeMessage(this.payload());
      return { reply, established: this.finish() };
    }
    if (this.peer === undefined && !this.hs.isComplete()) {
      if (payload.length !== 0) refuse('POSTERN_HANDSHAKE_FAILED', 'unexpected payload in message 1');
      return { reply: this.hs.writeMessage(this.payload()) };
    }
    // message 3 from the initiator.
    this.peer = verifyPeer(payload, this.hs.remoteStatic()!, this.o.trust, this.crypto);
    return { established: this.finish() };
  }

  private finish(): EstablishedChannel {
    this.done = true;
    const { send, recv, handshakeHash } = this.hs.split();
    return {
      peer: this.peer!,
      transport: new TransportState(send, recv, this.o.rekeyInterval ?? DEFAULT_REKEY_INTERVAL, this.o.maxMessage),
      handshakeHash,
      protocol: this.protocol,
    };
  }
}
