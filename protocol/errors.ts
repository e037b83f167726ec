/**
 * One error base class for the whole project. Every error that crosses a
 * module boundary is a PosternError with a stable `code` (listed in
 * docs/ERRORS.md), a message for people and, where there is one, a hint that
 * says what to do next. The CLI prints message and hint, never a stack.
 */
export class PosternError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PosternError';
    this.code = code;
    this.hint = hint;
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isPosternError(e: unknown, code?: string): e is PosternError {
  return e instanceof PosternError && (code === undefined || e.code === code);
}
