// Browser test of lives: alice creates a live and sees the OBS panel (the
// WHIP URL and the stream key), then goes live from her browser over
// WHIP with the fake camera. Bob watches (his page decodes the video),
// comments, likes, asks a question and votes; alice sees the viewer
// count, the comment, the likes and the vote, answers the question and
// draws the lottery, which bob wins. Carol watches at phone width, in
// Chinese. Alice ends the live; the viewers see it end and alice finds
// the replay. Then an external live with a password: an outside viewer
// opens its viewer link, gives a name and the password, and comments.
// Screenshots go to PARLEY_ARTIFACTS.
//
// Run by signaling/web/browser_test.go; see lib.mjs for the environment.

import { USERS, launch, open, newPage, shot, step, until, decodesVideo, failureShots } from "./lib.mjs";

const browser = await launch();
const errors = [];
let failed = false;

const feedLine = (page, text) => page.locator(".live-feed .feed-item", { hasText: text });

try {
  const { alice, bob, carol } = USERS;
  const title = "Product launch";

  step("alice creates a live and sees the OBS panel");
  const a = await open(browser, alice, errors);
  await a.locator(".rail-item[data-section=live]").click();
  await a.locator("button[data-ctl=new-live]").click();
  await a.locator(".modal input[name=title]").fill(title);
  await a.locator(".modal textarea[name=description]").fill("Our new phone, live from the lab");
  await a.locator(".modal").getByRole("button", { name: "Create" }).click();
  await a.locator(".studio .live-title", { hasText: title }).waitFor();
  const whip = await a.locator(".obs-panel input[name=whip_url]").inputValue();
  const key = await a.locator(".obs-panel input[name=stream_key]").inputValue();
  if (!/^https?:\/\/.+\/whip$/.test(whip)) throw new Error(`WHIP URL ${whip}`);
  if (!/^sk_[A-Za-z0-9_-]{20,}$/.test(key)) throw new Error(`stream key ${key}`);
  if ((await a.locator(".obs-panel input[name=stream_key]").getAttribute("type")) !== "password") throw new Error("the stream key shows before it is asked for");
  await a.locator(".obs-steps li", { hasText: "WHIP" }).first().waitFor();
  await a.locator(".obs-steps li").last().scrollIntoViewIfNeeded();
  await shot(a, "live-obs-panel");

  step("alice goes live from the browser");
  await a.locator("button[data-ctl=go-live]").click();
  await a.locator("button[data-ctl=end-live]").waitFor();
  await a.locator(".studio .status-tag.live").waitFor({ timeout: 30_000 });

  step("bob finds the live and watches it");
  const b = await open(browser, bob, errors);
  await b.locator(".rail-item[data-section=live]").click();
  await b.locator(".live-item", { hasText: title }).click();
  await b.locator(".viewer .live-title", { hasText: title }).waitFor();
  await b.locator(".viewer video.live-picture:not([hidden])").waitFor({ timeout: 30_000 });
  await decodesVideo(b, "bob");

  step("bob comments and likes; alice sees the viewer count, the comment and the likes");
  await b.locator(".feed-form input").fill("Great demo!");
  await b.locator(".feed-form button[type=submit]").click();
  await feedLine(b, "Great demo!").waitFor();
  for (let i = 0; i < 3; i++) await b.locator("button[data-ctl=like]").click();
  await feedLine(a, "Great demo!").locator(".feed-name", { hasText: bob.name }).waitFor();
  await until("alice to see at least 3 likes", async () => Number(await a.locator(".like-total").textContent()) >= 3);
  await until("alice to see bob in the room", async () => Number(await a.locator(".viewer-count").getAttribute("data-viewers")) >= 1); // viewers only: the host is not counted

  step("bob asks; alice answers");
  await b.locator(".feed-tabs [data-tab=questions]").click();
  await b.locator(".feed-form input").fill("When does it ship?");
  await b.locator(".feed-form button[type=submit]").click();
  await a.locator(".feed-tabs [data-tab=questions]").click();
  const q = a.locator(".live-feed .question", { hasText: "When does it ship?" });
  await q.getByRole("button", { name: "Answer", exact: true }).click();
  await a.locator(".modal textarea[name=text]").fill("In April.");
  await a.locator(".modal").getByRole("button", { name: "Answer" }).click();
  await b.locator(".live-feed .question.answered .answer", { hasText: "In April." }).waitFor();
  await a.locator(".feed-tabs [data-tab=comments]").click();

  step("alice opens a poll; bob votes; alice sees the tally");
  await a.locator("button[data-tool=poll]").click();
  await a.locator(".modal input[name=question]").fill("Which color?");
  await a.locator(".modal textarea[name=options]").fill("Black\nSilver\nBlue");
  await a.locator(".modal").getByRole("button", { name: "Start poll" }).click();
  await b.locator(".poll-card .poll-opt", { hasText: "Silver" }).click();
  await b.locator(".poll-card .poll-result.mine", { hasText: "Silver" }).waitFor();
  await a.locator(".poll-card", { hasText: "Votes: 1" }).waitFor();

  step("carol watches at phone width, in Chinese");
  const c = await open(browser, carol, errors, { locale: "zh-CN", viewport: { width: 390, height: 780 } });
  await c.locator(".rail-item[data-section=live]").click();
  await c.locator(".live-item", { hasText: title }).click();
  await c.locator(".viewer video.live-picture:not([hidden])").waitFor({ timeout: 30_000 });
  await decodesVideo(c, "carol");
  await feedLine(c, "Great demo!").locator(".feed-name", { hasText: bob.name }).waitFor();
  await shot(c, "live-viewer-phone-zh");

  step("alice draws the lottery among those who commented: bob wins");
  await a.locator("button[data-tool=draw]").click();
  await a.locator(".modal input[name=title]").fill("Team mug");
  await a.locator(".modal").getByRole("button", { name: "Draw", exact: true }).click();
  await b.locator(".lottery-banner.won", { hasText: "Team mug" }).waitFor();
  await c.locator(".lottery-banner:not(.won)", { hasText: bob.name }).waitFor();
  await shot(b, "live-viewer");

  step("alice's statistics count bob's watching and comment");
  await a.locator(".studio .tabs [data-tab=stats]").click();
  await until("the statistics to show viewers and the comment", async () =>
    Number(await a.locator("[data-stat=concurrent] .stat-value").textContent().catch(() => "0")) >= 1 &&
    Number(await a.locator("[data-stat=comments] .stat-value").textContent().catch(() => "0")) >= 1, { timeout: 30_000 });
  await shot(a, "live-studio");

  step("alice ends the live; the viewers see it end and the replay is there");
  await a.locator("button[data-ctl=end-live]").click();
  await a.locator(".modal").getByRole("button", { name: "End live" }).click();
  await b.locator(".live-overlay", { hasText: "The live has ended" }).waitFor({ timeout: 30_000 });
  await a.locator(".studio .tabs [data-tab=replays]").click();
  await until("the replay to be listed", async () => {
    await a.locator(".studio .tabs [data-tab=replays]").click();
    return (await a.locator(".studio-body .replay video").count()) > 0;
  }, { timeout: 30_000, interval: 1000 });
  await until("the replay to load", () => a.locator(".studio-body .replay video").first().evaluate((v) => v.readyState >= 1 && v.duration > 0), { timeout: 30_000 });

  step("alice makes an external live with a password; an outside viewer opens its link and comments");
  await a.locator("button[data-ctl=new-live]").click();
  await a.locator(".modal input[name=title]").fill("Open day");
  await a.locator(".modal select[name=audience]").selectOption("external");
  await a.locator(".modal input[name=password]").fill("2468");
  await a.locator(".modal").getByRole("button", { name: "Create" }).click();
  await a.locator(".studio .live-title", { hasText: "Open day" }).waitFor();
  const viewerLink = await a.locator(".obs-panel input[name=viewer_link]").inputValue();
  if (!/\/l\/[A-Za-z0-9]+\?t=/.test(viewerLink)) throw new Error(`viewer link ${viewerLink}`);
  const g = await newPage(browser, "outside viewer", errors);
  await g.goto(viewerLink);
  await g.locator("input[name=name]").fill("Fan Zhang");
  await g.locator("input[name=password]").fill("2468");
  await g.locator(".guest-card button[type=submit]").click();
  await g.locator(".live-overlay", { hasText: "has not started" }).waitFor();
  await g.locator(".feed-form input").fill("Hello from outside!");
  await g.locator(".feed-form button[type=submit]").click();
  await feedLine(g, "Hello from outside!").locator(".feed-name", { hasText: "Fan Zhang" }).waitFor();
  await feedLine(a, "Hello from outside!").waitFor();

  if (errors.length) throw new Error("page errors:\n" + errors.join("\n"));
  console.log("ok: live browser test passed");
} catch (err) {
  failed = true;
  console.error("FAIL:", err.message);
  if (errors.length) console.error("page errors:\n" + errors.join("\n"));
  await failureShots(browser, "live");
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
