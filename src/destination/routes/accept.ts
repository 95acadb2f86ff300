/**
 * `POST <prefix>accept` (the hub's auto-submitting form, the default) and `GET <prefix>accept`
 * (the hub's redirect mode): the end of a bounce. Fields `token`, `state`, `return_to`, or
 * `error` instead of `token` when the hub has no session to give (`login_required`).
 *
 * The state must equal the state cookie before anything else happens. Then:
 * - a token: verified and taken (../handoff.ts), state cookie cleared, 303 to `return_to`;
 * - an error: bounces are suppressed for `noBounceSeconds`, 303 to `return_to`, anonymous.
 * `return_to` is used only when it is on this site's origin, else `/`.
 */
import type Koa from 'koa';
import { TesseraError } from '../../core/errors';
import { checkState, clearState, requireSecure, returnToOnSite, seeOther, suppressBounces } from '../bounce';
import type { DestinationDeps } from '../deps';
import { takeSession, verifyForSite } from '../handoff';
import { logRejection } from '../rejection';

/** A form holds a token (≤ maxTokenBytes), a state and a return URL: anything much larger is not ours. */
const MAX_FORM_BYTES = 16 * 1024;
/** What an `error` value from the hub may look like in a log line (OAuth-style codes). */
const ERROR_CODE = /^[a-z_]{1,64}$/;

export async function answerAccept(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  const { options } = deps;
  try {
    const fields = ctx.method === 'POST' ? await readForm(ctx) : ctx.query;
    const field = (name: string): string => {
      const value = fields[name];
      return typeof value === 'string' ? value : '';
    };
    requireSecure(ctx);
    checkState(ctx, field('state'));
    const returnTo = returnToOnSite(field('return_to'), options.siteOrigin);
    const error = field('error');
    if (error !== '') {
      deps.logger.info({ hubError: ERROR_CODE.test(error) ? error : 'unrecognised' }, 'hub returned without a session: not bouncing again for a while');
      clearState(options, ctx);
      suppressBounces(options, ctx);
      seeOther(ctx, returnTo);
      return;
    }
    const token = field('token');
    // The state matched: no Referer/Origin rule here (see ../handoff.ts, step 2).
    const verified = await verifyForSite(deps, token, null);
    await takeSession(deps, ctx, verified, token);
    clearState(options, ctx);
    seeOther(ctx, returnTo);
  } catch (err) {
    const { code, status } = logRejection(deps.logger, 'accept', err);
    ctx.status = status;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `The sign-in handoff was refused (${code}).\n`;
  }
}

/** The urlencoded form: as parsed by a body parser mounted earlier, or read here with a size limit. */
export async function readForm(ctx: Koa.Context): Promise<Record<string, unknown>> {
  const parsed = (ctx.request as { body?: unknown }).body;
  if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  if (!ctx.is('application/x-www-form-urlencoded')) throw new TesseraError('ERR_BAD_REQUEST', 'the receiver takes an urlencoded form', { status: 415 });
  if (Number(ctx.get('Content-Length') || '0') > MAX_FORM_BYTES) throw new TesseraError('ERR_PAYLOAD_TOO_LARGE', 'form too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new TesseraError('ERR_PAYLOAD_TOO_LARGE', 'form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}
