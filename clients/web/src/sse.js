// The fallback transport: a stream group over Server-Sent Events (GET /__streams/<stream>/<group>,
// motia dev's SSE endpoint), for when the page cannot open a WebSocket (a proxy that drops the
// upgrade, a WebSocket address that does not answer). The same frames as the socket, one SSE
// event each; the browser's EventSource reconnects by itself and resumes from Last-Event-ID.
import { useEffect, useState } from 'react'
import { apiBase } from './address.js'

export const sseUrl = (stream, group) => `${apiBase}/__streams/${encodeURIComponent(stream)}/${encodeURIComponent(group)}`

/** Open an EventSource on a group; `onFrame(frame)` per frame; returns the close function. */
export function openGroupEvents(stream, group, onFrame, onError) {
  const source = new EventSource(sseUrl(stream, group))
  source.onmessage = (message) => {
    try { onFrame(JSON.parse(message.data)) } catch (err) { onError?.(err) }
  }
  source.onerror = () => onError?.(new Error('the event stream was interrupted; reconnecting'))
  return () => source.close()
}

/** A group's items as useStreamGroup gives them, read over SSE. `setData(items)` on every change. */
export function useSseGroup(stream, group, setData) {
  const [items, setItems] = useState([])
  useEffect(() => {
    let current = new Map()
    const publish = () => {
      const list = [...current.values()]
      setItems(list)
      setData?.(list)
    }
    return openGroupEvents(stream, group, (frame) => {
      const { type, data } = frame.event || {}
      if (type === 'sync') current = new Map((Array.isArray(data) ? data : []).map((item) => [item.id, item]))
      else if (type === 'create' || type === 'update') current.set(data.id, data)
      else if (type === 'delete') current.delete(data.id)
      else return
      publish()
    })
  }, [stream, group])
  return items
}
