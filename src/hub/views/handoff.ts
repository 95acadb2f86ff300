/**
 * The form_post leg of a bounce (DESIGN.md "The flows", 3): the token goes back to the site in
 * the body of an auto-submitted POST, so it never enters a URL, a log line or a Referer. The
 * nonce'd script submits at once; the visible button does it without JavaScript.
 */
import { html, type SafeHtml } from './html';

export interface HandoffFormModel {
  /** The site's `<receiverPath>accept`. */
  action: string;
  token: string;
  state: string;
  returnTo: string;
  siteName: string;
}

export function handoffFormView(m: HandoffFormModel): SafeHtml {
  return html`<form id="handoff" class="card" method="post" action="${m.action}">
<p>Taking you back to ${m.siteName}.</p>
<input type="hidden" name="token" value="${m.token}">
<input type="hidden" name="state" value="${m.state}">
<input type="hidden" name="return_to" value="${m.returnTo}">
<button type="submit">Continue</button>
</form>`;
}

export function autoSubmitScript(nonce: string): SafeHtml {
  return html`<script nonce="${nonce}">document.getElementById('handoff').submit();</script>`;
}
