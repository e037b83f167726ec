import { PosternError } from '../../protocol/errors.ts';

/** The stable code `f` throws, or 'no error'; anything but a PosternError is rethrown. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof PosternError) return e.code;
    throw e;
  }
  return 'no error';
}
