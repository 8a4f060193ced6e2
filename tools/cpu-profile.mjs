// CPU time in a V8 CPU profile (`node --cpu-prof`, or TIDEMARK_PROFILE_DIR for services the test helpers start):
// every sample's time except the idle ones, in all and per unit of work (`--per <count>`), with the share of the
// top self-time functions and of garbage collection.
// `--from`/`--until` (microseconds of the monotonic clock, `process.hrtime.bigint() / 1000n`, which V8's profile
// timestamps also use) count only the samples of that window: the benchmarks print theirs, so start-up is left out.
//   node tools/cpu-profile.mjs <file.cpuprofile> [--per <pushes>] [--from <µs> --until <µs>] [--top 15]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: 'string' }, top: { type: 'string', default: '15' }, from: { type: 'string' }, until: { type: 'string' } } });
const from = values.from ? Number(values.from) : -Infinity;
const until = values.until ? Number(values.until) : Infinity;
if (positionals.length !== 1) {
  console.error('usage: node tools/cpu-profile.mjs <file.cpuprofile> [--per <count>] [--top 15]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
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
  const key = `${name} ${node.callFrame.url.split('/').slice(-3).join('/')}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
}
const wall = Math.min(until, profile.endTime) - Math.max(from, profile.startTime);
const per = values.per ? Number(values.per) : undefined;
console.log(`profile ${wall / 1e6} s wall, CPU (not idle) ${(busy / 1e6).toFixed(2)} s, GC ${((100 * gc) / busy).toFixed(1)} %`);
if (per) console.log(`CPU per unit (${per}): ${(busy / per).toFixed(0)} µs`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)} %  ${key}`);
