// A history-API router: the server answers every app path with the same
// page, and this maps the path to a screen.

const listeners = new Set();

/** The current path split into segments: "/chat/g_1" -> ["chat", "g_1"]. */
export function current() {
  return location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
}

/** Goes to path, adding a history entry (or replacing it). */
export function navigate(path, { replace = false } = {}) {
  if (location.pathname === path) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const fn of listeners) fn(current());
}

/** Calls fn with the segments whenever the route changes. */
export function onRoute(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

window.addEventListener("popstate", () => { for (const fn of listeners) fn(current()); });
