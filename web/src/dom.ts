// Small DOM helpers. Text always goes in as text (never as HTML): captions, model cards and server
// messages cannot inject markup.

type Child = Node | string | null | undefined | false;

/** `<tag attr=…>children</tag>`; attributes with value `false` or undefined are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** The element with this id, checked to be of the expected class. */
export function byId<T extends HTMLElement>(id: string, type: abstract new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return e;
}

/** Shows `text` in a message box (hidden when empty). */
export function say(box: HTMLElement, text: string): void {
  box.textContent = text;
  box.hidden = text === '';
}
