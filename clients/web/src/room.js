// The pet's room (stream petRoom): who is watching this pet (presence) and a small chat with a
// typing indicator (client events). Motia's official clients cannot send a presence state or a
// client event, so this speaks the wire protocol itself: a join with `presence`, then
// {"type": "event"} frames the server checks (schema, rate) and passes to the group's other pages.
// Over SSE (the fallback transport) the room is read-only: the page sees who is here and what is
// said, but cannot send.
import { openGroupEvents } from './sse.js'

export const ROOM = 'petRoom'

/**
 * Join the room of `group` as `name`. Handlers: onPresence(members), onEvent(type, data),
 * onError({code, message}), onTransport('websocket' | 'sse'). Returns {send(type, data), close()}.
 * `transport`: 'websocket' (falling back to SSE when the socket cannot open) or 'sse'.
 */
export function openRoom({ address, protocols, group, name, transport, onPresence, onEvent, onError, onTransport }) {
  const subscriptionId = `room-${Math.random().toString(36).slice(2)}`
  const members = new Map()
  let ws = null
  let closeSse = null
  let closed = false

  const frame = (message) => {
    const { type, event } = message.event || {}
    if (message.streamName !== ROOM || message.groupId !== group || type !== 'event') return
    const kind = event?.type
    if (kind === 'presence.sync') {
      members.clear()
      for (const m of event.data || []) members.set(m.subscriptionId, m)
    } else if (kind === 'presence.join') members.set(event.data.subscriptionId, event.data)
    else if (kind === 'presence.leave') members.delete(event.data.subscriptionId)
    else if (kind === 'error') { onError?.(event.data); return }
    else { onEvent?.(kind, event.data); return }
    onPresence?.([...members.values()])
  }

  const useSse = () => {
    if (closed || closeSse) return
    onTransport?.('sse')
    closeSse = openGroupEvents(ROOM, group, frame)
  }

  if (transport === 'sse') useSse()
  else {
    let opened = false
    ws = new WebSocket(address, protocols)
    ws.onopen = () => {
      opened = true
      onTransport?.('websocket')
      ws.send(JSON.stringify({ type: 'join', data: { streamName: ROOM, groupId: group, subscriptionId, presence: { name } } }))
    }
    ws.onmessage = (message) => { try { frame(JSON.parse(message.data)) } catch { /* not a frame */ } }
    // A socket that never opened: this network does not carry WebSockets here; SSE does.
    ws.onclose = () => { if (!opened) useSse() }
  }

  return {
    send(type, data) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false
      ws.send(JSON.stringify({ type: 'event', data: { streamName: ROOM, groupId: group, subscriptionId, event: { type, data } } }))
      return true
    },
    close() {
      closed = true
      ws?.close()
      closeSse?.()
    },
  }
}
