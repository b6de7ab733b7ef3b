// DOM building without innerHTML: every piece of user content goes in as a
// text node, so a message or a name can never become markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h builds an element. props: class, text, title, attrs (attributes),
 * dataset, on<Event> handlers, and DOM properties (value, checked, type,
 * disabled, ...). Children are nodes, strings (as text), arrays or null.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false && k !== "value" && k !== "checked") continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "attrs") for (const [a, av] of Object.entries(v)) { if (av !== undefined && av !== null && av !== false) el.setAttribute(a, av === true ? "" : String(av)); }
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
      else el[k] = v;
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Removes every child of el and appends the given ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Icon paths (24x24, stroke) for the few icons the client uses.
const ICONS = {
  chat: "M4 5h16v11H9l-5 4z",
  contacts: "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21c0-4 3-6 7-6s7 2 7 6M17 11a3 3 0 1 0 0-6M22 21c0-3-2-5-5-5",
  admin: "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM9 12l2 2 4-4",
  send: "M3 11l18-8-8 18-2-8z",
  attach: "M21 11l-8.5 8.5a5 5 0 0 1-7-7L14 4a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7",
  image: "M3 5h18v14H3zM3 16l5-5 4 4 3-3 6 6M15 9.5a1.5 1.5 0 1 0 0-.01",
  emoji: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01",
  back: "M15 5l-7 7 7 7",
  close: "M6 6l12 12M18 6L6 18",
  plus: "M12 5v14M5 12h14",
  more: "M5 12h.01M12 12h.01M19 12h.01",
  search: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM21 21l-5-5",
  file: "M6 3h8l5 5v13H6zM14 3v5h5",
  logout: "M15 4h4v16h-4M10 8l-4 4 4 4M6 12h11",
  globe: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18",
  reply: "M9 7L4 12l5 5M4 12h11a5 5 0 0 1 5 5v2",
  recall: "M4 10h11a5 5 0 0 1 0 10H8M4 10l4-4M4 10l4 4",
  bell: "M6 17V11a6 6 0 0 1 12 0v6l2 2H4zM10 21h4",
  lock: "M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4",
  group: "M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM16 11a3 3 0 1 0 0-6M2 20c0-3 2.5-5 6-5s6 2 6 5M16 15c3 0 6 2 6 5",
  chevron: "M9 6l6 6-6 6",
  video: "M3 7h12v10H3zM15 10l6-3v10l-6-3",
  videoOff: "M3 7h12v10H3zM15 10l6-3v10l-6-3M2 3l19 18",
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
  micOff: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3M3 3l18 18",
  screen: "M3 4h18v12H3zM8 20h8M12 16v4",
  leave: "M3 15c5-5 13-5 18 0l-2 3-4-2v-3c-2-.7-4-.7-6 0v3l-4 2z",
  live: "M12 12.5h.01M8.5 9a5 5 0 0 0 0 7M15.5 9a5 5 0 0 1 0 7M5.6 6a9 9 0 0 0 0 13M18.4 6a9 9 0 0 1 0 13",
  heart: "M12 20s-7-4.5-7-10a4 4 0 0 1 7-2.6A4 4 0 0 1 19 10c0 5.5-7 10-7 10z",
  copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  calendar: "M4 6h16v14H4zM4 10h16M8 3v4M16 3v4",
  stats: "M4 20V10M10 20V4M16 20v-7M22 20H2",
  question: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.7M12 17h.01",
  gift: "M4 11h16v10H4zM2 7h20v4H2zM12 7v14M12 7c-2-4-6-3-5 0M12 7c2-4 6-3 5 0",
  poll: "M4 6h10M4 12h16M4 18h7",
  link: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
  play: "M7 4l13 8-13 8z",
  stop: "M6 6h12v12H6z",
  unlock: "M6 11h12v10H6zM8 11V7a4 4 0 0 1 7.5-2",
  record: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
};

/** An SVG icon by name. */
export function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name] || "");
  svg.append(path);
  return svg;
}
