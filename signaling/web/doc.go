// Package web serves Parley's browser client: buildless ES modules, CSS and
// one HTML page, embedded in the binary with go:embed so that `parley
// serve` needs no npm step and no files beside it.
//
// The page is served at "/" and at every client-side route (such as
// /chat/g_...), so a reload or a shared link lands in the app. Assets are
// served twice: under /assets/<version>/, where version is a hash of every
// embedded file and the answer may be cached for a year, and at their plain
// path (/client/index.js), revalidated by ETag, so that other web apps can
// import the client module from a stable URL.
//
// The directory static/ holds the files: client/ is the client module
// (REST, the WebSocket, chat, meetings, live, WHIP and WHEP; no DOM code),
// ui/ the screens, i18n/ the English and Chinese dictionaries. e2e/ holds
// the browser tests' Node drivers (chat.mjs, meeting.mjs, live.mjs), which
// are not embedded.
package web
