// CPU time in a V8 CPU profile (`node --cpu-prof`, or TIDEMARK_PROFILE_DIR for services the test helpers start):
// every sample's time except the idle ones, in all and per unit of work (`--per <count>`), with the share of the
// top self-time functions and of garbage collection.
// `--from`/`--until` (microseconds of the monotonic clock, `process.hrtime.bigint() / 1000n`, which V8's profile
// timestamps also use) count only the samples of that window: the benchmarks print theirs, so start-up is left out.
// `--inclusive <name>=<regex>` (repeatable) adds the share of samples with a frame whose URL matches anywhere on the
// stack (e.g. `pg=/(pg|pg-pool|pg-protocol|typeorm|instrumentation-pg)/`), so a cost split across many small
// functions shows as one figure.
//   node tools/cpu-profile.mjs <file.cpuprofile> [--per <pushes>] [--from <µs> --until <µs>] [--top 15] [--inclusive name=regex]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: 'string' }, top: { type: 'string', default: '15' }, from: { type: 'string' }, until: { type: 'string' }, inclusive: { type: 'string', multiple: true } },
});
const groups = (values.inclusive ?? []).map((spec) => {
  const at = spec.indexOf('=');
  return { name: spec.slice(0, at), pattern: new RegExp(spec.slice(at + 1)), us: 0 };
});
const from = values.from ? Number(values.from) : -Infinity;
const until = values.until ? Number(values.until) : Infinity;
if (positionals.length !== 1) {
  console.error('usage: node tools/cpu-profile.mjs <file.cpuprofile> [--per <count>] [--top 15]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
function onStack(id, pattern) {
  for (let at = id; at !== undefined; at = parents.get(at)) if (pattern.test(nodes.get(at).callFrame.url)) return true;
  return false;
}
const self = new Map();
let busy = 0;
let gc = 0;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i];
  if (at < from || at > until) continue;
  const node = nodes.get(profile.samples[i]);
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const name = node.callFrame.functionName || '(anonymous)';
  if (name === '(idle)') continue;
  busy += dt;
  if (name === '(garbage collector)') gc += dt;
  for (const group of groups) if (onStack(node.id, group.pattern)) group.us += dt;
  const key = `${name} ${node.callFrame.url.split('/').slice(-3).join('/')}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
}
const wall = Math.min(until, profile.endTime) - Math.max(from, profile.startTime);
const per = values.per ? Number(values.per) : undefined;
console.log(`profile ${wall / 1e6} s wall, CPU (not idle) ${(busy / 1e6).toFixed(2)} s, GC ${((100 * gc) / busy).toFixed(1)} %`);
if (per) console.log(`CPU per unit (${per}): ${(busy / per).toFixed(0)} µs`);
for (const group of groups) console.log(`${((100 * group.us) / busy).toFixed(1).padStart(5)} %  inclusive: ${group.name}${per ? ` (${(group.us / per).toFixed(0)} µs per unit)` : ''}`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${key}`);
