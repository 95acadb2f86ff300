/**
 * The `session_replaced` event (django-shared-session's, which sites rely on to move their own
 * data when a session changes hands): handed to `onSessionReplaced` in-process and, with
 * `webhookUrl`, POSTed there as JSON. Both are fire and forget: a slow or failing listener
 * never holds up or fails the receiver that accepted the token; failures are only logged.
 */
import type { Agent } from 'node:https';
import type { SessionReplacedEvent } from '../core/receiver/receiver';
import { postJson } from './hub-client';
import type { DestinationLogger } from './options';

export interface EventSinkOptions {
  onSessionReplaced: ((event: SessionReplacedEvent) => void | Promise<void>) | null;
  webhookUrl: string | null;
  agent: Agent | null;
  timeoutMs: number;
  logger: DestinationLogger;
}

/**
 * A function that announces one event. It never throws and never waits.
 *
 * @example
 * const emit = createEventSink({ onSessionReplaced: (e) => basket.move(e.sid), webhookUrl: null, agent: null, timeoutMs: 3000, logger });
 * emit({ type: 'session_replaced', site, src, sid, wasEmpty: true, at });
 */
export function createEventSink(options: EventSinkOptions): (event: SessionReplacedEvent) => void {
  const { logger, onSessionReplaced, webhookUrl } = options;
  const listenerFailed = (err: unknown) => logger.error({ event: 'session_replaced', err: (err as Error).message }, 'onSessionReplaced failed');
  return (event) => {
    if (onSessionReplaced !== null) {
      try {
        void Promise.resolve(onSessionReplaced(event)).catch(listenerFailed);
      } catch (err) {
        listenerFailed(err);
      }
    }
    if (webhookUrl !== null) {
      postJson(webhookUrl, event, { agent: options.agent, timeoutMs: options.timeoutMs }).then(
        ({ status }) => {
          if (status < 200 || status > 299) logger.warn({ event: event.type, status }, 'webhook refused the event');
        },
        (err: unknown) => logger.warn({ event: event.type, err: (err as Error).message }, 'webhook not reached'),
      );
    }
  };
}
