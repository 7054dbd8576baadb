// "Who's watching this pet" and the pet's chat: presence and client events on the petRoom stream
// (room.js). Each page is one member, named ?name=... or a random visitor name; typing in the box
// sends `typing` events (at most one a second), Send sends a `say` event. The server checks both
// (schema, rate per connection) and an `error` event comes back for a refused one.
import { useEffect, useRef, useState } from 'react'
import { param, streamAddress, streamProtocols } from './address.js'
import { openRoom } from './room.js'

const TYPING_SHOWN_MS = 3000
const TYPING_EVERY_MS = 1000

export function PetRoom({ groupId, transport }) {
  const [name] = useState(() => param('name') || `visitor-${Math.random().toString(36).slice(2, 6)}`)
  const [members, setMembers] = useState([])
  const [lines, setLines] = useState([])
  const [typing, setTyping] = useState({})
  const [mode, setMode] = useState(null)
  const [error, setError] = useState(null)
  const [, tick] = useState(0)
  const room = useRef(null)
  const lastTyping = useRef(0)

  useEffect(() => {
    const r = openRoom({
      address: streamAddress, protocols: streamProtocols, group: groupId, name, transport,
      onPresence: setMembers, onError: setError, onTransport: setMode,
      onEvent: (type, data) => {
        if (type === 'say') setLines((seen) => [...seen, data])
        if (type === 'typing') setTyping((seen) => ({ ...seen, [data.name]: Date.now() }))
      },
    })
    room.current = r
    // Typing indicators fade: re-render now and then so an old one disappears.
    const timer = setInterval(() => tick((n) => n + 1), 1000)
    return () => { clearInterval(timer); r.close() }
  }, [groupId, transport])

  const typists = Object.entries(typing)
    .filter(([who, at]) => who !== name && Date.now() - at < TYPING_SHOWN_MS).map(([who]) => who)

  function onInput() {
    const now = Date.now()
    if (now - lastTyping.current < TYPING_EVERY_MS) return
    lastTyping.current = now
    room.current?.send('typing', { name })
  }

  function say(e) {
    e.preventDefault()
    const input = e.currentTarget.elements.text
    const text = input.value.trim()
    if (!text) return
    setError(null)
    if (room.current?.send('say', { name, text })) input.value = ''
  }

  return (
    <section id="room" data-transport={mode || ''}>
      <h3>Watching this pet <small>({members.length})</small></h3>
      <ul id="watchers">
        {members.map((m) => (
          <li key={m.subscriptionId} data-name={m.state?.name || ''}>
            {m.state?.name || 'a reader over SSE'}{m.state?.name === name ? ' (you)' : ''}
          </li>
        ))}
      </ul>
      <h3>Chat</h3>
      <ol id="chat">{lines.map((l, i) => <li key={i} data-name={l.name}><b>{l.name}</b>: {l.text}</li>)}</ol>
      <p id="typing" className="muted">{typists.length ? `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…` : '\u00a0'}</p>
      {mode === 'websocket' ? (
        <form id="chat-form" onSubmit={say}>
          <label>{name} says <input name="text" maxLength={500} autoComplete="off" onInput={onInput} /></label>
          <button type="submit">Send</button>
        </form>
      ) : mode === 'sse' ? <p id="room-read-only" className="muted">Read-only: this page reads the room over Server-Sent Events.</p> : null}
      {error ? <p className="error" id="room-error">{error.code}: {error.message}</p> : null}
    </section>
  )
}
