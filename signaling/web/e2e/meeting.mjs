// Browser test of meetings: alice schedules a meeting and invites bob;
// both join with Chromium's fake camera and microphone and each decodes
// the other's video (framesDecoded rises in getStats). Alice, the host,
// mutes all, and bob's audio stops reaching her (inbound-rtp audio stops
// rising). Bob's connection drops and he resumes with ICE restarts; video
// flows again. Bob shares his screen. With the waiting room on, a guest
// without an account opens the join link (at phone width, in Chinese,
// camera off) and alice admits them. Alice ends the meeting for everyone and sees
// its attendance. Screenshots go to
// PARLEY_ARTIFACTS.
//
// Run by signaling/web/browser_test.go; see lib.mjs for the environment.

import { USERS, launch, open, newPage, shot, step, until, inbound, decodesVideo, failureShots } from "./lib.mjs";

const browser = await launch();
const errors = [];
let failed = false;

// tile is a participant's tile in page's grid, by display name.
const tile = (page, name) => page.locator(`.grid .tile:not(.screen)[data-name="${name}"]`);

async function joinFromCard(page, title) {
  await page.locator(".rail-item[data-section=meetings]").click();
  await page.locator(".meeting-item", { hasText: title }).click();
  await page.locator(".meeting-card button[data-ctl=join-meeting]").click();
  await page.locator("button[data-ctl=join]").click();
  await page.locator(".room-bar").waitFor();
}

// iceUfrags lists the remote ICE usernames of the page's open peer
// connections: they change when ICE restarts.
const iceUfrags = (page) => page.evaluate(() => (window.__pcs || []).filter((pc) => pc.connectionState !== "closed" && pc.remoteDescription)
  .map((pc) => pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)?.[1]));

