/**
 * Events the hub announces (issue 4: django-shared-session's `session_replaced`, which users
 * rely on to move their own data when a site's session changes hands). Listeners in the same
 * process subscribe with `on`; with `handoff.webhookUrl` set each event is also POSTed there as
 * JSON. The webhook is fire and forget with a short timeout: a slow or failing listener must
 * never hold up or fail the receiver that accepted the token, so failures are only logged.
 */
import { EventEmitter } from 'node:events';
import type { SessionReplacedEvent } from '../core/receiver/receiver';
import type { Logger } from '../log/logger';

/** How long the webhook may take before the hub stops waiting for it. */
export const WEBHOOK_TIMEOUT_MS = 2000;

/** The hub's event hook: `deps.events`. */
export interface HubEvents {
  /** Announces that a site's session was set from a handoff token. Never throws. */
  emit(event: SessionReplacedEvent): void;
  /** Subscribes an in-process listener. */
  on(type: 'session_replaced', listener: (event: SessionReplacedEvent) => void): void;
}

export interface HubEventsOptions {
  /** POST target for every event, or null for in-process only. */
  webhookUrl: string | null;
  logger: Logger;
  /** Default {@link WEBHOOK_TIMEOUT_MS}. */
  webhookTimeoutMs?: number;
}

/**
 * Builds the event hook on a node:events emitter.
 *
 * @example
 * const events = createHubEvents({ webhookUrl: config.handoff.webhookUrl, logger });
 * events.on('session_replaced', (e) => basket.move(e.sid, e.site));
 */
export function createHubEvents(options: HubEventsOptions): HubEvents {
  const emitter = new EventEmitter();
  const timeoutMs = options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    emit(event) {
      try {
        emitter.emit(event.type, event);
      } catch (err) {
        // A listener's bug is the listener's: the token was accepted and the cookie is set.
        options.logger.error({ err, event: event.type }, 'event listener failed');
      }
      if (options.webhookUrl !== null) void postWebhook(options.webhookUrl, event, timeoutMs, options.logger);
    },
    on(type, listener) {
      emitter.on(type, listener);
    },
  };
}

async function postWebhook(url: string, event: SessionReplacedEvent, timeoutMs: number, logger: Logger): Promise<void> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      // The webhook is configured, not taken from a request; redirects would let its owner send
      // the hub elsewhere, so they count as failures.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) logger.warn({ event: event.type, status: res.status }, 'webhook refused the event');
  } catch (err) {
    logger.warn({ event: event.type, err: (err as Error).message }, 'webhook not reached');
  }
}
