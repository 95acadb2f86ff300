/** The pages of changing one's e-mail address. */
import { maxEmailInputLength } from '../../core/users/email-address';
import { csrfField, minutesText, notice } from './layout';
import { html, type SafeHtml } from './html';

/** `/account/email`: the new address, and the current password when the account has one. */
export function emailChangeView(m: { csrf: string; current: string; hasPassword: boolean; error?: string | null }): SafeHtml {
  return html`${notice('error', m.error)}
<form class="card" method="post" action="/account/email" aria-labelledby="email-title">
<h2 id="email-title">Change your e-mail address</h2>
<p>Now: <strong>${m.current}</strong>. We send a link to the new address; the change happens when you open it.</p>
${csrfField(m.csrf)}
<label for="new-email">New e-mail address</label>
<input id="new-email" name="new_email" type="email" autocomplete="email" required maxlength="${maxEmailInputLength}">
${m.hasPassword
    ? html`<label for="email-password">Current password</label>
<input id="email-password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024">`
    : ''}
<button type="submit">Send the link</button>
</form>
<p><a href="/account">Back to your account</a></p>`;
}

/** After the request: the same answer whatever became of it (a taken address is not revealed). */
export function emailLinkSentView(m: { to: string; expiresMinutes: number }): SafeHtml {
  return html`<p class="notice info" role="status">If ${m.to} can be used, we have sent it a link. Open it while signed in here; it expires in ${minutesText(m.expiresMinutes)}.</p>
<p><a href="/account">Back to your account</a></p>`;
}

/** The link's landing page: a GET changes nothing; the button does. */
export function emailConfirmView(m: { csrf: string; token: string; from: string; to: string }): SafeHtml {
  return html`<form class="card" method="post" action="/account/email/confirm">
<p>Change the e-mail address of your account from <strong>${m.from}</strong> to <strong>${m.to}</strong>?</p>
${csrfField(m.csrf)}<input type="hidden" name="token" value="${m.token}">
<button type="submit">Change it</button>
</form>`;
}

export function emailLinkInvalidView(): SafeHtml {
  return html`<p class="notice error" role="alert">This link is not valid: it expired, was used already, was replaced by a newer one, or belongs to another account. Ask for a new one from your account page.</p>
<p><a href="/account/email">Change your e-mail address</a></p>`;
}
