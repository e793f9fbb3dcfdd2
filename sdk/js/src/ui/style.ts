// The chat UI's styles, inside its shadow root (the host page's CSS cannot reach in). Theming is
// through CSS custom properties, which do cross the shadow boundary: set them on the element.

export const CSS = `
:host {
  --huddle-font: system-ui, -apple-system, "Segoe UI", sans-serif;
  --huddle-bg: #ffffff;
  --huddle-fg: #1f2328;
  --huddle-muted: #59636e;
  --huddle-border: #d1d9e0;
  --huddle-accent: #0b57d0;
  --huddle-accent-fg: #ffffff;
  --huddle-own-bg: #dbe7ff;
  --huddle-other-bg: #f1f3f5;
  --huddle-radius: 10px;
  display: block; height: 100%; min-height: 320px;
  font: 14px/1.4 var(--huddle-font); color: var(--huddle-fg);
}
* { box-sizing: border-box; }
.box { display: flex; flex-direction: column; height: 100%; background: var(--huddle-bg);
  border: 1px solid var(--huddle-border); border-radius: var(--huddle-radius); overflow: hidden; }
header { padding: 10px 14px; border-bottom: 1px solid var(--huddle-border); }
header h2 { margin: 0; font-size: 15px; display: flex; gap: 8px; align-items: center; }
header p { margin: 2px 0 0; color: var(--huddle-muted); font-size: 12px; }
.badge { font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 99px;
  background: var(--huddle-accent); color: var(--huddle-accent-fg); }
.log { flex: 1; overflow-y: auto; padding: 10px 14px; display: flex; flex-direction: column; gap: 6px; }
.log:focus-visible, button:focus-visible, textarea:focus-visible, li:focus-visible {
  outline: 2px solid var(--huddle-accent); outline-offset: 1px; }
.more { align-self: center; }
.msg { align-self: flex-start; max-width: 80%; padding: 6px 10px; border-radius: var(--huddle-radius); background: var(--huddle-other-bg);
  white-space: pre-wrap; word-wrap: break-word; }
.msg.own { align-self: flex-end; background: var(--huddle-own-bg); }
.msg.system { align-self: center; background: none; color: var(--huddle-muted); font-size: 12px; font-style: italic; }
.msg .who { display: block; font-size: 11px; color: var(--huddle-muted); }
.typing { min-height: 18px; padding: 0 14px; color: var(--huddle-muted); font-size: 12px; }
form { display: flex; gap: 8px; padding: 10px 14px; border-top: 1px solid var(--huddle-border); }
textarea { flex: 1; resize: none; font: inherit; padding: 6px 8px; border: 1px solid var(--huddle-border);
  border-radius: 6px; color: inherit; background: var(--huddle-bg); }
button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--huddle-accent);
  background: var(--huddle-accent); color: var(--huddle-accent-fg); cursor: pointer; }
button.secondary { background: transparent; color: var(--huddle-accent); }
button:disabled { opacity: .5; cursor: default; }
.notice { padding: 10px 14px; border-top: 1px solid var(--huddle-border); color: var(--huddle-muted); }
.empty { margin: auto; padding: 24px; text-align: center; color: var(--huddle-muted); }
ul { list-style: none; margin: 0; padding: 0; overflow-y: auto; }
li { padding: 10px 14px; border-bottom: 1px solid var(--huddle-border); cursor: pointer; }
li[aria-selected="true"] { background: var(--huddle-own-bg); }
li .last { display: block; color: var(--huddle-muted); font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
li.unread .title { font-weight: 700; }
`;
