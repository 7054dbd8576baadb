// Pet shelter demo: create a pet, then watch its petCreation stream group live through
// Motia's own React hooks (@motiadev/stream-client-react), unchanged.
import { useCallback, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { MotiaStreamProvider, useStreamEventHandler, useStreamGroup, useStreamItem } from '@motiadev/stream-client-react'
import { param, streamAddress, streamProtocols } from './address.js'
import { ENRICHMENT, STREAM, createPet, journeyProgress, statusItems } from './shelter.js'
import { ProgressBar } from './ProgressBar.jsx'
import { PetRoom } from './PetRoom.jsx'
import { useSseGroup } from './sse.js'
import { WhenConnected } from './WhenConnected.jsx'

// Which transport the page reads streams with: the WebSocket (Motia's clients) when one opens,
// else Server-Sent Events. ?transport=sse forces SSE.
function useTransport() {
  const forced = param('transport') === 'sse'
  const [transport, setTransport] = useState(forced ? 'sse' : 'probing')
  useEffect(() => {
    if (forced) return undefined
    const probe = new WebSocket(streamAddress, streamProtocols)
    let opened = false
    probe.onopen = () => { opened = true; setTransport('websocket'); probe.close() }
    probe.onclose = () => { if (!opened) setTransport('sse') }
    return () => probe.close()
  }, [])
  return transport
}

// Every stage text, in arrival order: the group's items as each change delivers them.
function useTimeline() {
  const [timeline, setTimeline] = useState([])
  const record = useCallback((items) => {
    setTimeline((seen) => {
      const next = [...seen]
      for (const item of items) {
        const key = `${item.id}\u0000${item.message}`
        if (!next.some((t) => t.key === key)) next.push({ key, id: item.id, message: item.message })
      }
      return next
    })
  }, [])
  return [timeline, record]
}

function PetForm({ onCreated }) {
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)

  async function submit(e) {
    e.preventDefault()
    const form = new FormData(e.currentTarget)
    const symptoms = String(form.get('symptoms') || '').split(',').map((s) => s.trim()).filter(Boolean)
    setBusy(true)
    setError(null)
    try {
      const { groupId } = await createPet({
        name: String(form.get('name')),
        species: String(form.get('species')),
        ageMonths: Number(form.get('ageMonths')),
        symptoms,
      })
      onCreated({ groupId, name: String(form.get('name')) })
    } catch (err) {
      setError(String(err.message || err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form id="pet-form" onSubmit={submit}>
      <label>Name <input name="name" required maxLength={100} defaultValue="Buddy" /></label>
      <label>Species
        <select name="species" defaultValue="dog">
          <option value="dog">dog</option><option value="cat">cat</option>
          <option value="bird">bird</option><option value="other">other</option>
        </select>
      </label>
      <label>Age (months) <input name="ageMonths" type="number" min={0} max={600} required defaultValue={24} /></label>
      <label>Symptoms <input name="symptoms" placeholder="comma-separated, empty if healthy" /></label>
      <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create pet'}</button>
      {error ? <p className="error" id="form-error">{error}</p> : null}
    </form>
  )
}

function PetProgressWs({ groupId, name }) {
  const [timeline, record] = useTimeline()
  const [streamError, setStreamError] = useState(null)
  const { data: items } = useStreamGroup({ streamName: STREAM, groupId, setData: record })
  const { data: journey, event: journeyEvents } = useStreamItem({ streamName: STREAM, groupId, id: 'message' })
  // Motia's clients deliver a refused join as a custom `error` event, nothing more. The item
  // hook's subscription is React state, so this handler is usually registered before the answer
  // comes (useStreamGroup's is a ref that only shows up after a re-render, which a refusal never
  // causes). Usually, not surely: the hooks leave it a race.
  useStreamEventHandler({ event: journeyEvents, type: 'error', listener: (e) => setStreamError(e) }, [])
  return <PetView groupId={groupId} name={name} items={items} journey={journey} timeline={timeline} streamError={streamError} />
}

function PetProgressSse({ groupId, name }) {
  const [timeline, record] = useTimeline()
  const items = useSseGroup(STREAM, groupId, record)
  const journey = items.find((item) => item.id === 'message')
  return <PetView groupId={groupId} name={name} items={items} journey={journey} timeline={timeline} streamError={null} />
}

function PetView({ groupId, name, items, journey, timeline, streamError }) {
  const byId = Object.fromEntries(items.map((item) => [item.id, item]))
  const stage = journey?.stage
  return (
    <section id="progress" data-group={groupId}>
      <h2>{name} <small>group {groupId}</small></h2>
      <p id="journey-message">{journey === undefined ? 'Waiting for the stream…' : journey?.message}</p>
      {streamError ? <p className="error" id="stream-error">{streamError.code}: {streamError.message}</p> : null}
      <h3>Intake</h3>
      <ProgressBar name="quarantine" label="Quarantine" value={journeyProgress(stage, 'quarantine')} />
      <ProgressBar name="health_check" label="Health check" value={journeyProgress(stage, 'health_check')}
        detail={stage === 'health_check' || stage === 'health_result' ? journey.message : null} />
      <ProgressBar name="intake_overall" label="Intake overall" value={journey?.progress ?? 0} />
      <h3>AI profile</h3>
      {ENRICHMENT.map(({ id, label }) => (
        // Each enrichment stage is one moment: its bar is full once its item has arrived.
        <ProgressBar key={id} name={id} label={label} value={byId[id] ? 100 : 0}
          detail={byId[id] ? byId[id].message + (byId[id].value ? ` — ${[].concat(byId[id].value).join(', ')}` : '') : null} />
      ))}
      <ProgressBar name="ai_overall" label="AI profile overall"
        value={Math.max(0, ...ENRICHMENT.map(({ id }) => byId[id]?.progress ?? 0))} />
      {statusItems(items).length ? (
        <>
          <h3>Status</h3>
          <ul id="statuses">{statusItems(items).map((s) => <li key={s.id} data-status={s.id}>{s.message}</li>)}</ul>
        </>
      ) : null}
      <h3>Timeline</h3>
      <ol id="timeline">{timeline.map((t) => <li key={t.key} data-item={t.id}>{t.message}</li>)}</ol>
    </section>
  )
}

function App() {
  // ?pet=<group> opens a pet already created (another visitor's page, a shared link).
  const [pet, setPet] = useState(() => (param('pet') ? { groupId: param('pet'), name: param('petName', 'this pet') } : null))
  const transport = useTransport()
  const header = (
    <header>
      <h1>Pet shelter — live intake</h1>
      <p>Built on Motia's official <code>@motiadev/stream-client-react</code> hooks, talking to <code>{streamAddress}</code>.</p>
      <p id="transport" data-transport={transport}>
        {transport === 'sse' ? 'WebSocket unavailable: reading the streams over Server-Sent Events'
          : transport === 'websocket' ? 'Live over the WebSocket' : 'Connecting…'}
      </p>
    </header>
  )
  const room = pet && transport !== 'probing' ? <PetRoom key={`room-${pet.groupId}`} groupId={pet.groupId} transport={transport} /> : null
  // The form keeps its place in the tree whatever the transport: when the probe's answer came
  // while someone was typing, a form re-mounted under the provider lost what they had typed.
  return (
    <>
      {header}
      <PetForm onCreated={setPet} />
      {transport === 'websocket' ? (
        <MotiaStreamProvider address={streamAddress} protocols={streamProtocols}>
          {pet ? (
            <WhenConnected>
              <PetProgressWs key={pet.groupId} groupId={pet.groupId} name={pet.name} />
            </WhenConnected>
          ) : null}
          {room}
        </MotiaStreamProvider>
      ) : (
        <>
          {pet && transport === 'sse' ? <PetProgressSse key={pet.groupId} groupId={pet.groupId} name={pet.name} /> : null}
          {room}
        </>
      )}
    </>
  )
}

createRoot(document.getElementById('root')).render(<App />)
