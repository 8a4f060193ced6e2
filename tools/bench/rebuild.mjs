// Pre-loads N events into the journal (one workspace, as bench:merge), lets merge-service project them live
// (its rate from the first receipt), then restarts merge-service and asks ops-api for a full-workspace replay
// at the highest rate limit allowed, and measures the rebuild: events/s from the start of building to `built`
// (diff included), the build alone, and the planning and diff times, each against the live rate of the same run.
//   npm run bench:rebuild -- [--events 50000] [--entities 5000] [--partitions 8] [--batch 256] [--devices 50] [--rate 100000]
// TIDEMARK_PROFILE_DIR=<dir> writes V8 CPU profiles there; merge-service's profile of the rebuild (the
// restarted process) is summarised at the end.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchStack, fmt, loadJournal, rawPostgresUpsert, table, rateFromFirstReceipt } from './_common.mjs';
import { summarizeProfile } from './_profile.mjs';

const WORKSPACE = 'bench';

export async function main(argv) {
  const { REPLAY_LIMITS } = await import('@tidemark/contracts');
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string', default: '50000' },
      entities: { type: 'string', default: '5000' },
      partitions: { type: 'string', default: '8' },
      batch: { type: 'string', default: '256' },
      devices: { type: 'string', default: '50' },
      rate: { type: 'string', default: String(REPLAY_LIMITS.maxEventsPerSecond) },
    },
  });
  const N = Number(values.events),
    E = Number(values.entities),
    P = Number(values.partitions),
    rateLimit = Number(values.rate);
  const { findFreePort } = await import('@tidemark/local-stack');
  const { startServiceProcess } = await import('@tidemark/testing');
  const { connectJetStream, applyTopology, journalTopology } = await import('@tidemark/messaging');
  const { TokenService } = await import('@tidemark/auth');
  const { default: pg } = await import('pg');
  const stack = await benchStack({ nats: true, postgres: true });
  const procs = [];
  const profileDir = process.env.TIDEMARK_PROFILE_DIR;
  try {
    const conn = await connectJetStream({ servers: stack.env.NATS_URL, name: 'bench-rebuild' });
    await applyTopology(conn.jsm, journalTopology({ partitions: P, duplicateWindowMs: 600_000, replicas: 1 }));
    const loadSeconds = await loadJournal(conn.js, {
      count: N,
      entities: E,
      partitions: P,
      workspaces: 1,
      devices: Number(values.devices),
      extraFields: (i) => ({ assetId: { op: 'set', value: `asset-${i}` } }),
    });
    await conn.close();

    // Live: merge-service projects the journal; its rate from the first receipt (start-up excluded).
    const env = { ...stack.env, JOURNAL_PARTITIONS: String(P), MERGE_BATCH_SIZE: values.batch, LOG_LEVEL: 'warn' };
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    let merge = await startServiceProcess('merge-service', { ...env, HTTP_PORT: String(await findFreePort()) });
    procs.push(merge);
    const { rate: live } = await rateFromFirstReceipt(db, N);
    // A fresh merge-service runs the replay, so its CPU profile is the rebuild's (live has nothing left to do).
    await merge.stop();
    const restartedAt = Date.now();
    merge = await startServiceProcess('merge-service', { ...env, HTTP_PORT: String(await findFreePort()) });
    procs.push(merge);
    const opsApi = await startServiceProcess('ops-api', { ...env, HTTP_PORT: String(await findFreePort()) });
    procs.push(opsApi);

    const { token } = await new TokenService(stack.env.AUTH_SIGNING_KEYS).issueOperator({ name: 'bench', roles: ['ops', 'admin'] }, new Date(), 3600);
    const response = await fetch(`${opsApi.url}/v1/replays`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: { workspace: WORKSPACE }, reason: 'bench: full-workspace rebuild', eventsPerSecond: rateLimit }),
    });
    const created = await response.json();
    if (response.status !== 202) throw new Error(`replay request refused: ${response.status} ${JSON.stringify(created)}`);

    // Each phase's start as the worker recorded it (phase_started_at while in that phase), polled.
    const starts = {};
    let job;
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      job = (
        await db.query('SELECT status, planned_at, phase_started_at, built_at, rebuild_events, affected_entities, done_events, resumes, diff_summary, error FROM replay_jobs WHERE id = $1', [
          created.id,
        ])
      ).rows[0];
      if (job.phase_started_at && (job.status === 'building' || job.status === 'diffing')) starts[job.status] = job.phase_started_at;
      if (job.status === 'built') break;
      if (['failed', 'cancelled', 'stale'].includes(job.status)) throw new Error(`replay ended ${job.status}: ${job.error ?? ''}\n${merge.output().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`replay not built within 30 minutes (status ${job.status}, ${job.done_events} events done)\n${merge.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await db.end();
    await merge.stop();
    await opsApi.stop();
    const raw = await rawPostgresUpsert(stack.env.DATABASE_URL);

    const events = Number(job.rebuild_events);
    const seconds = (a, b) => (b.getTime() - a.getTime()) / 1000;
    const planning = seconds(job.planned_at, starts.building);
    const building = seconds(starts.building, starts.diffing ?? job.built_at);
    const diffing = starts.diffing ? seconds(starts.diffing, job.built_at) : 0;
    const rebuild = events / seconds(starts.building, job.built_at);
    const buildOnly = events / building;
    const endToEnd = events / seconds(job.planned_at, job.built_at);
    const ratio = (rate) => `${fmt(rate / live, 2)}×`;
    const summary = job.diff_summary.entities;
    console.log(
      `\nrebuild: ${fmt(N)} events pre-loaded in ${fmt(loadSeconds, 1)} s over ${P} partitions, 1 workspace, ${values.devices} devices, ${E} entities; live batch ${values.batch}; replay of workspace ${WORKSPACE} at rate limit ${fmt(rateLimit)} events/s`,
    );
    console.log(
      `replay: ${fmt(events)} events of ${fmt(Number(job.affected_entities))} entities; planning ${fmt(planning, 2)} s, building ${fmt(building, 2)} s, diffing ${fmt(diffing, 2)} s${starts.diffing ? '' : ' (diff shorter than the poll)'}; resumes ${job.resumes}`,
    );
    console.log(
      table([
        ['figure', 'per second', 'baseline', 'baseline/s', 'ratio'],
        ['live projection from the first receipt, events', fmt(live), 'raw Postgres batched upsert, rows', fmt(raw.perSecond), `${fmt(live / raw.perSecond, 2)}×`],
        ['rebuild, building start → built (diff included), events', fmt(rebuild), 'live projection, events', fmt(live), ratio(rebuild)],
        ['  building alone', fmt(buildOnly), 'live projection, events', fmt(live), ratio(buildOnly)],
        ['  end to end (planning start → built)', fmt(endToEnd), 'live projection, events', fmt(live), ratio(endToEnd)],
      ]),
    );
    const equal = summary.changed === 0 && summary.added === 0 && summary.removed === 0;
    console.log(
      `rebuild = live: ${equal ? 'yes' : 'NO'} (${fmt(summary.affected)} entities: ${summary.unchanged} unchanged, ${summary.changed} changed, ${summary.added} added, ${summary.removed} removed)`,
    );
    if (!equal) process.exitCode = 1;
    if (profileDir) {
      const files = readdirSync(profileDir)
        .filter((f) => f.startsWith('merge-service-') && f.endsWith('.cpuprofile'))
        .map((f) => join(profileDir, f))
        .filter((f) => statSync(f).mtimeMs >= restartedAt)
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
      if (files[0]) {
        const p = summarizeProfile(files[0]);
        console.log(`\nmerge-service CPU during the rebuild (${files[0]}): ${fmt(p.busyMs / 1000, 1)} s busy of ${fmt(p.wallMs / 1000, 1)} s (idle ${fmt(p.idleShare * 100)}%, start-up included)`);
        console.log(table([['self time by place', 'ms', 'share'], ...p.places.map((r) => [r.name, fmt(r.ms), `${fmt(r.share * 100, 1)}%`])]));
        console.log(table([['self time by function', 'ms', 'share'], ...p.functions.map((r) => [r.name, fmt(r.ms), `${fmt(r.share * 100, 1)}%`])]));
      }
    }
  } finally {
    for (const p of procs) await p.kill();
    await stack.stop();
  }
}
