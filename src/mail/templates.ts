/**
 * The e-mails the login hub sends, each as a plain-text and an HTML part. Everything
 * interpolated into the HTML goes through `escapeHtml`; the sign-in notice shows a user agent
 * string, which is attacker-controlled. Times are shown in UTC so that a message reads the same
 * wherever it is opened.
 */
import { TesseraError } from '../core/errors';
import { escapeHtml } from '../core/html/escape';
import type { MailMessage } from '../ports';

const defaultProduct = 'Tessera';

/** A user agent can be kilobytes long; a notice needs only enough to recognise the device. */
const maxDeviceLength = 200;

/**
 * The magic-link e-mail (DESIGN.md "Login at the hub").
 *
 * @param input.link the landing-page URL built from the configured public URL; must be http(s)
 *   so that no other scheme (`javascript:`, `data:`) ever reaches an `href`.
 * @param input.expiresMinutes how long the link works (at most 10, SECURITY.md).
 * @throws TesseraError `ERR_INTERNAL` when `link` is not an absolute http(s) URL.
 *
 * @example
 * await mailer.send(magicLinkMessage({ to: user.email, link, expiresMinutes: 10 }));
 */
export function magicLinkMessage(input: { to: string; link: string; expiresMinutes: number; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const link = httpUrl(input.link);
  const lifetime = `${input.expiresMinutes} ${input.expiresMinutes === 1 ? 'minute' : 'minutes'}`;
  return {
    to: input.to,
    subject: `Your sign-in link for ${product}`,
    text: [
      'Hello,',
      '',
      `Open this link to sign in to ${product}:`,
      '',
      link,
      '',
      `The link works once and expires in ${lifetime}.`,
      'If you did not ask to sign in, ignore this message: nobody can use the link without it.',
      '',
    ].join('\n'),
    html: page([
      '<p>Hello,</p>',
      `<p>Open this link to sign in to ${escapeHtml(product)}:</p>`,
      `<p><a href="${escapeHtml(link)}">Sign in to ${escapeHtml(product)}</a></p>`,
      `<p>If the link does not work, copy this address into your browser:<br>${escapeHtml(link)}</p>`,
      `<p>The link works once and expires in ${escapeHtml(lifetime)}.<br>`,
      'If you did not ask to sign in, ignore this message: nobody can use the link without it.</p>',
    ]),
  };
}

/**
 * The optional notice of a new sign-in, with device and time.
 *
 * @param input.device the session's user agent (null when unknown); shortened for display.
 * @param input.ip the client address (null when unknown).
 *
 * @example
 * await mailer.send(newSignInMessage({ to: user.email, device: ua, ip, at: new Date(clock.now()) }));
 */
export function newSignInMessage(input: { to: string; device: string | null; ip: string | null; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  return deviceNotice(input, {
    subject: `New sign-in to ${product}`,
    what: `Someone signed in to your ${product} account.`,
    advice: 'If it was not, sign in, end that session from your account page and change your password.',
  });
}

/**
 * The optional notice that an administrator ended the user's sessions: `scope` 'all' (every
 * one: signed out everywhere) or 'one' (a single session: signed out on that device only).
 *
 * @example
 * await mailer.send(sessionsEndedByAdminMessage({ to: user.email, scope: 'all', at: new Date(clock.now()) }));
 */
export function sessionsEndedByAdminMessage(input: { to: string; scope: 'one' | 'all'; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const when = formatUtc(input.at);
  const what = input.scope === 'all' ? `ended all of your ${product} sessions` : `ended one of your ${product} sessions`;
  const outcome = input.scope === 'all' ? 'You have been signed out everywhere; sign in again to continue.' : 'The device or browser of that session has been signed out; your other sessions go on.';
  return {
    to: input.to,
    subject: `You were signed out of ${product}`,
    text: ['Hello,', '', `An administrator ${what} at ${when}.`, outcome, '', 'If you did not expect this, contact your administrator.', ''].join('\n'),
    html: page([
      '<p>Hello,</p>',
      `<p>An administrator ${escapeHtml(what)} at ${escapeHtml(when)}.<br>`,
      `${escapeHtml(outcome)}</p>`,
      '<p>If you did not expect this, contact your administrator.</p>',
    ]),
  };
}

/**
 * The notice that the account's password was changed or set from the account page, with the
 * device and address it was done from: the one message someone whose session was stolen
 * needs to see.
 *
 * @example
 * await mailer.send(passwordChangedMessage({ to: user.email, set: false, device: ua, ip, at: new Date(clock.now()) }));
 */
export function passwordChangedMessage(input: { to: string; set: boolean; device: string | null; ip: string | null; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  return deviceNotice(input, {
    subject: input.set ? `A password was set for your ${product} account` : `Your ${product} password was changed`,
    what: `${input.set ? 'A password was set for' : 'The password of'} your ${product} account${input.set ? '' : ' was changed'}. Every other device was signed out.`,
    advice: 'If it was not, sign in with an e-mail link at once, change the password and contact your administrator.',
  });
}

/**
 * The invitation an administrator sends with a new account: where to sign in. It carries no
 * sign-in link (those last ten minutes); the person asks the sign-in page for one.
 *
 * @param input.loginUrl the hub's sign-in page, from the configured public URL.
 * @example
 * await mailer.send(accountCreatedMessage({ to: user.email, loginUrl: `${config.publicUrl}/login` }));
 */
export function accountCreatedMessage(input: { to: string; loginUrl: string; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const loginUrl = httpUrl(input.loginUrl);
  return {
    to: input.to,
    subject: `An account on ${product} was created for you`,
    text: [
      'Hello,',
      '',
      `An administrator created a ${product} account for this address. To sign in, open`,
      '',
      loginUrl,
      '',
      'and ask for a sign-in link with this e-mail address.',
      '',
      'If you did not expect this, you can ignore this message.',
      '',
    ].join('\n'),
    html: page([
      '<p>Hello,</p>',
      `<p>An administrator created a ${escapeHtml(product)} account for this address.</p>`,
      `<p><a href="${escapeHtml(loginUrl)}">Sign in to ${escapeHtml(product)}</a> and ask for a sign-in link with this e-mail address.</p>`,
      '<p>If you did not expect this, you can ignore this message.</p>',
    ]),
  };
}

/**
 * The notice that two-step sign-in was turned on or off, or that a new set of recovery codes
 * was made, with the device and address it was done from.
 *
 * @example
 * await mailer.send(twoStepChangedMessage({ to: user.email, change: 'on', device, ip, at: new Date(clock.now()) }));
 */
export function twoStepChangedMessage(input: { to: string; change: 'on' | 'off' | 'recovery-codes'; device: string | null; ip: string | null; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const what = { on: 'Two-step sign-in was turned on', off: 'Two-step sign-in was turned off', 'recovery-codes': 'New recovery codes were made' }[input.change];
  return deviceNotice(input, {
    subject: { on: `Two-step sign-in is on for your ${product} account`, off: `Two-step sign-in is off for your ${product} account`, 'recovery-codes': `New recovery codes for your ${product} account` }[input.change],
    what: `${what} for your ${product} account.`,
    advice: 'If it was not, sign in at once, change your password and contact your administrator.',
  });
}

/**
 * The notice that an administrator turned the person's two-step sign-in off: always sent, since
 * it is what someone who talked a help desk into it would not want the owner to see.
 *
 * @example
 * await mailer.send(twoStepResetByAdminMessage({ to: user.email, at: new Date(clock.now()) }));
 */
export function twoStepResetByAdminMessage(input: { to: string; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const when = formatUtc(input.at);
  const lines = [
    `An administrator turned off two-step sign-in for your ${product} account at ${when}.`,
    'You sign in with your password or an e-mail link alone until you turn it on again from your account page.',
    'If you did not ask for this, contact your administrator at once.',
  ];
  return lineNotice(input.to, `Two-step sign-in was turned off for your ${product} account`, lines);
}

/**
 * The notice that an administrator set a new password for the person's account, or removed it
 * (`tessera users passwd`): always sent, for the same reason as {@link twoStepResetByAdminMessage}.
 *
 * @param input.cleared the password was removed: the person signs in by e-mail link only.
 * @param input.signedOut every session of theirs was ended with it.
 * @example
 * await mailer.send(passwordSetByAdminMessage({ to: user.email, cleared: false, signedOut: true, at: new Date(clock.now()) }));
 */
export function passwordSetByAdminMessage(input: { to: string; cleared: boolean; signedOut: boolean; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const what = input.cleared ? `An administrator removed the password of your ${product} account` : `An administrator set a new password for your ${product} account`;
  const lines = [
    `${what} at ${formatUtc(input.at)}.`,
    ...(input.cleared ? ['You sign in with an e-mail link from now on.'] : []),
    ...(input.signedOut ? ['You were signed out everywhere.'] : []),
    'If you did not ask for this, contact your administrator at once.',
  ];
  return lineNotice(input.to, what, lines);
}

/**
 * The notice that an administrator deleted the person's account (admin UI, API and `tessera
 * users delete`): always sent, once the deletion is done, to the address the account had, so
 * that someone who did not ask for it learns why they cannot sign in, and whom to ask.
 *
 * @example
 * await mailer.send(accountDeletedByAdminMessage({ to: removed.email, at: new Date(clock.now()) }));
 */
export function accountDeletedByAdminMessage(input: { to: string; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const lines = [
    `An administrator deleted your ${product} account at ${formatUtc(input.at)}.`,
    'You were signed out everywhere, and nobody can sign in to the account any more.',
    'If you did not expect this, contact your administrator.',
  ];
  return lineNotice(input.to, `Your ${product} account was deleted`, lines);
}

/**
 * The link that confirms a new e-mail address, sent to that address.
 *
 * @example
 * await mailer.send(emailChangeMessage({ to: newAddress, from: user.email, link, expiresMinutes: 10 }));
 */
export function emailChangeMessage(input: { to: string; from: string; link: string; expiresMinutes: number; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const link = httpUrl(input.link);
  const lifetime = `${input.expiresMinutes} ${input.expiresMinutes === 1 ? 'minute' : 'minutes'}`;
  const lead = `Someone signed in to the ${product} account of ${input.from} asked to use this address for it instead.`;
  const rest = [`The link works once and expires in ${lifetime}.`, 'If you did not ask for this, ignore this message: nothing changes without the link.'];
  return {
    to: input.to,
    subject: `Confirm your new e-mail address for ${product}`,
    text: ['Hello,', '', lead, 'Open this link, signed in to that account, to confirm:', '', link, '', ...rest, ''].join('\n'),
    html: page([
      '<p>Hello,</p>',
      `<p>${escapeHtml(lead)}</p>`,
      `<p><a href="${escapeHtml(link)}">Confirm this address</a> (while signed in to that account)</p>`,
      `<p>${rest.map(escapeHtml).join('<br>\n')}</p>`,
    ]),
  };
}

/**
 * The notice to the old address that the account now uses another one.
 *
 * @example
 * await mailer.send(emailChangedMessage({ to: oldAddress, newAddress, at: new Date(clock.now()) }));
 */
export function emailChangedMessage(input: { to: string; newAddress: string; at: Date; product?: string }): MailMessage {
  const product = input.product ?? defaultProduct;
  const lines = [
    `Your ${product} account uses ${input.newAddress} instead of this address since ${formatUtc(input.at)}.`,
    'Sign-in links and notices go there from now on.',
    'If you did not do this, contact your administrator at once.',
  ];
  return lineNotice(input.to, `The e-mail address of your ${product} account was changed`, lines);
}

/**
 * A notice about something done on the account: `what` happened, then the time, device and
 * address it was done from, then "if this was you, nothing to do" and `advice` for when it was
 * not. The device (a user agent, attacker-controlled) is shortened and, like everything else,
 * escaped in the HTML part.
 */
function deviceNotice(input: { to: string; device: string | null; ip: string | null; at: Date }, text: { subject: string; what: string; advice: string }): MailMessage {
  const device = input.device === null || input.device === '' ? 'unknown device' : shorten(input.device);
  const ip = input.ip ?? 'unknown';
  const when = formatUtc(input.at);
  return {
    to: input.to,
    subject: text.subject,
    text: ['Hello,', '', text.what, '', `Time:    ${when}`, `Device:  ${device}`, `Address: ${ip}`, '', 'If this was you, there is nothing to do.', text.advice, ''].join('\n'),
    html: page([
      '<p>Hello,</p>',
      `<p>${escapeHtml(text.what)}</p>`,
      '<table>',
      `<tr><th align="left">Time</th><td>${escapeHtml(when)}</td></tr>`,
      `<tr><th align="left">Device</th><td>${escapeHtml(device)}</td></tr>`,
      `<tr><th align="left">Address</th><td>${escapeHtml(ip)}</td></tr>`,
      '</table>',
      `<p>If this was you, there is nothing to do.<br>\n${escapeHtml(text.advice)}</p>`,
    ]),
  };
}

/** A notice of a few lines, each a paragraph of the HTML part (escaped). */
function lineNotice(to: string, subject: string, lines: string[]): MailMessage {
  return {
    to,
    subject,
    text: ['Hello,', '', ...lines, ''].join('\n'),
    html: page(['<p>Hello,</p>', ...lines.map((line) => `<p>${escapeHtml(line)}</p>`)]),
  };
}

function page(body: string[]): string {
  return ['<!doctype html>', '<html><head><meta charset="utf-8"></head><body>', ...body, '</body></html>', ''].join('\n');
}

function httpUrl(link: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch (cause) {
    throw new TesseraError('ERR_INTERNAL', 'magic link is not an absolute URL', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TesseraError('ERR_INTERNAL', 'magic link must be an http(s) URL');
  return link;
}

function shorten(value: string): string {
  // By code point, so a cut never splits a surrogate pair.
  const chars = Array.from(value);
  return chars.length > maxDeviceLength ? `${chars.slice(0, maxDeviceLength - 1).join('')}…` : value;
}

/** `2025-03-01 14:05 UTC`. */
function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
