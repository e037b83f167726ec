/** Noise rev 34 §7: the handshake patterns Postern implements. */

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk';

export interface HandshakePattern {
  readonly name: string;
  /** Pre-message tokens known before the handshake: initiator's, responder's. */
  readonly preInitiator: readonly Token[];
  readonly preResponder: readonly Token[];
  /** Messages alternate initiator → responder → initiator … */
  readonly messages: readonly (readonly Token[])[];
}

export const PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NN: { name: 'NN', preInitiator: [], preResponder: [], messages: [['e'], ['e', 'ee']] },
  XX: {
    name: 'XX',
    preInitiator: [],
    preResponder: [],
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']],
  },
  IK: {
    name: 'IK',
    preInitiator: [],
    preResponder: ['s'],
    messages: [
      ['e', 'es', 's', 'ss'],
      ['e', 'ee', 'se'],
    ],
  },
  /** §9.4 psk3 modifier on XX: psk at the end of message 3. */
  XXpsk3: {
    name: 'XXpsk3',
    preInitiator: [],
    preResponder: [],
    messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se', 'psk']],
  },
};
