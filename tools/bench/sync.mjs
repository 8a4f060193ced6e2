// Device sync under a steady offered load: D devices push small batches on a fixed schedule (open loop:
// a slow answer never delays the next send), one more device watches the live stream. Reports p50/p99 of
// push → acknowledged and push → visible on the other device, then the peak accepted events/s with every
// device pushing as fast as it can, against raw JetStream publish measured in the same run.
//   npm run bench:sync -- [--rate 2000] [--devices 50] [--seconds 30] [--tick-ms 250] [--peak-seconds 10]
// --serial N instead: one device pushes N single-event batches one after the other (each waits for the answer
// to the one before), p50/p99 push → acknowledged, next to N raw JetStream publish+ack one after the other in
// the same run (the floor the gateway adds its work to).
// Every run prints how many pushes the gateway answered: with TIDEMARK_PROFILE_DIR=<dir> the gateway writes a
// V8 CPU profile there on exit, and `node tools/cpu-profile.mjs <file> --per <pushes> --from … --until …` (the
// window printed) gives CPU per push.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { benchDevice, benchPipeline, benchStack, fmt, rawJetStreamPublish, table } from './_common.mjs';

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string', default: '2000' },
      devices: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '30' },
      'tick-ms': { type: 'string', default: '250' },
      'peak-seconds': { type: 'string', default: '10' },
      entities: { type: 'string', default: '5000' },
      serial: { type: 'string' },
    },
  });
  if (values.serial !== undefined) return serial(Number(values.serial));
  const RATE = Number(values.rate),
    D = Number(values.devices),
    SECONDS = Number(values.seconds),
    TICK = Number(values['tick-ms']),
    PEAK = Number(values['peak-seconds']),
    E = Number(values.entities);
  const perTick = (RATE * TICK) / 1000 / D; // events per device per tick (may be fractional: carried over)
  const stack = await benchStack({ nats: true, postgres: true });
  const procs = [];
  try {
    const pipeline = await benchPipeline(stack);
    procs.push(...pipeline.procs);
    const { gateway } = pipeline;
    const devices = [];
    for (let d = 0; d < D; d++) devices.push({ id: `sync-dev-${d}`, seq: 0, carry: 0, queue: [], busy: undefined, headers: await benchDevice(stack.env, 'bench', `sync-dev-${d}`, `site-${d % 5}`) });
    const watcher = await benchDevice(stack.env, 'bench', 'sync-watcher', 'site-watch');

    let streamFailed = false;
    let started = performance.now();
    const sentAt = new Map();
    const seen = new Set();
    const visible = [];
    const acked = [];
    const stream = new AbortController();
    const streaming = (async () => {
      const response = await fetch(`${gateway}/v1/changes/stream`, { headers: { ...watcher, accept: 'text/event-stream' }, signal: stream.signal });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.includes('event: error')) console.error(`live stream: ${frame}`);
          if (!frame.includes('event: change')) continue;
          const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6));
          const sent = sentAt.get(data.eventId);
          if (sent !== undefined) {
            if (sent.record) visible.push(now - sent.t);
            seen.add(data.eventId);
          }
        }
      }
    })().catch(async (error) => {
      if (stream.signal.aborted) return;
      const health = await fetch(`${gateway}/healthz`).then(
        (r) => r.status,
        (e) => e.message,
      );
      console.error(`live stream ended at ${fmt((performance.now() - started) / 1000, 1)} s: ${error.message} (${error.cause?.message ?? ''}); gateway /healthz: ${health}`);
      streamFailed = true;
      console.error(procs[2].output().split('\n').slice(-15).join('\n'));
    });

    const event = (device, wall) => ({
      eventId: randomUUID(),
      deviceId: device.id,
      deviceSeq: ++device.seq,
      hlc: { wall, counter: 0 },
      entity: { type: 'annotation', id: `e${Math.floor(Math.random() * E)}` },
      op: 'upsert',
      baseVersion: 0,
      fields: { votes: { op: 'inc', by: 1 }, confidence: { op: 'set', value: Math.round(Math.random() * 100) / 100 } },
      schemaVersion: 1,
    });
    let errors = 0;
    // One push in flight per device, as the SDK does: events made while a push is out wait for the next one.
    let pushes = 0;
    const send = async (device, events, record) => {
      pushes++;
      const t = performance.now();
      const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...device.headers }, body: JSON.stringify({ events }) });
      const body = await response.json();
      if (response.status !== 200) {
        errors++;
        if (errors < 5) console.error(`push answered ${response.status}: ${JSON.stringify(body).slice(0, 200)}`);
        return 0;
      }
      const done = performance.now();
      if (process.env.BENCH_DEBUG && Math.random() < 0.05)
        console.error(
          `debug: ${events.length} events in ${Math.round(done - t)} ms → ${JSON.stringify(Object.entries(body.results.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {})))}`,
        );
      if (record) for (const e of events) acked.push(done - sentAt.get(e.eventId).t);
      return body.results.filter((r) => r.status === 'accepted').length;
    };
    const flush = (device) => {
      if (device.busy || device.queue.length === 0) return;
      const events = device.queue.splice(0, 500);
      const record = events.some((e) => sentAt.get(e.eventId)?.record);
      device.busy = send(device, events, record)
        .then((a) => (acceptedSteady += a))
        .finally(() => {
          device.busy = undefined;
          flush(device);
        });
    };

    const steadyFrom = monotonicMicros();
    const cpuFrom = cpuSeconds(procs[2].pid);
    // Steady phase: every device makes its share each tick; the first 3 s warm up and are not counted.
    console.log(`steady: ${fmt(RATE)} events/s offered by ${D} devices (${fmt(perTick, 2)} events per device every ${TICK} ms) for ${SECONDS} s, 8 partitions`);
    started = performance.now();
    let offered = 0;
    let acceptedSteady = 0;
    for (let tick = 0; ; tick++) {
      const due = started + tick * TICK;
      if (due - started >= SECONDS * 1000) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const record = due - started >= 3000;
      for (const device of devices) {
        device.carry += perTick;
        const n = Math.floor(device.carry);
        if (n === 0) continue;
        device.carry -= n;
        const now = performance.now();
        for (let i = 0; i < n; i++) {
          const e = event(device, 1_764_000_000_000 + Math.round(due));
          sentAt.set(e.eventId, { t: now, record });
          device.queue.push(e);
        }
        offered += n;
        flush(device);
      }
    }
    while (devices.some((d) => d.busy || d.queue.length > 0)) await Promise.all(devices.map((d) => d.busy));
    const steadySeconds = (performance.now() - started) / 1000;
    const steadyUntil = monotonicMicros();
    const steadyCpu = cpuSeconds(procs[2].pid) - cpuFrom;
    const steadyPushes = pushes;
    const drainUntil = performance.now() + 30_000;
    while (seen.size < sentAt.size && performance.now() < drainUntil && !streamFailed) await new Promise((r) => setTimeout(r, 100));
    const unseen = sentAt.size - seen.size;
    stream.abort();
    await streaming;

    // Peak phase: every device pushes batches of 100 back to back.
    const peakStart = performance.now();
    let peakAccepted = 0;
    let peakPushes = 0;
    await Promise.all(
      devices.map(async (device) => {
        while (performance.now() - peakStart < PEAK * 1000) {
          const events = Array.from({ length: 100 }, () => event(device, 1_800_000_000_000 + device.seq));
          for (const e of events) sentAt.set(e.eventId, { t: performance.now(), record: false });
          const accepted = await send(device, events, false); // not `x += await …`: the loops run concurrently
          peakAccepted += accepted;
          peakPushes++;
        }
      }),
    );
    const peakRate = peakAccepted / ((performance.now() - peakStart) / 1000);
    console.log(`peak phase: ${fmt(peakAccepted)} accepted, ${peakPushes} pushes, push errors so far ${errors}`);
    console.log(
      `gateway answered ${steadyPushes} pushes in the steady phase (cpu-profile window --from ${steadyFrom} --until ${steadyUntil}; gateway CPU time, user + system from /proc, ${fmt(steadyCpu, 2)} s: ${fmt((steadyCpu * 1e6) / steadyPushes)} µs per push, live stream included), ${pushes} in all`,
    );
    for (const p of procs.splice(0)) await p.stop();
    const js = await rawJetStreamPublish(stack.env.NATS_URL);

    acked.sort((a, b) => a - b);
    visible.sort((a, b) => a - b);
    console.log(
      `\noffered ${fmt(offered)} events in ${fmt(steadySeconds, 1)} s (${fmt(offered / steadySeconds)} events/s), accepted ${fmt(acceptedSteady)}; push errors ${errors}; not seen on the live stream within 30 s: ${unseen}`,
    );
    console.log(
      table([
        ['figure', 'p50', 'p99', 'max', 'samples'],
        ['push → acknowledged (HTTP 200 after JetStream ack)', `${fmt(quantile(acked, 0.5), 1)} ms`, `${fmt(quantile(acked, 0.99), 1)} ms`, `${fmt(acked.at(-1) ?? NaN, 1)} ms`, fmt(acked.length)],
        ['push → visible on another device (live stream)', `${fmt(quantile(visible, 0.5), 1)} ms`, `${fmt(quantile(visible, 0.99), 1)} ms`, `${fmt(visible.at(-1) ?? NaN, 1)} ms`, fmt(visible.length)],
      ]),
    );
    console.log(
      table([
        ['figure', 'events/s', 'baseline', 'baseline/s', 'ratio'],
        [`peak accepted (${D} devices, batches of 100, ${PEAK} s)`, fmt(peakRate), 'raw JetStream publish, pipelined', fmt(js.pipelined), `${fmt(peakRate / js.pipelined, 2)}×`],
      ]),
    );
  } finally {
    for (const p of procs) await p.kill();
    await stack.stop();
  }
}

