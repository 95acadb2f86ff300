/** The hub's only stylesheet, served from /assets/tessera.css (no external assets). */
export const stylesheet = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --accent: #2453d6; --muted: #5d6570; --danger: #b3261e; --ok: #1e7d32; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --bg: #15181c; --card: #1f2329; --accent: #8ab4ff; --muted: #a3abb5; --danger: #ff8a80; --ok: #81c995; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.top { display: flex; justify-content: space-between; align-items: center; padding: .75rem 1.5rem; background: var(--card); border-bottom: 1px solid rgba(127,127,127,.25); }
.brand { font-weight: 700; color: var(--fg); text-decoration: none; }
.who { color: var(--muted); font-size: .9rem; }
main { max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .75rem; }
form.card, section.card { background: var(--card); padding: 1.25rem 1.5rem; border-radius: .5rem; border: 1px solid rgba(127,127,127,.2); margin-bottom: 1.25rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=email], input[type=password], input[type=text], input[type=date], select { width: 100%; padding: .55rem .65rem; font: inherit; border: 1px solid rgba(127,127,127,.5); border-radius: .35rem; background: var(--bg); color: var(--fg); }
.check { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
button { font: inherit; padding: .5rem 1rem; border-radius: .35rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-top: 1rem; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.notice { padding: .65rem .9rem; border-radius: .35rem; margin: 0 0 1rem; }
.notice.error { background: rgba(179,38,30,.12); color: var(--danger); }
.notice.info { background: rgba(36,83,214,.1); }
table { width: 100%; border-collapse: collapse; background: var(--card); }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid rgba(127,127,127,.2); vertical-align: top; font-size: .92rem; }
td form { margin: 0; } td button { margin: 0; padding: .3rem .7rem; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .8rem; background: rgba(30,125,50,.15); color: var(--ok); }
.qr { margin: 1rem 0; }
.qr svg { width: 12rem; height: 12rem; background: #fff; }
ul.codes { columns: 2; list-style: none; padding: 0; font-size: 1.1rem; }
`;
