/** The agent's log lines: an ISO timestamp, the brand's binary name, the event. Never a secret. */
import type { AgentBrand } from './brand.ts';

export function agentLog(b: AgentBrand, write: (text: string) => void = (t) => process.stdout.write(t)): (line: string) => void {
  return (line) => write(`${new Date().toISOString()} ${b.binary} ${line}\n`);
}

export function printJson(out: (text: string) => void, value: unknown): void {
  out(`${JSON.stringify(value, null, 2)}\n`);
}
