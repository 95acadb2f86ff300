/**
 * The page that follows a login when some sites do not hold the new session yet (DESIGN.md "The
 * flows", 2): one beacon per site, then on to `return_to`. It continues on the window's `load`
 * event, which fires only once every script and image in the document has loaded or failed, so
 * no beacon can finish before a listener is attached; the timeout bounds a slow site. The
 * "Continue" link works without JavaScript.
 */
import type { Beacon } from '../../core/receiver/loader';
import { renderBeaconTags } from '../../core/receiver/loader';
import { SafeHtml, html, scriptJson } from './html';

export function fanOutView(m: { returnTo: string }): SafeHtml {
  return html`<p role="status">Signing you in to your sites…</p>
<p><a href="${m.returnTo}">Continue</a></p>`;
}

export function fanOutTail(m: { beacons: readonly Beacon[]; nonce: string; returnTo: string; timeoutMs: number }): SafeHtml {
  return html`${new SafeHtml(renderBeaconTags(m.beacons, m.nonce))}
<script nonce="${m.nonce}">(function(){var done=false;function go(){if(!done){done=true;location.replace(${scriptJson(m.returnTo)});}}window.addEventListener('load',go);setTimeout(go,${m.timeoutMs});})();</script>`;
}
