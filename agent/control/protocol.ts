/**
 * The local control API: newline-delimited JSON over a Unix socket in the
 * node's state directory (mode 0600, so only the node's owner can use it).
 * Request: {"id":1,"op":"status","args":{…}}; response: {"id":1,"ok":true,"result":…}
 * or {"id":1,"ok":false,"code":"…","message":"…","hint":"…"}.
 */
export const MAX_CONTROL_LINE = 256 * 1024;

export interface ControlRequest {
  id: number;
  op: string;
  args?: Record<string, unknown>;
}

export type ControlHandler = (op: string, args: Record<string, unknown>) => Promise<unknown>;
