// Parley's browser client module: import it from a Parley server
// (`/client/index.js`) and talk to that server as one member, a meeting's
// guest or a live's viewer. See the "Web client module" section of
// signaling/PROTOCOL.md.
//
//   import { connect, MeetingClient } from "https://parley.example.com/client/index.js";
//   const parley = await connect({ baseURL: "https://parley.example.com", username, password });
//   parley.chat.addEventListener("entries", ...);
//   const meeting = new MeetingClient({ connection: parley.connection });
//   await meeting.join(meetingId);
//
// Chat, meetings and live are feature modules on the one shared
// Connection: each registers its pushes and resyncs when it reopens.

import { RestClient, ApiError, MemoryTokenStore, LocalTokenStore } from "./rest.js";
import { Connection, WsError, State, wsURL } from "./connection.js";
import { ChatClient } from "./chat.js";
import { Directory } from "./directory.js";
import { MeetingClient, MeetingState, Sources } from "./meeting.js";
import { Meetings, parseJoinLink } from "./meetings.js";
import { LiveRoom } from "./live.js";
import { Lives } from "./lives.js";
import { WhipPublisher, WhepPlayer, MediaHttpError } from "./whip.js";
import { GuestAuth, meetingGuest, liveViewer } from "./guest.js";
import { uuid } from "./ids.js";

export {
  RestClient, ApiError, MemoryTokenStore, LocalTokenStore, Connection, WsError, State, wsURL, ChatClient, Directory,
  MeetingClient, MeetingState, Sources, Meetings, parseJoinLink, LiveRoom, Lives, WhipPublisher, WhepPlayer, MediaHttpError,
  GuestAuth, meetingGuest, liveViewer, uuid,
};

/**
 * connect signs in (when username and password are given, else uses the
 * tokens in tokenStore), opens the WebSocket and starts chat. It resolves
 * with {rest, connection, chat, directory, meetings, lives, me, close()}.
 */
export async function connect({ baseURL = "", username, password, tokenStore = new MemoryTokenStore() } = {}) {
  const rest = new RestClient({ baseURL, tokenStore });
  if (username) await rest.login(username, password);
  const me = await rest.get("/me");
  const connection = new Connection({ rest });
  const chat = new ChatClient({ connection, rest, memberId: me.id });
  const directory = new Directory({ rest });
  connection.start();
  return { rest, connection, chat, directory, meetings: new Meetings({ rest }), lives: new Lives({ rest }), me, close: () => connection.stop() };
}
