// The Workbench's live channel (ws://<host>/__motia/ws): log, trace, state and stream frames.
// It reconnects by itself; views subscribe per frame type and refetch when it comes back
// ('open' after a drop), since frames sent while disconnected are not replayed.

export class Feed {
  constructor(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/__motia/ws`) {
    this.url = url;
    this.listeners = new Map();
    this.connected = false;
    this.retryMs = 500;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.onopen = () => {
      this.connected = true;
      this.retryMs = 500;
      this.dispatch('open', null);
    };
    ws.onmessage = (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      this.dispatch(frame.type, frame.data);
    };
    ws.onclose = () => {
      if (this.connected) this.dispatch('close', null);
      this.connected = false;
      setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    };
  }

  /** Listen to one frame type ('log', 'trace', 'state', 'stream', 'open', 'close'); returns an unsubscribe. */
  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    return () => this.listeners.get(type).delete(listener);
  }

  dispatch(type, data) {
    for (const listener of this.listeners.get(type) || []) {
      try { listener(data); } catch (error) { console.error(`feed listener for ${type} failed`, error); }
    }
  }
}
