// Where Motia's stream client connects: the page's own host (motia dev serves the stream
// WebSocket on the API's port, at any path), or ?ws=ws://host:port/ to point elsewhere.
// ?token=... is sent the way Motia's browser client sends credentials:
// `Sec-WebSocket-Protocol: Authorization,<token>`.
const params = new URLSearchParams(window.location.search)

export const streamAddress =
  params.get('ws') || `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/`

// Module-level, so MotiaStreamProvider sees the same array on every render (a new array would
// make it close and reopen its socket).
export const streamProtocols = params.get('token') ? ['Authorization', params.get('token')] : undefined

export const apiBase = params.get('api') || ''

export const param = (name, fallback = '') => params.get(name) ?? fallback
