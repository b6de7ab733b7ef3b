// Browser test of the web client: two (then three) members sign in, chat
// both ways, see read state, and a group shows who has read a message.
// Every main screen is captured under PARLEY_ARTIFACTS.
//
// Run by signaling/web/browser_test.go, which starts a server and creates
// the members. Environment:
//   PARLEY_URL        the server, e.g. http://127.0.0.1:41234
//   PARLEY_USERS      JSON: {"alice": {"id", "name", "password"}, "bob": ..., "carol": ..., "admin": ...}
//   PARLEY_ARTIFACTS  a directory for screenshots
//   PARLEY_CHROMIUM   the browser binary (default /usr/bin/chromium)

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const URL_ = process.env.PARLEY_URL;
const USERS = JSON.parse(process.env.PARLEY_USERS || "{}");
const OUT = process.env.PARLEY_ARTIFACTS || "artifacts";
const STEP_TIMEOUT = 10_000;
mkdirSync(OUT, { recursive: true });

// launch() gives Chromium a fresh --user-data-dir of its own in a temporary
// directory and removes it on close (it refuses one passed in args), and
// never downloads a browser: executablePath is Debian's Chromium.
const browser = await chromium.launch({
  executablePath: process.env.PARLEY_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

const errors = [];
let failed = false;
const step = (s) => console.log("step:", s);

// cuttableSockets lets the test drop a page's WebSocket and refuse new
// ones for a while, to see the client reconnect and resync.
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

// drawChart runs in the page and returns a small PNG bar chart, base64.
function drawChart() {
  const c = document.createElement("canvas");
  c.width = 360; c.height = 200;
  const g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, 360, 200);
  g.fillStyle = "#1f2329"; g.font = "bold 16px sans-serif"; g.fillText("Q3 sign-ups", 16, 28);
  [60, 95, 80, 130, 150].forEach((v, i) => { g.fillStyle = ["#0082ef", "#34c724", "#ff8800", "#7f3bf5", "#f54a45"][i]; g.fillRect(24 + i * 66, 185 - v, 44, v); });
  return c.toDataURL("image/png").split(",")[1];
}

async function open(user, { locale = "en-US", viewport = { width: 1280, height: 800 }, init } = {}) {
  const ctx = await browser.newContext({ locale, viewport, deviceScaleFactor: 1 });
  if (init) await ctx.addInitScript(init);
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (e) => errors.push(`${user.id}: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${user.id} console: ${m.text()}`); });
  await page.goto(URL_ + "/");
  await page.getByPlaceholder(locale.startsWith("zh") ? "账号" : "Username").fill(user.id);
  await page.locator("input[name=password]").fill(user.password);
  await page.locator("button[type=submit]").click();
  await page.locator("nav.rail").waitFor();
  return page;
}

const shot = (page, name) => page.screenshot({ path: join(OUT, name + ".png") });

// convItem is the conversation named name in page's list.
const convItem = (page, name) => page.locator(`li.conv[aria-label="${name}"]`);

// lastMine is the newest of the member's own messages with the given text.
const mine = (page, text) => page.locator(".msg.mine", { hasText: text }).last();

async function sendText(page, text) {
  await page.locator(".compose-text").fill(text);
  await page.locator(".compose-text").press("Enter");
  await mine(page, text).locator(".msg-meta .state[data-state]").waitFor();
}

