// Stream inspector: one stream group (and optionally one item) through Motia's official React
// hooks, with the custom events they deliver. /demo/inspector.html?stream=todo&group=g1&id=a&event=ping
// Handy for poking at a stream by hand; the browser tests use it to check the hooks against
// motia dev (sync, create, update, delete, custom events).
import { useState } from 'react'
import { createRoot } from 'react-dom/client'
import {
  MotiaStreamProvider, useStreamEventHandler, useStreamGroup, useStreamItem,
} from '@motiadev/stream-client-react'
import { param, streamAddress, streamProtocols } from './address.js'
import { WhenConnected } from './WhenConnected.jsx'

const show = (value) => (value === undefined ? 'undefined' : JSON.stringify(value))

function EventLog({ id, subscription, type }) {
  const [events, setEvents] = useState([])
  useStreamEventHandler({ event: subscription, type, listener: (data) => setEvents((seen) => [...seen, data]) }, [])
  return <ul id={id} data-count={events.length}>{events.map((e, i) => <li key={i}>{show(e)}</li>)}</ul>
}

function Inspector({ streamName, groupId, itemId, eventType }) {
  const { data: items, event: groupSub } = useStreamGroup({ streamName, groupId })
  // useStreamItem does nothing while an argument is missing (no ?id=).
  const { data: item, event: itemSub } = useStreamItem({ streamName, groupId, id: itemId || undefined })
  return (
    <>
      <h2>{streamName} / {groupId}</h2>
      <h3>Group ({items.length})</h3>
      <ul id="group">{items.map((i) => <li key={i.id} data-id={i.id}>{i.id}: {show({ ...i, id: undefined, _createdAt: undefined })}</li>)}</ul>
      {itemId ? (
        <>
          <h3>Item {itemId}</h3>
          <pre id="item">{show(item)}</pre>
          <h3>Item events “{eventType}”</h3>
          <EventLog id="item-events" subscription={itemSub} type={eventType} />
        </>
      ) : null}
      <h3>Group events “{eventType}”</h3>
      <EventLog id="group-events" subscription={groupSub} type={eventType} />
      <h3>Errors</h3>
      {/* useStreamGroup's subscription is a ref: it only reaches this handler after a re-render,
          which a refused join (no sync) never causes. useStreamItem's is state, so the handler is
          usually registered before the refusal arrives (still a race: see docs/clients.md). */}
      <EventLog id="errors" subscription={itemId ? itemSub : groupSub} type="error" />
    </>
  )
}


function App() {
  const streamName = param('stream')
  const groupId = param('group')
  if (!streamName || !groupId) {
    return <p>Add <code>?stream=NAME&amp;group=GROUP</code> (and optionally <code>&amp;id=ITEM&amp;event=TYPE</code>) to the URL.</p>
  }
  return (
    <MotiaStreamProvider address={streamAddress} protocols={streamProtocols}>
      <WhenConnected fallback={<p>Connecting…</p>}>
        <Inspector streamName={streamName} groupId={groupId} itemId={param('id')} eventType={param('event', 'event')} />
      </WhenConnected>
    </MotiaStreamProvider>
  )
}

createRoot(document.getElementById('root')).render(<App />)
