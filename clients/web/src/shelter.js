// What the pet shelter's `petCreation` stream group holds, and how the page turns it into bars.
// Items (functions/pets, streams/pet_creation_stream.py): `message` (created → quarantine →
// health_check → health_result, updated in place), the AI enrichment items and one item per
// status the lifecycle orchestrator reached. Every item has `message`, `stage`, `progress`.

import { apiBase } from './address.js'

export const STREAM = 'petCreation'

const JOURNEY = ['created', 'quarantine', 'health_check', 'health_result']

// A track's bar from the `message` item's stage: 0 before it, 50 while in it, 100 once past it.
export function journeyProgress(stage, track) {
  const at = JOURNEY.indexOf(stage)
  const mine = JOURNEY.indexOf(track)
  if (at < 0 || at < mine) return 0
  if (at === mine) return 50
  return 100
}

export const ENRICHMENT = [
  { id: 'enrichment_started', label: 'AI enrichment started' },
  { id: 'progress_bio', label: 'Bio' },
  { id: 'progress_breedGuess', label: 'Breed guess' },
  { id: 'progress_temperamentTags', label: 'Temperament tags' },
  { id: 'progress_adopterHints', label: 'Adopter hints' },
  { id: 'completed', label: 'AI enrichment completed' },
]

const KNOWN = new Set(['message', ...ENRICHMENT.map((e) => e.id)])

// Items the orchestrator writes (one per status reached: in_quarantine, healthy, available, ...).
export const statusItems = (items) => items.filter((item) => !KNOWN.has(item.id))

export async function createPet(pet) {
  // ?api=http://host:port sends it to another origin (motia cloud's HTTP API, or AWS's).
  const response = await fetch(`${apiBase}/pets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(pet),
  })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    const detail = (body.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ')
    throw new Error(`${response.status} ${body.message || body.error || 'request failed'}${detail ? ` (${detail})` : ''}`)
  }
  // The body is the stream item with Motia's `__motia` marker: its group is what to watch.
  const groupId = body.__motia?.groupId
  if (!groupId) throw new Error('the response has no __motia.groupId to subscribe to')
  return { item: body, groupId }
}
