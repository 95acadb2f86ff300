import { describeDevice } from '../../core/sessions/device';
import type { SessionRecord, UserRecord } from '../../ports';
import { csrfField, notice, utcTime } from './layout';
import { html, type SafeHtml } from './html';

/**
 * `password`: the link to the password form — `change` (the user has one), `set` (link-only
 * account), or null when password sign-in is off.
 */
export function accountView(m: { user: UserRecord; sessions: SessionRecord[]; currentSid: string; csrf: string; info?: string | null; password?: 'change' | 'set' | null }): SafeHtml {
  const others = m.sessions.filter((s) => s.sid !== m.currentSid).length;
  return html`${notice('info', m.info)}
<section class="card" aria-labelledby="me">
<h2 id="me">Your account</h2>
<p>${m.user.name ?? ''} &lt;${m.user.email}&gt;</p>
<form method="post" action="/account/name" aria-label="Your name">${csrfField(m.csrf)}<label for="account-name">Name</label><input id="account-name" name="name" type="text" autocomplete="name" maxlength="200" value="${m.user.name ?? ''}"><button type="submit" class="secondary">Save name</button></form>
${m.password ? html`<p><a href="/account/password">${m.password === 'change' ? 'Change your password' : 'Set a password'}</a></p>` : ''}
<p><a href="/account/email">Change your e-mail address</a></p>
<p><a href="/account/two-step">Two-step sign-in</a> <span class="muted">${m.user.totpEnabledAt === null ? '(off)' : '(on)'}</span></p>
<p><a href="/account/activity">Recent activity</a> <span class="muted">(sign-ins, failed attempts, password changes)</span></p>
</section>
<h2 id="sessions-title">Where you are signed in</h2>
<table aria-labelledby="sessions-title">
<thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Signed in</th><th scope="col">Last seen</th><th scope="col">Sites</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${m.sessions.map((s) => {
  const device = describeDevice(s.userAgent);
  const signedIn = utcTime(s.createdAt);
  return html`<tr data-sid="${s.sid}">
<td>${device}${s.sid === m.currentSid ? html` <span class="badge">this device</span>` : ''}</td>
<td>${s.ip ?? 'unknown'}</td>
<td>${signedIn}</td>
<td>${utcTime(s.lastSeenAt)}</td>
<td>${s.sites.length === 0 ? html`<span class="muted">none yet</span>` : s.sites.map((l, i) => html`${i > 0 ? ', ' : ''}${new URL(l.site).host}`)}</td>
<td><form method="post" action="/account/sessions/end">${csrfField(m.csrf)}<input type="hidden" name="sid" value="${s.sid}"><button type="submit" class="secondary" aria-label="Sign out ${device} signed in ${signedIn}">Sign out</button></form></td>
</tr>`;
})}
</tbody>
</table>
${others > 0
    ? html`<form method="post" action="/account/sessions/end-others">${csrfField(m.csrf)}<button type="submit" class="danger">Sign out everywhere else (${others})</button></form>`
    : ''}
<form method="post" action="/logout">${csrfField(m.csrf)}<button type="submit" class="secondary">Sign out of this device</button></form>`;
}