const WARMUP = 200;
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** One device, `n` single-event pushes one after the other; then `n` raw JetStream publish+ack one after the other. */
async function serial(n) {
  const stack = await benchStack({ nats: true, postgres: true });
  const procs = [];
  try {
    const pipeline = await benchPipeline(stack);
    procs.push(...pipeline.procs);
    const { gateway } = pipeline;
    const headers = { 'content-type': 'application/json', ...(await benchDevice(stack.env, 'bench', 'serial-dev', 'site-0')) };
    let seq = 0;
    const latencies = [];
    let from = 0;
    let cpuFrom = NaN;
    for (let i = 0; i < WARMUP + n; i++) {
      const event = {
        eventId: randomUUID(),
        deviceId: 'serial-dev',
        deviceSeq: ++seq,
        hlc: { wall: 1_764_000_000_000 + seq, counter: 0 },
        entity: { type: 'annotation', id: `e${seq % 500}` },
        op: 'upsert',
        baseVersion: 0,
        fields: { votes: { op: 'inc', by: 1 }, confidence: { op: 'set', value: 0.5 } },
        schemaVersion: 1,
      };
      if (i === WARMUP) {
        from = monotonicMicros();
        cpuFrom = cpuSeconds(procs[2].pid);
      }
      const t = performance.now();
      const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers, body: JSON.stringify({ events: [event] }) });
      const body = await response.json();
      const took = performance.now() - t;
      if (response.status !== 200 || body.results[0].status !== 'accepted') throw new Error(`push ${i} answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
      if (i >= WARMUP) latencies.push(took);
    }
    const cpu = cpuSeconds(procs[2].pid) - cpuFrom;
    console.log(
      `gateway answered ${n} pushes after ${WARMUP} of warm-up (cpu-profile window --from ${from} --until ${monotonicMicros()}); its CPU time (user + system, /proc) ${fmt(cpu, 2)} s: ${fmt((cpu * 1e6) / n)} µs per push`,
    );
    for (const p of procs.splice(0)) await p.stop();
    const raw = await rawSerialPublish(stack.env.NATS_URL, WARMUP + n);
    latencies.sort((a, b) => a - b);
    const rawMs = raw.slice(WARMUP).sort((a, b) => a - b);
    console.log(
      table([
        ['one device, one event per push, one push at a time', 'p50', 'p99', 'max', 'samples'],
        [
          'push → acknowledged (HTTP 200 after JetStream ack)',
          `${fmt(quantile(latencies, 0.5), 2)} ms`,
          `${fmt(quantile(latencies, 0.99), 2)} ms`,
          `${fmt(latencies.at(-1), 2)} ms`,
          fmt(latencies.length),
        ],
        ['raw JetStream publish → ack, one at a time', `${fmt(quantile(rawMs, 0.5), 2)} ms`, `${fmt(quantile(rawMs, 0.99), 2)} ms`, `${fmt(rawMs.at(-1), 2)} ms`, fmt(rawMs.length)],
      ]),
    );
  } finally {
    for (const p of procs) await p.kill();
    await stack.stop();
  }
}

/** Milliseconds of each of `count` JetStream publishes (with a msgID, ~400 bytes, file storage) awaited one by one. */
async function rawSerialPublish(natsUrl, count) {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager, jetstream } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl.split(',') });
  const jsm = await jetstreamManager(nc);
  const stream = `BENCH_${randomUUID().slice(0, 8).toUpperCase()}`;
  await jsm.streams.add({ name: stream, subjects: [`bench.${stream}.>`], storage: 'file', duplicate_window: 120_000_000_000 });
  const js = jetstream(nc);
  const data = new TextEncoder().encode(JSON.stringify({ v: 1, workspace: 'bench', event: { pad: 'x'.repeat(280) } }));
  const took = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await js.publish(`bench.${stream}.s`, data, { msgID: randomUUID() });
    took.push(performance.now() - t);
  }
  await jsm.streams.delete(stream);
  await nc.close();
  return took;
}
