// A minimal client of the stream WebSocket, speaking the same protocol as Motia's own clients:
//   → {"type": "join"|"leave", "data": {streamName, groupId, id?, subscriptionId}}
//   ← {timestamp, streamName, groupId, id?, event: {type: sync|create|update|delete, data} |
//                                                  {type: "event", event: {type, data}}}
// As in Motia's clients, a frame whose timestamp is not newer than the last one seen for that
// item is dropped (the server may send a change both as a push and inside a sync snapshot).

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

export class StreamClient {
  constructor(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`) {
    this.url = url;
    this.subscriptions = new Set();
    this.closed = false;
    this.open = false;
    this.onStatus = null;
    this.connect();
  }

  connect() {
    this.ws = new WebSocket(this.url);
    this.ws.onopen = () => {
      this.open = true;
      this.onStatus?.(true);
      for (const sub of this.subscriptions) this.send('join', sub.joinData);  // rejoin: a fresh sync each
    };
    this.ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      for (const sub of this.subscriptions) if (sub.matches(frame)) sub.apply(frame);
    };
    this.ws.onclose = () => {
      this.open = false;
      this.onStatus?.(false);
      if (!this.closed) setTimeout(() => this.connect(), 1000);
    };
  }

  send(type, data) {
    if (this.open) this.ws.send(JSON.stringify({type, data}));
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
    this.subscriptions.add(sub);
    this.send('join', sub.joinData);
    return sub;
  }

  unsubscribe(sub) {
    if (this.subscriptions.delete(sub)) this.send('leave', sub.joinData);
  }

  close() {
    this.closed = true;
    this.subscriptions.clear();
    this.ws.close();
  }
}
