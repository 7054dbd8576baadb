// A minimal client of the stream WebSocket, speaking the same protocol as Motia's own clients:
//   → {"type": "join"|"leave", "data": {streamName, groupId, id?, subscriptionId}}
//   ← {timestamp, streamName, groupId, id?, event: {type: sync|create|update|delete, data} |
//                                                  {type: "event", event: {type, data}}}
// As in Motia's clients, a frame whose timestamp is not newer than the last one seen for that
// item is dropped (the server may send a change both as a push and inside a sync snapshot).
//
// Public streams share one anonymous socket. A stream that is not public (`public` in
// /__motia/streams) gets one socket per group, opened with a short-lived stream token that
// motia dev mints for the Workbench (POST /__motia/stream-token), sent as Motia's clients do
// (`Sec-WebSocket-Protocol: Authorization, <token>`). The token covers the group and its items;
// every reconnect asks for a new one, since tokens expire.

let counter = 0;
const newSubscriptionId = () => `wb-${Date.now().toString(36)}-${(++counter).toString(36)}`;

class Subscription {
  constructor(client, {streamName, groupId, id}, handlers) {
    this.client = client;
    this.streamName = streamName;
    this.groupId = groupId;
    this.id = id ?? null;
    this.subscriptionId = newSubscriptionId();
    this.handlers = handlers;
    this.item = null;            // item subscriptions
    this.items = new Map();      // group subscriptions: id → item
    this.stamps = new Map();     // id → last timestamp applied
  }

  get joinData() {
    const data = {streamName: this.streamName, groupId: this.groupId, subscriptionId: this.subscriptionId};
    if (this.id !== null) data.id = this.id;
    return data;
  }

  matches(frame) {
    if (frame.streamName !== this.streamName || frame.groupId !== this.groupId) return false;
    if (this.id === null) return !(frame.event?.type === 'sync' && frame.id);  // a group takes all but item syncs
    return frame.id === this.id;
  }

  apply(frame) {
    const event = frame.event || {};
    if (event.type === 'event') {
      const custom = event.event || {};
      if (custom.type === 'error') this.handlers.onError?.(custom.data);
      else this.handlers.onEvent?.(custom);
      return;
    }
    const key = frame.id ?? '*';
    if (event.type === 'sync') {
      this.stamps.clear();
      this.stamps.set(key, frame.timestamp);
      if (this.id !== null) this.item = event.data ?? null;
      else this.items = new Map((event.data || []).map((item) => [item.id, item]));
    } else {
      if ((this.stamps.get(key) ?? -Infinity) >= frame.timestamp) return;
      if ((this.stamps.get('*') ?? -Infinity) >= frame.timestamp && this.id === null) return;
      this.stamps.set(key, frame.timestamp);
      const deleted = event.type === 'delete';
      if (this.id !== null) this.item = deleted ? null : event.data;
      else if (deleted) this.items.delete(frame.id);
      else this.items.set(frame.id, event.data);
    }
    const change = {type: event.type, id: frame.id ?? null, timestamp: frame.timestamp};
    if (this.id !== null) this.handlers.onChange?.(this.item, change);
    else this.handlers.onChange?.([...this.items.values()], change);
  }

  close() {
    this.client.unsubscribe(this);
  }
}

/** One WebSocket and the subscriptions joined on it; reconnects (and rejoins) until closed. */
class Channel {
  constructor(url, auth, onEmpty) {
    this.url = url;
    this.auth = auth;            // null (anonymous) or {streamName, groupId}: ask for a token per connect
    this.onEmpty = onEmpty;
    this.subscriptions = new Set();
    this.closed = false;
    this.open = false;
    this.expiresAt = null;
    this.retryMs = 1000;
    this.onStatus = null;
    this.connect();
  }

