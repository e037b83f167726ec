/** Poll `cond` every `stepMs` until it holds; throw once `ms` have passed without it. */
export async function until(cond: () => boolean, ms = 5000, stepMs = 5): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
