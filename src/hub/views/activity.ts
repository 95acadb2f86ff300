import type { AuditEvent } from '../../ports';
import { html, type SafeHtml } from './html';
import { utcTime } from './layout';

const methodNames: Record<string, string> = { password: 'password', 'magic-link': 'e-mail link' };

const accountChanges: Record<string, string> = {
  'password-set': 'Password set',
  'password-changed': 'Password changed',
  'password-cleared': 'Password removed',
  name: 'Name changed',
  email: 'E-mail address changed',
  'two-step-on': 'Two-step sign-in turned on',
  'two-step-off': 'Two-step sign-in turned off',
  'two-step-reset': 'Two-step sign-in turned off by an administrator',
  'recovery-codes': 'New recovery codes',
};

const revokeReasons: Record<string, string> = {
  'user-logout': 'you signed out',
  'user-ended-other': 'you ended it from your account page',
  'user-ended-others': 'you signed out everywhere else',
  'site-logout': 'you signed out on a site',
  admin: 'an administrator ended it',
  'user-disabled': 'your account was disabled',
  'password-changed': 'your password changed',
  'session-limit': 'too many sessions',
  'session-replaced': 'someone signed in again on that browser',
  'two-step-changed': 'two-step sign-in was turned on',
};

/** What one event means to the person whose account it is. */
function describe(event: AuditEvent): string {
  const method = methodNames[String(event.details.method)] ?? 'unknown method';
  switch (event.type) {
    case 'login.success':
      return `Signed in (${method}${event.details.secondFactor === 'recovery-code' ? ' and a recovery code' : event.details.secondFactor === 'totp' ? ' and a code' : ''})`;
    case 'login.failure':
      return event.reason === 'bad-code' ? `Wrong code after the ${method}` : `Failed sign-in attempt (${method})`;
    case 'user.updated':
      return accountChanges[String(event.details.change)] ?? 'Account changed';
    case 'session.revoked':
      return `A session ended: ${revokeReasons[event.reason ?? ''] ?? 'ended'}`;
    default:
      return event.type;
  }
}

/** `/account/activity`: the account's recent security events, newest first. */
export function activityView(m: { events: AuditEvent[] }): SafeHtml {
  return html`<h2 id="activity-title">Recent activity</h2>
<p class="muted">Sign-ins, failed attempts, password changes and ended sessions of your account, newest first. If you do not recognise one, change your password and sign out everywhere else.</p>
${m.events.length === 0
    ? html`<p class="muted">Nothing yet.</p>`
    : html`<table aria-labelledby="activity-title">
<thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Address</th></tr></thead>
<tbody>
${m.events.map((e) => html`<tr><td>${utcTime(e.at)}</td><td>${describe(e)}</td><td>${e.ip ?? '-'}</td></tr>`)}
</tbody>
</table>`}
<p><a href="/account">Back to your account</a></p>`;
}