  async connect() {
    if (this.closed) return;
    let protocols;
    if (this.auth) {
      try {
        const {token, expiresAt} = await fetchToken(this.auth);
        protocols = ['Authorization', token];
        this.expiresAt = expiresAt;
      } catch (error) {
        for (const sub of this.subscriptions) sub.handlers.onError?.({code: 'STREAM_TOKEN', message: error.message});
        if (error.status === 404 || error.status === 403) return;  // no use retrying
        this.retry();
        return;
      }
      if (this.closed) return;
    }
    const ws = new WebSocket(this.url, protocols);
    this.ws = ws;
    ws.onopen = () => {
      this.open = true;
      this.retryMs = 1000;
      this.onStatus?.(true);
      for (const sub of this.subscriptions) this.send('join', sub.joinData);  // rejoin: a fresh sync each
    };
    ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      for (const sub of this.subscriptions) if (sub.matches(frame)) sub.apply(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.open = false;
      this.onStatus?.(false);
      this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 10000);
  }

  send(type, data) {
    if (this.open) this.ws.send(JSON.stringify({type, data}));
  }

  add(sub) {
    this.subscriptions.add(sub);
    // A join is checked against the token's expiry: past it, reconnect (a new token) and rejoin all.
    if (this.open && this.expiresAt !== null && Date.now() / 1000 > this.expiresAt - 5) this.ws.close();
    else this.send('join', sub.joinData);
  }

  remove(sub) {
    if (!this.subscriptions.delete(sub)) return;
    this.send('leave', sub.joinData);
    if (!this.subscriptions.size) this.onEmpty?.(this);
  }

  close() {
    this.closed = true;
    this.subscriptions.clear();
    this.ws?.close();
  }
}

class TokenError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function fetchToken({streamName, groupId}) {
  const response = await fetch('/__motia/stream-token', {
    method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({streamName, groupId})});
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new TokenError(response.status, `No stream token: ${body?.error || `HTTP ${response.status}`}`);
  return body;
}

export class StreamClient {
  constructor(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`) {
    this.url = url;
    this.public = null;          // the shared anonymous channel, opened on first use
    this.private = new Map();    // "stream\u0000group" → Channel with a token for that group
    this.where = new Map();      // Subscription → its Channel
    this.visibility = null;      // Promise<Map streamName → public>
    this.onStatus = null;
  }

  /** Which streams are public, from /__motia/streams (fetched once; unknown streams count as public
   *  so that the server answers them, with STREAM_NOT_FOUND). */
  isPublic(streamName) {
    this.visibility ??= fetch('/__motia/streams', {headers: {accept: 'application/json'}})
      .then((r) => r.json())
      .then(({streams}) => new Map(streams.map((s) => [s.name, s.public !== false])))
      .catch(() => { this.visibility = null; return new Map(); });
    return this.visibility.then((known) => known.get(streamName) ?? true);
  }

  /** Forget which streams are public (the server restarted: stream files may have changed). */
  resetVisibility() {
    this.visibility = null;
  }

  channelFor(sub, isPublic) {
    if (isPublic) {
      this.public ??= new Channel(this.url, null, null);
      this.public.onStatus = this.onStatus;
      return this.public;
    }
    const key = `${sub.streamName}\u0000${sub.groupId}`;
    let channel = this.private.get(key);
    if (!channel) {
      channel = new Channel(this.url, {streamName: sub.streamName, groupId: sub.groupId}, (empty) => {
        // The last subscription of a private group left: close its socket.
        this.private.delete(key);
        empty.close();
      });
      this.private.set(key, channel);
    }
    return channel;
  }

  /** Watch one item; handlers.onChange(item | null, change). */
  subscribeItem(target, handlers) {
    return this.subscribe(new Subscription(this, target, handlers));
  }

  /** Watch a whole group; handlers.onChange(items[], change). */
  subscribeGroup({streamName, groupId}, handlers) {
    return this.subscribe(new Subscription(this, {streamName, groupId}, handlers));
  }

  subscribe(sub) {
    this.where.set(sub, null);   // routed once the stream's visibility is known
    this.isPublic(sub.streamName).then((isPublic) => {
      if (!this.where.has(sub)) return;  // closed meanwhile
      const channel = this.channelFor(sub, isPublic);
      this.where.set(sub, channel);
      channel.add(sub);
    });
    return sub;
  }

  unsubscribe(sub) {
    const channel = this.where.get(sub);
    this.where.delete(sub);
    channel?.remove(sub);
  }

  close() {
    this.public?.close();
    for (const channel of this.private.values()) channel.close();
    this.private.clear();
    this.where.clear();
  }
}
