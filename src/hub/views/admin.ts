/**
 * The admin web UI's pages: plain server-rendered HTML, every action a form (usable without
 * JavaScript), every form with its CSRF field.
 */
import type { KeyInfo } from '../../core/keys/keyring';
import { describeDevice } from '../../core/sessions/device';
import { maxEmailInputLength } from '../../core/users/email-address';
import { AUDIT_EVENT_TYPES, type AuditEvent, type Delivery, type OutboxStats, type SessionRecord, type UserRecord } from '../../ports';
import { html, type SafeHtml } from './html';
import { csrfField, notice, utcTime } from './layout';

function when(seconds: number | null): string {
  return seconds === null ? '-' : utcTime(seconds);
}

/** Links between the admin pages. */
function nav(): SafeHtml {
  const pages: Array<[string, string]> = [
    ['/admin', 'Sessions'],
    ['/admin/users', 'Users'],
    ['/admin/keys', 'Keys'],
    ['/admin/outbox', 'Outbox'],
    ['/admin/audit', 'Audit log'],
  ];
  return html`<nav aria-label="Administration"><p>${pages.map(([href, label], i) => html`${i > 0 ? ' · ' : ''}<a href="${href}">${label}</a>`)}</p></nav>`;
}

function textInput(name: string, label: string, value: string | undefined, type = 'text'): SafeHtml {
  return html`<label for="f-${name}">${label}</label><input type="${type}" id="f-${name}" name="${name}" value="${value ?? ''}">`;
}

function nextLink(url: string | null): SafeHtml {
  return url === null ? html`` : html`<p><a href="${url}" rel="next">Next page</a></p>`;
}

/** A one-button form posting to `action`. */
function actionForm(action: string, csrf: string, label: string, kind: 'danger' | 'secondary', aria: string): SafeHtml {
  return html`<form method="post" action="${action}">${csrfField(csrf)}<button type="submit" class="${kind}" aria-label="${aria}">${label}</button></form>`;
}

/** The sessions page's filter inputs as entered (dates as `YYYY-MM-DD`). */
export interface SessionFilters {
  email?: string;
  ip?: string;
  site?: string;
  createdFrom?: string;
  createdTo?: string;
  lastSeenFrom?: string;
  lastSeenTo?: string;
}

/** `/admin`: the filter form and one page of sessions, each with a revoke button. */
export function adminSessionsView(m: { sessions: SessionRecord[]; emails: Map<string, string>; filters: SessionFilters; next: string | null; csrf: string; info: string | null }): SafeHtml {
  const f = m.filters;
  return html`${nav()}${notice('info', m.info)}
<form method="get" action="/admin" class="card" aria-label="Filter sessions">
${textInput('email', 'User e-mail', f.email, 'email')}${textInput('ip', 'Address', f.ip)}${textInput('site', 'Site origin', f.site)}
${textInput('createdFrom', 'Created from (date)', f.createdFrom, 'date')}${textInput('createdTo', 'Created until (date)', f.createdTo, 'date')}
${textInput('lastSeenFrom', 'Last seen from (date)', f.lastSeenFrom, 'date')}${textInput('lastSeenTo', 'Last seen until (date)', f.lastSeenTo, 'date')}
<button type="submit">Filter</button>
</form>
<table aria-label="Sessions">
<thead><tr><th scope="col">User</th><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Created</th><th scope="col">Last seen</th><th scope="col">Sites</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${m.sessions.map((s) => {
  const who = s.userId === null ? 'anonymous' : (m.emails.get(s.userId) ?? s.userId);
  return html`<tr data-sid="${s.sid}">
<td><a href="/admin/sessions/${s.sid}">${who}</a></td>
<td>${describeDevice(s.userAgent)}</td>
<td>${s.ip ?? 'unknown'}</td>
<td>${when(s.createdAt)}</td>
<td>${when(s.lastSeenAt)}</td>
<td>${s.sites.length}</td>
<td>${actionForm(`/admin/sessions/${s.sid}/revoke`, m.csrf, 'Revoke', 'danger', `Revoke session of ${who} from ${when(s.createdAt)}`)}</td>
</tr>`;
})}
</tbody>
</table>
${m.sessions.length === 0 ? html`<p class="muted">No sessions match.</p>` : ''}
${nextLink(m.next)}`;
}

