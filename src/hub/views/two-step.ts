/** The pages of two-step sign-in: the code at sign-in, and turning it on and off on the account page. */
import { csrfField, notice } from './layout';
import { html, SafeHtml } from './html';

/** `/login/code`: the second step of a sign-in. */
export function codeView(m: { csrf: string; error?: string | null }): SafeHtml {
  return html`${notice('error', m.error)}
<form class="card" method="post" action="/login/code" aria-labelledby="code-title">
<h2 id="code-title">Enter the code from your authenticator app</h2>
${csrfField(m.csrf)}
<label for="code">Six-digit code, or one of your recovery codes</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" autofocus>
<button type="submit">Continue</button>
</form>
<p><a href="/login">Start again</a></p>`;
}

/** The recovery codes, shown once: after turning two-step sign-in on, and after a new set. */
export function recoveryCodesView(m: { codes: string[]; next: string }): SafeHtml {
  return html`<section class="card" aria-labelledby="codes-title">
<h2 id="codes-title">Your recovery codes</h2>
<p>Each one signs you in once instead of a code from the app, if you lose your phone. Keep them somewhere safe: they are shown only now.</p>
<ul class="codes">${m.codes.map((code) => html`<li><code>${code}</code></li>`)}</ul>
</section>
<p><a href="${m.next}">I have kept them</a></p>`;
}

/**
 * `/account/two-step` while it is off: the secret as a QR code and as text, and the form that
 * turns it on with a first code (and the current password, when the account has one).
 * `qrSvg` is inserted as markup: it is what `qrSvg()` (src/users/two-step.ts) drew from the
 * hub's own URI, never anything a request supplied.
 */
export function enrolView(m: { csrf: string; secret: string; qrSvg: string; hasPassword: boolean; error?: string | null }): SafeHtml {
  return html`${notice('error', m.error)}
<section class="card" aria-labelledby="enrol-title">
<h2 id="enrol-title">Turn on two-step sign-in</h2>
<p>After your password or e-mail link, you will also enter a code from an authenticator app on your phone.</p>
<ol>
<li>Scan this code with the app (or type the key below into it).</li>
<li>Enter the six-digit code the app shows.</li>
</ol>
<figure class="qr" aria-label="QR code of the key">${new SafeHtml(m.qrSvg)}</figure>
<p>Key: <code>${m.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
<form method="post" action="/account/two-step/enable">
${csrfField(m.csrf)}<input type="hidden" name="secret" value="${m.secret}">
<label for="enrol-code">Code from the app</label>
<input id="enrol-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="16">
${m.hasPassword
    ? html`<label for="enrol-password">Current password</label>
<input id="enrol-password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024">`
    : ''}
<button type="submit">Turn on</button>
</form>
</section>
<p><a href="/account">Back to your account</a></p>`;
}

/** `/account/two-step` while it is on: turn it off, or a new set of recovery codes; each needs a code. */
export function manageView(m: { csrf: string; since: string; recoveryCodesLeft: number; error?: string | null; info?: string | null }): SafeHtml {
  const codeField = (id: string) => html`<label for="${id}">Code from the app, or a recovery code</label>
<input id="${id}" name="code" type="text" autocomplete="one-time-code" required maxlength="32">`;
  return html`${notice('error', m.error)}${notice('info', m.info)}
<section class="card" aria-labelledby="manage-title">
<h2 id="manage-title">Two-step sign-in is on</h2>
<p>Since ${m.since}. Recovery codes left: ${m.recoveryCodesLeft}.</p>
<form method="post" action="/account/two-step/recovery-codes">${csrfField(m.csrf)}${codeField('codes-code')}
<button type="submit" class="secondary">New recovery codes</button></form>
<form method="post" action="/account/two-step/disable">${csrfField(m.csrf)}${codeField('off-code')}
<button type="submit" class="danger">Turn off two-step sign-in</button></form>
</section>
<p><a href="/account">Back to your account</a></p>`;
}
