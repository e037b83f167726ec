/** Stable error codes for stream resets, as a backend would branch on them. */
import { PosternError } from '../../protocol/errors.ts';
import { RESET_REASON } from '../../protocol/mux/index.ts';

const CODES: Record<number, [string, string]> = {
  [RESET_REASON.TARGET_REFUSED]: ['POSTERN_TARGET_REFUSED', 'the outlet could not connect to its target'],
  [RESET_REASON.POLICY_DENIED]: ['POSTERN_POLICY_DENIED', 'the other side\'s policy denied this connection'],
  [RESET_REASON.OUTLET_UNKNOWN]: ['POSTERN_OUTLET_UNKNOWN', 'there is no outlet with that name'],
  [RESET_REASON.TIMEOUT]: ['POSTERN_TIMEOUT', 'timed out'],
};

export function resetError(reason: number, message: string): PosternError {
  const [code, hint] = CODES[reason] ?? ['POSTERN_STREAM_RESET', 'the stream was reset'];
  return new PosternError(code, message || hint, hint);
}
