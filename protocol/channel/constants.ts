/** Secure channel constants. Spec values first, then tunables with defaults. */

/**
 * Prologue mixed into every Postern handshake: it binds the wire format's
 * version, so peers of different versions fail at the handshake (message 2
 * does not authenticate) instead of later, on a message they read otherwise.
 * v2: relay records of two kinds (transport records, PROTOCOL.md §7).
 */
export const PROLOGUE_TEXT = 'postern/v2/secure-channel';
export const PROLOGUE = new TextEncoder().encode(PROLOGUE_TEXT);
export const DEFAULT_PROTOCOL = 'Noise_XX_25519_AESGCM_SHA256';
export const SUPPORTED_PROTOCOLS = ['Noise_XX_25519_AESGCM_SHA256', 'Noise_XX_25519_ChaChaPoly_SHA256'] as const;
export type ChannelProtocol = (typeof SUPPORTED_PROTOCOLS)[number];

/** Transport message: 8-byte explicit nonce ‖ AEAD ciphertext ‖ 16-byte tag, at most 65535 bytes (Noise §3). */
export const NONCE_LEN = 8;
export const MAX_TRANSPORT_MESSAGE = 65535;
export const MAX_PLAINTEXT = MAX_TRANSPORT_MESSAGE - NONCE_LEN - 16; // 65511

/**
 * An end-to-end channel's transport messages (carried in relay records,
 * never alone on a link) may be larger: 256 KiB. Fewer, larger messages
 * cost less per byte in every process they cross (a cipher context, a
 * route, a record, a write each). Handshake messages keep the Noise limit.
 */
export const MAX_CHANNEL_MESSAGE = 256 * 1024;
export const MAX_CHANNEL_PLAINTEXT = MAX_CHANNEL_MESSAGE - NONCE_LEN - 16; // 262,120

/**
 * Relay records (links only): several routed messages whose payloads are
 * end-to-end ciphertext, forwarded as they are. At most this many messages
 * and this many payload bytes per record; the sealed part (the route
 * headers) stays within one transport message.
 */
export const MAX_RELAY_MESSAGES = 64;
export const MAX_RELAY_PAYLOAD = MAX_CHANNEL_MESSAGE;
/** nonce u64 ‖ header_len u16 ‖ sealed headers (≤ 65535) ‖ payloads. */
export const MAX_RELAY_RECORD = NONCE_LEN + 2 + MAX_TRANSPORT_MESSAGE + MAX_RELAY_PAYLOAD;

/** Handshake payload limits. */
export const PAYLOAD_VERSION = 1;
export const MAX_CREDENTIALS = 4;
export const MAX_ATTESTATION = 256;
export const MAX_CREDENTIAL_BYTES = 16 * 1024 + 64 + 5;

/** Tunable: rekey (Noise §11.3) every this many messages in each direction. */
export const DEFAULT_REKEY_INTERVAL = 65536;
