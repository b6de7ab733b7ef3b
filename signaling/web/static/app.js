// The web client's entry point: sign-in, then the shell with its screens.
// A meeting's join link or a live's viewer link opens the guest page
// instead, for people without an account.

import { RestClient, LocalTokenStore } from "./client/rest.js";
import { Connection, State } from "./client/connection.js";
import { ChatClient } from "./client/chat.js";
import { Directory } from "./client/directory.js";
import { renderLogin } from "./ui/login.js";
import { guestRoute, showGuestPage } from "./ui/guest.js";
import { Shell } from "./ui/shell.js";
import { t } from "./i18n/i18n.js";

const root = document.getElementById("app");
const rest = new RestClient({ tokenStore: new LocalTokenStore() });
let session = null;
let notice = "";

rest.addEventListener("signedout", (ev) => {
  if (!session) return;
  const reason = ev.detail.reason;
  notice = reason === "logout" ? "" : reason === "member_disabled" ? t("err.member_disabled") : t("login.expired");
  end();
});

function showLogin() {
  document.title = "Parley";
  renderLogin(root, {
    notice,
    rerender: showLogin,
    onLogin: async (username, password) => {
      await rest.login(username, password);
      notice = "";
      await start();
    },
  });
}

async function start() {
  let me;
  try {
    me = await rest.get("/me");
  } catch {
    if (!rest.signedIn) { showLogin(); return; }
    notice = t("login.offline");
    showLogin();
    return;
  }
  const connection = new Connection({ rest });
  const chat = new ChatClient({ connection, rest, memberId: me.id });
  const directory = new Directory({ rest });
  directory.remember([me]);
  const ctx = { rest, connection, chat, directory, me, isAdmin: me.role === "super_admin" || me.role === "dept_admin", isSuper: me.role === "super_admin" };
  session = { ctx, shell: new Shell(root, ctx, { onSignOut: () => rest.logout() }) };
  connection.addEventListener("signedout", (ev) => {
    if (!session) return;
    notice = ev.detail.reason === "member_disabled" ? t("err.member_disabled") : t("login.expired");
    rest.tokenStore.clear();
    end();
  });
  connection.start();
}

function end() {
  if (!session) return;
  const { ctx, shell } = session;
  session = null;
  if (ctx.connection.state !== State.signedout) ctx.connection.stop();
  shell.destroy();
  if (location.pathname !== "/") history.replaceState(null, "", "/");
  showLogin();
}

// route decides the first page. A member opening a meeting's join link
// goes straight to its room; a live's viewer link is for outside viewers
// (members watch from the live section), and so is always the guest page.
function route() {
  const g = guestRoute();
  if (g?.kind === "meeting" && rest.signedIn) {
    history.replaceState(null, "", "/meetings/" + encodeURIComponent(g.id) + "/room");
    start();
    return;
  }
  if (g) {
    const page = () => showGuestPage(root, g, { rerender: page, onSignIn: () => { history.replaceState(null, "", g.kind === "meeting" ? "/meetings/" + encodeURIComponent(g.id) + "/room" : "/"); showLogin(); } });
    page();
    return;
  }
  if (rest.signedIn) start(); else showLogin();
}

route();