try {
  const { alice, bob, carol, admin } = USERS;

  step("login page");
  {
    const ctx = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    await p.goto(URL_ + "/");
    await p.getByText("登录", { exact: true }).waitFor();
    await shot(p, "login-zh");
    await ctx.close();
  }

  step("alice and bob sign in");
  const a = await open(alice);
  const b = await open(bob, { init: cuttableSockets });

  step("alice finds bob in the directory and opens a chat");
  await a.locator(".rail-item[data-section=contacts]").click();
  await a.locator(".tree-label", { hasText: "R&D" }).click();
  await a.locator(`li.person[data-member="${bob.id}"]`).click();
  await a.locator(".member-card h2", { hasText: bob.name }).waitFor();
  await a.locator(".member-card .chip", { hasText: "On call" }).waitFor();
  await shot(a, "contacts");
  await a.getByRole("button", { name: "Send message" }).click();
  await a.locator(".chat-title", { hasText: bob.name }).waitFor();

  step("alice -> bob: unread until bob opens the chat");
  await sendText(a, "Hello Bob 👋");
  await mine(a, "Hello Bob").locator('.state[data-state="unread"]').waitFor();

  step("bob sees the conversation with an unread badge");
  await convItem(b, alice.name).locator(".badge", { hasText: "1" }).waitFor();
  await shot(b, "conversations-unread");

  step("bob opens the chat; alice sees read");
  await convItem(b, alice.name).click();
  await b.locator(".msg:not(.mine) .text", { hasText: "Hello Bob" }).waitFor();
  await mine(a, "Hello Bob").locator('.state[data-state="read"]').waitFor();
  await convItem(b, alice.name).locator(".badge").waitFor({ state: "detached" });

  step("bob -> alice, typing shown, read at once while alice has it open");
  await b.locator(".compose-text").pressSequentially("Hi", { delay: 10 });
  await a.locator(".typing-line", { hasText: bob.name }).waitFor();
  await b.locator(".compose-text").fill("Hi Alice, got it ✅");
  await b.locator(".compose-text").press("Enter");
  await a.locator(".msg:not(.mine) .text", { hasText: "got it" }).waitFor();
  await mine(b, "got it").locator('.state[data-state="read"]').waitFor();
  await shot(a, "chat-direct");

  step("alice creates a group with bob and carol");
  await a.locator(".rail-item[data-section=chat]").click();
  await a.getByRole("button", { name: "New chat" }).click();
  for (const u of [bob, carol]) {
    await a.locator(".pick-row", { hasText: u.name }).locator("input").check();
  }
  await a.locator(".modal").getByRole("button", { name: "OK" }).click();
  await a.locator(".modal input[name=name]").fill("Project X");
  await a.locator(".modal").getByRole("button", { name: "Create" }).click();
  await a.locator(".chat-title", { hasText: "Project X" }).waitFor();

  step("alice posts an announcement, a mention, an image and a confidential note");
  await a.locator(".chat-head .icon-btn[aria-label='Group info']").click();
  await a.locator(".info-row", { hasText: "Announcement" }).getByRole("button", { name: "Edit" }).click();
  await a.locator(".modal textarea[name=announcement]").fill("Standup every day at 10:00");
  await a.locator(".modal").last().getByRole("button", { name: "Save" }).click();
  await a.locator(".modal .info-value", { hasText: "Standup every day" }).waitFor();
  await a.locator(".modal").getByRole("button", { name: "Close" }).click();
  await a.locator(".announcement", { hasText: "Standup" }).waitFor();

  await a.locator(".compose-text").pressSequentially("Please review @Bo", { delay: 5 });
  await a.locator(".mention-opt", { hasText: bob.name }).click();
  await a.locator(".compose-text").press("Enter");
  await mine(a, "Please review").locator(".mention", { hasText: "@" + bob.name }).waitFor();
  await mine(a, "Please review").locator('.state[data-state="partial"]', { hasText: "0/2 read" }).waitFor();

  const png = Buffer.from(await a.evaluate(drawChart), "base64");
  await a.locator(".composer input[type=file][accept='image/*']").setInputFiles({ name: "q3-chart.png", mimeType: "image/png", buffer: png });
  await a.locator(".msg.mine .image-msg img[src^='blob:']").waitFor();

  await a.locator(".tool.toggle.conf").click();
  await a.locator(".compose-text").fill("Q3 numbers: confidential");
  await a.locator(".compose-text").press("Enter");
  await mine(a, "Q3 numbers").locator(".watermark").waitFor();

  step("bob opens the group: alice sees 1/2 read, with bob as the reader");
  await b.locator(".rail-item[data-section=chat]").click();
  await convItem(b, "Project X").click();
  await b.locator(".msg:not(.mine) .text", { hasText: "Please review" }).waitFor();
  const wm = await b.locator(".bubble.confidential .watermark span").first().textContent();
  if (!wm.includes(bob.name) || !wm.includes(bob.id)) throw new Error(`watermark shows ${JSON.stringify(wm)}, not the viewer`);
  await shot(b, "group-confidential-watermark");

  const state = mine(a, "Please review").locator(".state[data-state]");
  await mine(a, "Please review").locator(".state", { hasText: "1/2 read" }).waitFor();
  await shot(a, "group-chat");
  await state.click();
  const readCol = a.locator(".receipt-col").nth(0);
  const unreadCol = a.locator(".receipt-col").nth(1);
  await readCol.locator("li", { hasText: bob.name }).waitFor();
  await unreadCol.locator("li", { hasText: carol.name }).waitFor();
  if (await readCol.locator("li", { hasText: carol.name }).count()) throw new Error("carol listed as a reader");
  await shot(a, "group-receipts");
  await a.keyboard.press("Escape");

  step("bob recalls a message; alice sees the notice");
  await b.locator(".compose-text").fill("oops, wrong chat");
  await b.locator(".compose-text").press("Enter");
  await a.locator(".msg .text", { hasText: "oops, wrong chat" }).waitFor();
  await mine(b, "oops").hover();
  await mine(b, "oops").getByRole("button", { name: "Recall" }).click();
  await b.locator(".modal").getByRole("button", { name: "Recall" }).click();
  await a.locator(".sys-line", { hasText: `${bob.name} recalled a message` }).waitFor();
  if (await a.locator(".msg .text", { hasText: "oops, wrong chat" }).count()) throw new Error("recalled message still shown");

  step("bob's connection drops; what alice sends meanwhile arrives after the reconnect");
  await b.evaluate(() => { window.__blockWS = true; window.__sockets.at(-1).close(); });
  await b.locator(".banner", { hasText: "Reconnecting" }).waitFor();
  await a.locator(".rail-item[data-section=chat]").click();
  await convItem(a, bob.name).click();
  await sendText(a, "Sent while you were offline");
  await b.evaluate(() => { window.__blockWS = false; });
  await convItem(b, alice.name).locator(".badge", { hasText: "1" }).waitFor({ timeout: 20_000 });
  await b.locator(".banner").waitFor({ state: "hidden" });

  step("phone width, in Chinese");
  {
    const p = await open(carol, { locale: "zh-CN", viewport: { width: 390, height: 780 } });
    await convItem(p, "Project X").locator(".badge").waitFor();
    await shot(p, "phone-conversations-zh");
    await convItem(p, "Project X").click();
    await p.locator(".msg:not(.mine) .text", { hasText: "Please review" }).waitFor();
    if (await p.locator(".list-pane").isVisible()) throw new Error("phone width shows the list beside the chat");
    await shot(p, "phone-chat-zh");
    await convItem(a, "Project X").click();
    await mine(a, "Please review").locator(".state", { hasText: "All read" }).waitFor();
    await p.context().close();
  }

  step("alice adds the administrator to the group, who joins late and still sees every member");
  await a.locator(".rail-item[data-section=chat]").click();
  await convItem(a, "Project X").click();
  await a.locator(".chat-head .icon-btn[aria-label='Group info']").click();
  await a.locator(".modal").getByRole("button", { name: "Add members" }).click();
  await a.locator(".pick-row", { hasText: admin.name }).locator("input").check();
  await a.locator(".modal").last().getByRole("button", { name: "OK" }).click();
  await a.locator(`.modal .member-row[data-member="${admin.id}"]`).waitFor();
  await a.locator(".modal").getByRole("button", { name: "Close" }).click();

  step("admin console");
  {
    const p = await open(admin);
    await p.locator(".rail-item[data-section=chat]").click();
    await convItem(p, "Project X").click();
    await p.locator(".chat-head .icon-btn[aria-label='Group info']").click();
    for (const u of [alice, bob, carol, admin]) await p.locator(`.modal .member-row[data-member="${u.id}"]`).waitFor();
    await p.locator(".modal").getByRole("button", { name: "Close" }).click();
    await p.locator(".rail-item[data-section=admin]").click();
    await p.getByRole("cell", { name: carol.id, exact: true }).waitFor();
    await shot(p, "admin-members");
    await p.getByRole("tab", { name: "Audit log" }).click();
    await p.locator(".table code", { hasText: "member.create" }).first().waitFor();
    await shot(p, "admin-audit");
    await p.context().close();
  }

  if (errors.length) throw new Error("page errors:\n" + errors.join("\n"));
  console.log("ok: browser test passed");
} catch (err) {
  failed = true;
  console.error("FAIL:", err.message);
  if (errors.length) console.error("page errors:\n" + errors.join("\n"));
  for (const [i, ctx] of browser.contexts().entries()) {
    for (const [j, p] of ctx.pages().entries()) await p.screenshot({ path: join(OUT, `chat-failure-${i}-${j}.png`) }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