/** `/admin/sessions/:sid`: the session, the sites it reached and its audit history. */
export function adminSessionView(m: { session: SessionRecord; user: UserRecord | null; events: AuditEvent[]; csrf: string }): SafeHtml {
  const s = m.session;
  return html`${nav()}
<section class="card" aria-labelledby="session-title">
<h2 id="session-title">Session ${s.sid}</h2>
<dl>
<dt>User</dt><dd>${m.user === null ? 'anonymous' : html`${m.user.email} <span class="muted">(${m.user.id})</span>`}</dd>
<dt>Device</dt><dd>${describeDevice(s.userAgent)} <span class="muted">${s.userAgent ?? ''}</span></dd>
<dt>Address</dt><dd>${s.ip ?? 'unknown'}</dd>
<dt>Created</dt><dd>${when(s.createdAt)}</dd>
<dt>Last seen</dt><dd>${when(s.lastSeenAt)}</dd>
<dt>Idle expiry</dt><dd>${when(s.idleExpiresAt)}</dd>
<dt>Absolute expiry</dt><dd>${when(s.absoluteExpiresAt)}</dd>
<dt>Kept signed in</dt><dd>${s.persistent ? 'yes' : 'no'}</dd>
</dl>
${actionForm(`/admin/sessions/${s.sid}/revoke`, m.csrf, 'Revoke this session', 'danger', 'Revoke this session')}
${m.user === null ? '' : actionForm(`/admin/users/${m.user.id}/sessions/revoke`, m.csrf, `Revoke every session of ${m.user.email}`, 'danger', `Revoke every session of ${m.user.email}`)}
</section>
<h2 id="sites-title">Sites reached</h2>
<table aria-labelledby="sites-title">
<thead><tr><th scope="col">Site</th><th scope="col">Since</th><th scope="col">Started from</th></tr></thead>
<tbody>${s.sites.map((l) => html`<tr><td>${l.site}</td><td>${when(l.linkedAt)}</td><td>${l.src}</td></tr>`)}</tbody>
</table>
<h2 id="history-title">History</h2>
${auditTable(m.events, 'history-title')}`;
}

function auditTable(events: AuditEvent[], labelledBy: string): SafeHtml {
  return html`<table aria-labelledby="${labelledBy}">
<thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Actor</th><th scope="col">User</th><th scope="col">Site</th><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">Details</th></tr></thead>
<tbody>
${events.map(
  (e) => html`<tr data-event="${e.id}"><td>${when(e.at)}</td><td>${e.type}</td><td>${e.actor ?? '-'}</td><td>${e.userId ?? '-'}</td><td>${e.site ?? '-'}</td><td>${e.ip ?? '-'}</td><td>${e.reason ?? '-'}</td><td>${Object.keys(e.details).length === 0 ? '' : JSON.stringify(e.details)}</td></tr>`,
)}
</tbody>
</table>
${events.length === 0 ? html`<p class="muted">No events.</p>` : ''}`;
}

