// Motia's MotiaStreamProvider renders its children before its effect has created the Stream, and
// useStreamGroup / useStreamItem log a console error when called without one. Children that use
// them wait here until the provider has its Stream (a pet created while the page was still
// probing the WebSocket rendered its progress in that gap).
import { useMotiaStream } from '@motiadev/stream-client-react'

export function WhenConnected({ children, fallback = null }) {
  const { stream } = useMotiaStream()
  return stream ? children : fallback
}
