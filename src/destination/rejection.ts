/**
 * How a receiver route fails (SECURITY.md: "Rejected" means a 4xx, no cookie, nothing changed,
 * and one log line with a reason code, never the token). Server-side trouble (the jti store or
 * the hub down, a misconfiguration) answers 5xx and is logged as an error.
 */
import type { DestinationLogger } from './options';

export interface Rejection {
  code: string;
  status: number;
}

/** Logs one line for a failed receiver request and returns its code and status. */
export function logRejection(logger: DestinationLogger, route: string, err: unknown): Rejection {
  const { code, status, claim, message } = err as { code?: unknown; status?: unknown; claim?: unknown; message?: unknown };
  const rejection: Rejection = {
    code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_INTERNAL',
    status: typeof status === 'number' && status >= 400 && status <= 599 ? status : 500,
  };
  if (rejection.status < 500) {
    logger.warn({ code: rejection.code, route, ...(typeof claim === 'string' ? { claim } : {}) }, 'handoff rejected');
  } else {
    // Messages of our own errors name no token; a foreign error's message is all we can say.
    logger.error({ code: rejection.code, route, err: typeof message === 'string' ? message : String(err) }, 'receiver failed');
  }
  return rejection;
}
