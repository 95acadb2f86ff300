import { csrfField, notice } from './layout';
import { html, type SafeHtml } from './html';

export interface PasswordViewModel {
  csrf: string;
  /** Whether the user has a password now: then the form asks for it. */
  hasPassword: boolean;
  minLength: number;
  maxBytes: number;
  error?: string | null;
}

/** The form of `GET /account/password`: change the password, or set one for a link-only account. */
export function passwordView(m: PasswordViewModel): SafeHtml {
  const title = m.hasPassword ? 'Change your password' : 'Set a password';
  return html`${notice('error', m.error)}
<form class="card" method="post" action="/account/password" aria-labelledby="password-title">
<h2 id="password-title">${title}</h2>
${csrfField(m.csrf)}
${m.hasPassword
    ? html`<label for="current-password">Current password</label>
<input id="current-password" name="current_password" type="password" autocomplete="current-password" required maxlength="${m.maxBytes}">`
    : html`<p class="muted">You sign in with e-mail links. With a password you can also sign in with the password form.</p>`}
<label for="new-password">New password (at least ${m.minLength} characters)</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="${m.minLength}" maxlength="${m.maxBytes}">
<label for="confirm-password">New password again</label>
<input id="confirm-password" name="confirm_password" type="password" autocomplete="new-password" required minlength="${m.minLength}" maxlength="${m.maxBytes}">
<p class="muted">Every other device signed in to your account is signed out when the password changes.</p>
<button type="submit">${title}</button>
</form>
<p><a href="/account">Back to your account</a></p>`;
}

/** For a link-only account whose sign-in is not recent: `what` (set a password, …) needs a fresh one. */
export function passwordReauthView(m: { signInHref: string; what: string }): SafeHtml {
  return html`<p class="notice info" role="status">To ${m.what}, sign in again first: it is allowed for a few minutes after signing in.</p>
<p><a href="${m.signInHref}">Sign in again</a></p>
<p><a href="/account">Back to your account</a></p>`;
}
