// Line icons for the navigation (24×24, stroked), drawn here so the page loads no icon font.
import {s} from './dom.js';

const PATHS = {
  flows: 'M3 3h7v5H3z M14 16h7v5h-7z M6.5 8v4h11v4',
  endpoints: 'M8 6l-6 6 6 6 M16 6l6 6-6 6 M13.5 4l-3 16',
  traces: 'M4 5h9 M8 10h11 M6 15h6 M13 20h7',
  logs: 'M4 5h16 M4 10h16 M4 15h10 M4 20h13',
  streams: 'M2 8c3-4 7-4 10 0s7 4 10 0 M2 16c3-4 7-4 10 0s7 4 10 0',
  state: 'M4 6c0-3 16-3 16 0v12c0 3-16 3-16 0z M4 6c0 3 16 3 16 0 M4 12c0 3 16 3 16 0',
  queues: 'M4 4h16v4H4z M4 10h16v4H4z M4 16h16v4H4z',
  cron: 'M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z M12 7v5l3 3',
};

export function icon(name) {
  return s('svg', {class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true'},
    s('path', {d: PATHS[name] || '', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.8,
               'stroke-linecap': 'round', 'stroke-linejoin': 'round'}));
}
