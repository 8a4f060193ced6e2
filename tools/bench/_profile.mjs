// Reads a V8 CPU profile (`--cpu-prof`, written by services started with TIDEMARK_PROFILE_DIR) and sums its
// self time by where the code lives: a project file, a package in node_modules, Node's internals, or V8's
// own buckets (garbage collector, idle, program).
import { readFileSync } from 'node:fs';

/** Where a profile node's code lives, as a short label. */
function placeOf(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) return `(${functionName.replace(/^\(|\)$/g, '') || 'native'})`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    // The workspace's own packages are linked into node_modules: name them by their file.
    if (rest[0] === '@tidemark') return `${rest[1]}/${rest.slice(-1)[0]}`;
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  const project = url.match(/\/(apps|libs)\/([^/]+)\/.*?([^/]+)$/);
  if (project) return `${project[2]}/${project[3]}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time of a profile by place and by function (`top` of each), in milliseconds and as a share of the
 * profile's wall time, plus the share of the time the process was idle.
 */
export function summarizeProfile(file, { top = 12 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const places = new Map();
  const functions = new Map();
  let total = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += micros;
    const place = placeOf(node.callFrame);
    places.set(place, (places.get(place) ?? 0) + micros);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${place}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + micros);
  }
  const idle = places.get('(idle)') ?? 0;
  const ranked = (m) =>
    [...m]
      .filter(([k]) => !k.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => ({ name, ms: micros / 1000, share: micros / total }));
  return { wallMs: total / 1000, busyMs: (total - idle) / 1000, idleShare: idle / total, places: ranked(places), functions: ranked(functions) };
}