try {
  const { alice, bob, carol } = USERS;
  const title = "Design review";

  step("alice schedules a meeting and invites bob and carol");
  const a = await open(browser, alice, errors);
  await a.locator(".rail-item[data-section=meetings]").click();
  await a.getByRole("button", { name: "Schedule", exact: true }).click();
  await a.locator(".modal input[name=title]").fill(title);
  await a.locator(".modal").getByRole("button", { name: "Invite members" }).click();
  for (const u of [bob, carol]) await a.locator(".pick-row", { hasText: u.name }).locator("input").check();
  await a.locator(".modal").last().getByRole("button", { name: "OK" }).click();
  await a.locator(".modal .chip", { hasText: carol.name }).waitFor();
  await a.locator(".modal").getByRole("button", { name: "Schedule", exact: true }).click();
  await a.locator(".meeting-card h2", { hasText: title }).waitFor();
  const link = await a.locator(".meeting-card input[name=join_link]").inputValue();
  if (!/\/m\/[A-Za-z0-9]+\?t=/.test(link)) throw new Error(`join link ${link}`);
  await shot(a, "meeting-card");

  step("alice joins from the lobby");
  await a.locator(".meeting-card button[data-ctl=join-meeting]").click();
  await a.locator(".lobby .preview video").waitFor();
  await shot(a, "meeting-lobby");
  await a.locator("button[data-ctl=join]").click();
  await a.locator(".room-bar").waitFor();

  step("bob joins; each decodes the other's video");
  const b = await open(browser, bob, errors);
  await joinFromCard(b, title);
  await tile(a, bob.name).locator("video").waitFor();
  await tile(b, alice.name).locator("video").waitFor();
  await until("alice's tile to show bob's video", () => tile(a, bob.name).evaluate((el) => !el.classList.contains("no-video")));
  await decodesVideo(a, "alice");
  await decodesVideo(b, "bob");
  await until("alice's grid to have two tiles", async () => (await a.locator(".grid .tile").count()) === 2);

  step("bob joined muted (mute on entry); he unmutes and alice hears him");
  await b.locator("button[data-ctl=mic][aria-pressed=false]").waitFor();
  const before = (await inbound(a, "audio")).packetsReceived;
  await b.locator("button[data-ctl=mic]").click();
  await b.locator("button[data-ctl=mic][aria-pressed=true]").waitFor();
  await until("bob's audio to reach alice", async () => (await inbound(a, "audio")).packetsReceived > before + 20);

  step("alice mutes all: bob's audio stops reaching her");
  await a.locator("button[data-ctl=mute-all]").click();
  await b.locator("button[data-ctl=mic][aria-pressed=false]").waitFor();
  await until("bob's tile to show a muted microphone", async () => (await tile(a, bob.name).getAttribute("data-mic")) === "off");
  // The server stops forwarding at once; wait until nothing more arrives
  // over a whole second (a few packets may be in flight at the mute).
  let last = (await inbound(a, "audio")).packetsReceived;
  await until("bob's audio to stop", async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const now = (await inbound(a, "audio")).packetsReceived;
    const still = now === last;
    last = now;
    return still;
  });
  const stopped = (await inbound(a, "audio")).packetsReceived;
  await decodesVideo(a, "alice, after mute all", 5); // video goes on meanwhile
  const after = (await inbound(a, "audio")).packetsReceived;
  if (after !== stopped) throw new Error(`bob's audio still arrives after mute all: ${stopped} -> ${after} packets`);

  step("bob unmutes himself; his audio flows again");
  await b.locator("button[data-ctl=mic]").click();
  await b.locator("button[data-ctl=mic][aria-pressed=true]").waitFor();
  await until("bob's audio to flow again", async () => (await inbound(a, "audio")).packetsReceived > after + 20);

  step("bob's network drops; he resumes and his connections restart ICE");
  const ufrags = await iceUfrags(b);
  await b.evaluate(() => { window.__blockWS = true; window.__sockets.at(-1).close(); });
  await b.locator(".room.is-reconnecting").waitFor();
  await until("alice to see bob reconnecting", () => tile(a, bob.name).evaluate((el) => el.classList.contains("reconnecting")));
  await b.evaluate(() => { window.__blockWS = false; });
  await b.locator(".room:not(.is-reconnecting)").waitFor({ timeout: 30_000 });
  await until("both of bob's connections to restart ICE", async () => {
    const now = await iceUfrags(b);
    return now.length === ufrags.length && now.every((u, i) => u !== ufrags[i]);
  }, { timeout: 30_000 });
  await until("alice to see bob back", () => tile(a, bob.name).evaluate((el) => !el.classList.contains("reconnecting")));
  await decodesVideo(b, "bob, after resuming");
  await decodesVideo(a, "alice, after bob resumed");

  step("bob shares his screen; alice sees it; bob stops");
  await b.locator("button[data-ctl=screen]").click();
  await until("alice to see bob's screen", () => a.locator(".grid .tile.screen").evaluate((el) => !el.classList.contains("no-video")).catch(() => false));
  await shot(a, "meeting-screen-share");
  await b.locator("button[data-ctl=screen]").click();
  await a.locator(".grid .tile.screen").waitFor({ state: "detached" });

  step("alice turns the waiting room on; a guest opens the join link at phone width, in Chinese, and waits");
  await a.locator("input[data-ctl=waiting-room]").check();
  const guest = "Visitor Wang";
  const c = await newPage(browser, "guest", errors, { locale: "zh-CN", viewport: { width: 390, height: 780 } });
  await c.goto(link);
  await c.locator("input[name=name]").fill(guest);
  await c.locator(".guest-card button[type=submit]").click();
  await c.locator(".lobby button[data-ctl=camera]").click(); // camera off: one encoder fewer
  await c.locator(".lobby button[data-ctl=camera][aria-pressed=false]").waitFor();
  await c.locator("button[data-ctl=join]").click();
  await c.locator(".waiting-card").waitFor();

  step("alice admits the guest from the waiting room");
  await a.locator(".waiting-list .member-row", { hasText: guest }).getByRole("button", { name: "Admit" }).click();
  await c.locator(".room-bar").waitFor();
  await until("the guest to see three tiles", async () => (await c.locator(".grid .tile").count()) === 3);
  await until("the guest's grid to show alice's video", () => tile(c, alice.name).evaluate((el) => !el.classList.contains("no-video")));
  await decodesVideo(c, "the guest");
  await tile(a, guest).waitFor();
  await a.locator(".side-panel .member-row", { hasText: guest }).locator(".tag", { hasText: "Guest" }).waitFor();
  await until("alice's tile of the guest to show the avatar (camera off)", () => tile(a, guest).evaluate((el) => el.classList.contains("no-video")));
  await shot(c, "meeting-phone-zh");
  await shot(a, "meeting-grid");

  step("alice ends the meeting for everyone");
  await a.locator("button[data-ctl=leave]").click();
  await a.locator(".modal button[data-ctl=end]").click();
  await b.locator('.ended-card[data-reason="meeting_ended"]').waitFor();
  await c.locator('.ended-card[data-reason="meeting_ended"]').waitFor();

  step("alice sees the attendance");
  await a.locator(".ended-card").getByRole("button", { name: "Back" }).click();
  await a.locator(".meeting-card h2", { hasText: title }).waitFor();
  await until("the attendance to count three", async () => {
    await a.reload();
    return (await a.locator(".stats-card .stat-value").first().textContent({ timeout: 5000 }).catch(() => "")) === "3";
  }, { timeout: 30_000, interval: 1000 });
  await shot(a, "meeting-attendance");

  if (errors.length) throw new Error("page errors:\n" + errors.join("\n"));
  console.log("ok: meeting browser test passed");
} catch (err) {
  failed = true;
  console.error("FAIL:", err.message);
  if (errors.length) console.error("page errors:\n" + errors.join("\n"));
  await failureShots(browser, "meeting");
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