/** `/admin/users`: one page of users with disable / enable, "end sessions" and delete; the form to add one. */
export function adminUsersView(m: { users: UserRecord[]; email: string | undefined; next: string | null; csrf: string; info: string | null; selfId: string }): SafeHtml {
  return html`${nav()}${notice('info', m.info)}
<form method="get" action="/admin/users" class="card" aria-label="Filter users">${textInput('email', 'E-mail contains', m.email)}<button type="submit">Filter</button></form>
<form method="post" action="/admin/users" class="card" aria-labelledby="add-user">
<h2 id="add-user">Add a user</h2>
${csrfField(m.csrf)}
<label for="new-email">E-mail address</label><input type="email" id="new-email" name="email" required maxlength="${maxEmailInputLength}" autocomplete="off">
<label for="new-name">Name (optional)</label><input type="text" id="new-name" name="name" maxlength="200" autocomplete="off">
<label class="check"><input type="checkbox" name="admin" value="1"> Administrator</label>
<label class="check"><input type="checkbox" name="invite" value="1" checked> E-mail them where to sign in</label>
<p class="muted">The account signs in with e-mail links; its owner can set a password from their account page.</p>
<button type="submit">Add user</button>
</form>
<table aria-label="Users">
<thead><tr><th scope="col">E-mail</th><th scope="col">Name</th><th scope="col">Roles</th><th scope="col">Status</th><th scope="col">Last login</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${m.users.map(
  (u) => html`<tr data-user="${u.id}">
<td><a href="/admin?email=${encodeURIComponent(u.email)}">${u.email}</a></td><td>${u.name ?? ''}</td><td>${u.roles.join(', ')}</td><td>${u.disabled ? 'disabled' : 'active'}${u.totpEnabledAt === null ? '' : ', two-step'}</td><td>${when(u.lastLoginAt)}</td>
<td>${u.disabled
    ? actionForm(`/admin/users/${u.id}/enable`, m.csrf, 'Enable', 'secondary', `Enable ${u.email}`)
    : u.id === m.selfId
      ? ''
      : actionForm(`/admin/users/${u.id}/disable`, m.csrf, 'Disable', 'danger', `Disable ${u.email} and end their sessions`)}
${actionForm(`/admin/users/${u.id}/sessions/revoke`, m.csrf, 'End sessions', 'secondary', `End every session of ${u.email}`)}
${u.totpEnabledAt === null ? '' : actionForm(`/admin/users/${u.id}/two-step/reset`, m.csrf, 'Turn off two-step', 'secondary', `Turn off two-step sign-in of ${u.email}`)}
${u.id === m.selfId ? '' : actionForm(`/admin/users/${u.id}/delete`, m.csrf, 'Delete', 'danger', `Delete ${u.email} and end their sessions`)}</td>
</tr>`,
)}
</tbody>
</table>
${nextLink(m.next)}`;
}

/** `/admin/keys`: every key with its state, and the rotate button. */
export function adminKeysView(m: { keys: KeyInfo[]; csrf: string; info: string | null }): SafeHtml {
  return html`${nav()}${notice('info', m.info)}
<table aria-label="Signing keys">
<thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">State</th><th scope="col">Created</th><th scope="col">Signs from</th><th scope="col">Retired</th><th scope="col">Published until</th></tr></thead>
<tbody>${m.keys.map((k) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${k.state}</td><td>${when(k.createdAt)}</td><td>${when(k.activatesAt)}</td><td>${when(k.retiredAt)}</td><td>${when(k.publishedUntil)}</td></tr>`)}</tbody>
</table>
<form method="post" action="/admin/keys/rotate">${csrfField(m.csrf)}<button type="submit">Rotate: publish a new key</button></form>
<p class="muted">The new key is published as next and signs once JWKS caches have refreshed; the current key is retired then.</p>`;
}

/** `/admin/outbox`: queue totals and one page of deliveries of a status; failed and dropped ones can be retried. */
export function adminOutboxView(m: { deliveries: Delivery[]; stats: OutboxStats; status: string; next: string | null; csrf: string; info: string | null }): SafeHtml {
  return html`${nav()}${notice('info', m.info)}
