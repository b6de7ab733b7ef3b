// Lives is the durable side of lives over REST (PROTOCOL.md section 10):
// creating a live and its stream key, statistics and replays. The room
// (comments, likes, Q&A, polls, lottery) and watching are LiveRoom's
// (live.js); publishing from a browser is WhipPublisher's (whip.js).

/** Lives calls /api/v1/lives as the signed-in member. */
export class Lives {
  /** rest: a RestClient. */
  constructor({ rest }) { this.rest = rest; }

  /** One page of lives the member hosts, presents or may watch: {lives, next}. */
  list({ limit, after } = {}) { return this.rest.get("/lives", { limit, after }); }

  /**
   * create makes a live the caller hosts: spec {title, description,
   * scheduled_start, guests, scope, record}. The answer carries the
   * stream_key, shown only here and on rotateKey.
   */
  create(spec) { return this.rest.post("/lives", spec); }

  get(id) { return this.rest.get(path(id)); }
  update(id, patch) { return this.rest.patch(path(id), patch); }
  remove(id) { return this.rest.del(path(id)); }
  /** A new stream key; the old one stops working at once. */
  rotateKey(id) { return this.rest.post(path(id) + "/stream-key"); }
  stats(id) { return this.rest.get(path(id) + "/stats"); }
  recordings(id) { return this.rest.get(path(id) + "/recordings"); }

  /**
   * recordingURL is a recording file's URL for a <video src>, which cannot
   * send headers: the member's access token goes in the query.
   */
  async recordingURL(file) {
    const u = new URL(file.url, location.href);
    u.searchParams.set("access_token", await this.rest.accessToken());
    return u.toString();
  }

  /**
   * whipURL is where a browser publishes live id with the host's member
   * token (WHIP with ?live=), on the REST client's server: the
   * absolute whip_url follows the request's Host, which a proxy may change.
   */
  whipURL(id) { return new URL(this.rest.baseURL + "/whip?live=" + encodeURIComponent(id), location.href).toString(); }

  /** whepURL is where live id is played (WHEP), on the REST client's server. */
  whepURL(id) { return new URL(this.rest.baseURL + "/whep/" + encodeURIComponent(id), location.href).toString(); }
}

function path(id) { return "/lives/" + encodeURIComponent(id); }
