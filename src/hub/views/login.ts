import { maxEmailInputLength } from '../../core/users/email-address';
import { csrfField, minutesText, notice } from './layout';
import { html, type SafeHtml } from './html';

export interface LoginViewModel {
  csrf: string;
  returnTo: string;
  email?: string;
  error?: string | null;
  info?: string | null;
  allowPassword: boolean;
  allowMagicLink: boolean;
}

export function loginView(m: LoginViewModel): SafeHtml {
  return html`${notice('error', m.error)}${notice('info', m.info)}
${m.allowPassword
    ? html`<form class="card" method="post" action="/login" aria-labelledby="pw-title">
<h2 id="pw-title">Sign in with your password</h2>
${csrfField(m.csrf)}<input type="hidden" name="return_to" value="${m.returnTo}">
<label for="pw-email">E-mail address</label>
<input id="pw-email" name="email" type="email" autocomplete="username" required maxlength="${maxEmailInputLength}" value="${m.email ?? ''}">
<label for="pw-password">Password</label>
<input id="pw-password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<label class="check"><input type="checkbox" name="remember" value="1"> Keep me signed in on this device</label>
<button type="submit">Sign in</button>
</form>`
    : ''}
${m.allowMagicLink
    ? html`<form class="card" method="post" action="/login/email" aria-labelledby="ml-title">
<h2 id="ml-title">Or get a sign-in link by e-mail</h2>
${csrfField(m.csrf)}<input type="hidden" name="return_to" value="${m.returnTo}">
<label for="ml-email">E-mail address</label>
<input id="ml-email" name="email" type="email" autocomplete="email" required maxlength="${maxEmailInputLength}" value="${m.email ?? ''}">
<button type="submit" class="secondary">E-mail me a link</button>
</form>`
    : ''}`;
}

/** `expiresMinutes`: the configured link lifetime in whole minutes, as the e-mail states it. */
export function magicLinkLandingView(m: { csrf: string; token: string; email: string; expiresMinutes: number }): SafeHtml {
  return html`<form class="card" method="post" action="/login/link">
<p>Continue to sign in as <strong>${m.email}</strong> on this device.</p>
<p class="muted">If that is not your address, do not continue: someone may be trying to sign you in to their account.</p>
${csrfField(m.csrf)}<input type="hidden" name="token" value="${m.token}">
<button type="submit">Sign in</button>
</form>
<p class="muted">The link works once and expires ${minutesText(m.expiresMinutes)} after it was sent.</p>`;
}

export function linkSentView(m: { expiresMinutes: number }): SafeHtml {
  return html`<p class="notice info" role="status">If an account exists for that address, we have sent it a sign-in link. It works once and expires in ${minutesText(m.expiresMinutes)}.</p>
<p><a href="/login">Back to sign in</a></p>`;
}

export function logoutView(m: { csrf: string; signedIn: boolean }): SafeHtml {
  if (!m.signedIn) return html`<p>You are signed out.</p><p><a href="/login">Sign in</a></p>`;
  return html`<form class="card" method="post" action="/logout">
<p>Sign out of this device? You will be signed out of every site that shares this session.</p>
${csrfField(m.csrf)}
<button type="submit">Sign out</button>
</form>`;
}

/**
 * Front-channel logout beacons for the signed-out page: one invisible 1×1 image per site that
 * held the ended session, each URL carrying a logout token for that site. Best effort: a
 * browser that blocks third-party cookies still loads them, but the site may not see its
 * cookie; the store and the back-channel logout end the session regardless.
 */
export function logoutBeaconsView(urls: readonly string[]): SafeHtml {
  return html`${urls.map((url) => html`<img class="beacon" src="${url}" alt="" width="1" height="1">`)}`;
}

export function invalidLinkView(): SafeHtml {
  return html`<p class="notice error" role="alert">This sign-in link is not valid: it may have been used already or have expired.</p>
<p><a href="/login">Request a new link</a></p>`;
}
