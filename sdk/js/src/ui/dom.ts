// A tiny DOM builder: text always goes through textContent (never innerHTML), so message text
// and names cannot inject markup.

type Attrs = Record<string, string | boolean | undefined | ((e: any) => void)>;

export function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A host element with an open shadow root holding the styles. */
export function host(tag: string, css: string): { el: HTMLElement; root: ShadowRoot } {
  if (!customElements.get(tag)) customElements.define(tag, class extends HTMLElement {});
  const el = document.createElement(tag);
  const root = el.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = css;
  root.append(style);
  return { el, root };
}
