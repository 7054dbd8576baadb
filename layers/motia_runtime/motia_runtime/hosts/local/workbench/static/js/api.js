// The Workbench's JSON API (/__motia/...), with the steps list cached for the page's lifetime
// (steps only change when the server reloads, and then the page reloads too).

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function getJSON(path) {
  const response = await fetch(path, {headers: {accept: 'application/json'}});
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function postJSON(path, method = 'POST') {
  const response = await fetch(path, {method});
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** A request with a JSON body given as text (sent as is: the server says what is wrong with it). */
export async function sendJSON(path, method, text) {
  const response = await fetch(path, {method, headers: {'content-type': 'application/json', accept: 'application/json'},
    body: text});
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

let stepsPromise = null;

/** {steps, warnings} from /__motia/steps, fetched once. */
export function loadSteps() {
  stepsPromise ??= getJSON('/__motia/steps').catch((error) => { stepsPromise = null; throw error; });
  return stepsPromise;
}

/** Forget the cached steps (the server restarted: files may have changed). */
export function resetSteps() {
  stepsPromise = null;
}

/** Flow names in first-seen order; steps without a flow are listed under "default". */
export function flowsOf(steps) {
  const flows = new Map();
  for (const step of steps) {
    for (const flow of step.flows.length ? step.flows : ['default']) {
      if (!flows.has(flow)) flows.set(flow, []);
      flows.get(flow).push(step);
    }
  }
  return flows;
}
