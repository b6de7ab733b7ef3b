// Shared parts of the media browser tests (meeting.mjs, live.mjs): the
// browser, signing in, screenshots, waiting on conditions, and reading
// WebRTC statistics from the pages.
//
// Environment (set by signaling/web/browser_test.go):
//   PARLEY_URL        the server, e.g. http://127.0.0.1:41234
//   PARLEY_USERS      JSON: {"alice": {"id", "name", "password"}, ...}
//   PARLEY_ARTIFACTS  a directory for screenshots
//   PARLEY_CHROMIUM   the browser binary (default /usr/bin/chromium)

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const URL_ = process.env.PARLEY_URL;
export const USERS = JSON.parse(process.env.PARLEY_USERS || "{}");
const OUT = process.env.PARLEY_ARTIFACTS || "artifacts";
// Steps wait on conditions, never on fixed sleeps; the timeouts are
// generous because the test machine may be a busy 2-core box.
export const STEP_TIMEOUT = 20_000;
mkdirSync(OUT, { recursive: true });

export const step = (s) => console.log(`step (${((Date.now() - started) / 1000).toFixed(1)} s):`, s);
const started = Date.now();

/** launch starts Debian's Chromium with fake camera and microphone. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.PARLEY_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// trackPeers runs in the page before its scripts: it keeps every
// RTCPeerConnection the page makes in window.__pcs, so the test can read
// their statistics.
function trackPeers() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
}

// cuttableSockets lets the test drop a page's WebSocket and refuse new
// ones for a while, as a network blip does.
function cuttableSockets() {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__blockWS = false;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(window.__blockWS ? String(url).replace("/ws?", "/ws-blocked?") : url, protocols);
      window.__sockets.push(this);
    }
  };
}

// lightCamera runs in the page before its scripts: it asks the fake
// camera for a small, slow picture, so that three pages encoding and
// decoding at once stay light on a busy 2-core machine.
function lightCamera() {
  const md = navigator.mediaDevices;
  const native = md.getUserMedia.bind(md);
  md.getUserMedia = (c = {}) => native(c.video ? { ...c, video: { width: 320, height: 180, frameRate: 15 } } : c);
}

// errorToasts runs in the page before its scripts: an error the app shows
// the user as a toast is logged as a console error, which fails the test.
function errorToasts() {
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.classList?.contains("toast") && n.classList.contains("error")) console.error("error toast: " + n.textContent);
    }
  }).observe(document, { childList: true, subtree: true });
}

/** page opens a new browser context with the test's hooks and returns its page. */
export async function newPage(browser, who, errors, { locale = "en-US", viewport = { width: 1280, height: 800 } } = {}) {
  const ctx = await browser.newContext({ locale, viewport, deviceScaleFactor: 1 });
  await ctx.addInitScript(trackPeers);
  await ctx.addInitScript(cuttableSockets);
  await ctx.addInitScript(lightCamera);
  await ctx.addInitScript(errorToasts);
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
  // Chromium logs every 4xx answer as a console error; some are the
  // protocol at work (WHEP's 409 while a live is off air). They are
  // listed, not failures; 5xx answers fail the test.
  page.on("console", (m) => { if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) errors.push(`${who} console: ${m.text()}`); });
  page.on("response", (r) => { if (r.status() >= 400) console.log(`${who}: ${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`); });
  return page;
}

/**
 * open signs user in and returns the page. errors collects page errors
 * (checked at the end of a script).
 */
export async function open(browser, user, errors, opts = {}) {
  const page = await newPage(browser, user.id, errors, opts);
  await page.goto(URL_ + "/");
  await page.getByPlaceholder((opts.locale || "").startsWith("zh") ? "账号" : "Username").fill(user.id);
  await page.locator("input[name=password]").fill(user.password);
  await page.locator("button[type=submit]").click();
  await page.locator("nav.rail").waitFor();
  return page;
}

export const shot = (page, name) => page.screenshot({ path: join(OUT, name + ".png") });

/** failureShots saves every open page, for a failed run. */
export async function failureShots(browser, prefix) {
  for (const [i, ctx] of browser.contexts().entries()) {
    for (const [j, p] of ctx.pages().entries()) await p.screenshot({ path: join(OUT, `${prefix}-failure-${i}-${j}.png`) }).catch(() => {});
  }
}

/**
 * until polls fn (async) every interval until it returns a truthy value,
 * and returns it; after timeout it throws with what for a message.
 */
export async function until(what, fn, { timeout = STEP_TIMEOUT, interval = 250 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * inbound sums the page's inbound-rtp statistics of one kind over its
 * open peer connections: {framesDecoded, packetsReceived, bytesReceived}.
 */
export function inbound(page, kind) {
  return page.evaluate(async (kind) => {
    const out = { framesDecoded: 0, packetsReceived: 0, bytesReceived: 0 };
    for (const pc of window.__pcs || []) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type !== "inbound-rtp" || r.kind !== kind) return;
        out.framesDecoded += r.framesDecoded || 0;
        out.packetsReceived += r.packetsReceived || 0;
        out.bytesReceived += r.bytesReceived || 0;
      });
    }
    return out;
  }, kind);
}

/** decodesVideo waits until the page's decoded video frames rise by at least n. */
export async function decodesVideo(page, who, n = 10) {
  const first = (await inbound(page, "video")).framesDecoded;
  return until(`${who} to decode ${n} more video frames (from ${first})`, async () => {
    const now = (await inbound(page, "video")).framesDecoded;
    return now >= first + n ? now : false;
  });
}
