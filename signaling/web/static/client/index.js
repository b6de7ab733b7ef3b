// Parley's browser client module: import it from a Parley server
// (`/client/index.js`) and talk to that server as one member. See the
// "Web client module" section of signaling/PROTOCOL.md.
//
//   import { connect } from "https://parley.example.com/client/index.js";
//   const parley = await connect({ baseURL: "https://parley.example.com", username, password });
//   parley.chat.addEventListener("entries", ...);
//
// Chat is one feature module on the shared Connection; meetings and live
// will be others, added beside it the same way.

import { RestClient, ApiError, MemoryTokenStore, LocalTokenStore } from "./rest.js";
import { Connection, WsError, State } from "./connection.js";
import { ChatClient } from "./chat.js";
import { Directory } from "./directory.js";
import { uuid } from "./ids.js";

export { RestClient, ApiError, MemoryTokenStore, LocalTokenStore, Connection, WsError, State, ChatClient, Directory, uuid };

/**
 * connect signs in (when username and password are given, else uses the
 * tokens in tokenStore), opens the WebSocket and starts chat. It resolves
 * with {rest, connection, chat, directory, me, close()}.
 */
export async function connect({ baseURL = "", username, password, tokenStore = new MemoryTokenStore() } = {}) {
  const rest = new RestClient({ baseURL, tokenStore });
  if (username) await rest.login(username, password);
  const me = await rest.get("/me");
  const connection = new Connection({ rest });
  const chat = new ChatClient({ connection, rest, memberId: me.id });
  const directory = new Directory({ rest });
  connection.start();
  return { rest, connection, chat, directory, me, close: () => connection.stop() };
}