<p>Pending: <strong>${m.stats.pending}</strong> · Failed: <strong>${m.stats.failed}</strong> · Oldest pending: ${when(m.stats.oldestPendingAt)}</p>
<form method="get" action="/admin/outbox" class="card" aria-label="Filter deliveries">
<label for="f-status">Status</label>
<select id="f-status" name="status">${['pending', 'failed', 'delivered', 'dropped'].map((s) => html`<option value="${s}"${s === m.status ? html` selected` : ''}>${s}</option>`)}</select>
<button type="submit">Show</button>
</form>
<table aria-label="Back-channel logout deliveries">
<thead><tr><th scope="col">Id</th><th scope="col">Site</th><th scope="col">Session</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Next attempt</th><th scope="col">Last error</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
<tbody>
${m.deliveries.map(
  (d) => html`<tr data-delivery="${d.id}"><td>${d.id}</td><td>${d.site}</td><td>${d.sid}</td><td>${d.reason}</td><td>${d.attempts}</td><td>${d.status === 'pending' ? when(d.nextAttemptAt) : '-'}</td><td>${d.lastError ?? '-'}</td>
<td>${d.status === 'failed' || d.status === 'dropped' ? actionForm(`/admin/outbox/${d.id}/retry`, m.csrf, 'Retry', 'secondary', `Retry delivery ${d.id}`) : ''}</td></tr>`,
)}
</tbody>
</table>
${m.deliveries.length === 0 ? html`<p class="muted">None.</p>` : ''}
${nextLink(m.next)}`;
}

/** The audit page's filter inputs as entered (dates as `YYYY-MM-DD`). */
export interface AuditFilters {
  type?: string;
  email?: string;
  sid?: string;
  site?: string;
  actor?: string;
  from?: string;
  to?: string;
}

/** `/admin/audit`: the filter form and one page of audit events. */
export function adminAuditView(m: { events: AuditEvent[]; filters: AuditFilters; next: string | null }): SafeHtml {
  const f = m.filters;
  return html`${nav()}
<form method="get" action="/admin/audit" class="card" aria-label="Filter the audit log">
<label for="f-type">Event</label>
<select id="f-type" name="type"><option value="">any</option>${AUDIT_EVENT_TYPES.map((t) => html`<option value="${t}"${t === f.type ? html` selected` : ''}>${t}</option>`)}</select>
${textInput('email', 'User e-mail', f.email, 'email')}${textInput('sid', 'Session id', f.sid)}${textInput('site', 'Site origin', f.site)}${textInput('actor', 'Actor', f.actor)}
${textInput('from', 'From (date)', f.from, 'date')}${textInput('to', 'Until (date)', f.to, 'date')}
<button type="submit">Filter</button>
</form>
<h2 id="events-title">Events</h2>
${auditTable(m.events, 'events-title')}
${nextLink(m.next)}`;
}

/** The password form that confirms a destructive action, re-posting its fields to the same action. */
export function reauthView(m: { action: string; fields: Record<string, string>; csrf: string; error: string | null; hasPassword: boolean; twoStep: boolean }): SafeHtml {
  if (!m.hasPassword) {
    return html`<p>This action needs a recent sign-in. Your account has no password: sign out and sign in again, then repeat the action.</p>`;
  }
  return html`${notice('error', m.error)}
<form method="post" action="${m.action}" class="card">
${csrfField(m.csrf)}${Object.entries(m.fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<p>This action needs a recent sign-in. Enter your password${m.twoStep ? ' and a code from your authenticator app' : ''} to confirm it is you.</p>
<label for="reauth-password">Password</label>
<input type="password" id="reauth-password" name="password" autocomplete="current-password" required>
${m.twoStep
    ? html`<label for="reauth-code">Code from the app, or a recovery code</label>
<input type="text" id="reauth-code" name="reauth_code" autocomplete="one-time-code" required maxlength="32">`
    : ''}
<button type="submit" class="danger">Confirm</button>
</form>`;
}

/** For an admin without two-step sign-in where `admin.requireTwoStep` is set. */
export function twoStepRequiredView(): SafeHtml {
  return html`<p class="notice error" role="alert">The administration pages need two-step sign-in on your account.</p>
<p><a href="/account/two-step">Turn on two-step sign-in</a>, then come back.</p>`;
}
