export function ProgressBar({ name, label, value, detail }) {
  const pct = Math.max(0, Math.min(100, Number(value) || 0))
  return (
    <div className="bar" data-stage={name} data-progress={pct}>
      <div className="bar-label">
        <span>{label}</span>
        <span className="bar-pct">{pct}%</span>
      </div>
      <div className="bar-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className={`bar-fill${pct === 100 ? ' done' : ''}`} style={{ width: `${pct}%` }} />
      </div>
      {detail ? <div className="bar-detail">{detail}</div> : null}
    </div>
  )
}
