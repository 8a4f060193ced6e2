import { createHash } from 'node:crypto';
import { parseJournalSubject, partitionToken, type JournalRecord } from '@tidemark/contracts';
import { mergeWithRevision, type PolicyRevision } from '@tidemark/merge';
import { mergeConsumerName, type JsMsg } from '@tidemark/messaging';
import { ReplayJobRepository, ReplayRebuildRepository, ReplayWorkerLock, inTransaction, type DataSource, type SqlRunner } from '@tidemark/persistence';
import {
  ACTIVE_REPLAY_STATUSES,
  ENDED_REPLAY_STATUSES,
  addToSummary,
  batchSizeFor,
  classifyEntry,
  diffDigestLine,
  diffEntity,
  emptyDiffSummary,
  entityKey,
  estimateReplay,
  journalFilter,
  lastBound,
  planScan,
  scopeReadsRecord,
  shadowSchemaName,
  throttleDelay,
  type DiffSummary,
  type EntitySide,
  type JournalEntryMeta,
  type ReplayBounds,
  type ReplayCommand,
  type ReplayJob,
  type ReplayPlanInput,
  type UsedRevisions,
} from '@tidemark/replay';
import type { Logger } from '@tidemark/telemetry';
import type { MergeFn, Projector } from '../projection/projector';
import type { SchemaRegistryCache } from '../projection/schema-registry-cache';
import type { JournalReader } from './journal-reader';
import type { PolicyRevisionCache } from '../projection/policy-revisions';
import { CommitLanes } from './commit-lanes';
import { readAhead } from './read-ahead';

/** The consumer name the shadow's checkpoint is kept under. */
export const SHADOW_CONSUMER = 'replay';
/** The shadow checkpoint of one partition's rebuild (`replay-p03`). */
export const shadowConsumer = (partition: string): string => `${SHADOW_CONSUMER}-${partition}`;
/** Journal messages per read, planning and building; reads run up to READ_AHEAD ahead of their use. */
const READ_CHUNK = 1000;
const READ_AHEAD = 4;
/** Journal entries a plan scans between two records of what it found (and of where it is). */
const PLAN_RECORD = 10_000;
/** Shadow batches (each of its own partition) committing at once during a build. */
const BUILD_CONCURRENCY = 4;
/** The least time between two progress records of a build (each also notices a cancel). */
const PROGRESS_MS = 250;
const DIFF_CHUNK = 1000;
/** Pages of a diff loaded ahead of their comparison. */
const DIFF_AHEAD = 2;
const MAX_FAILURES = 5;

export interface ReplayWorkerOptions {
  ds: DataSource;
  /** For the worker's own session, which holds the advisory lock that makes it the only one running. */
  databaseUrl: string;
  /** The longest wait for the worker's own Postgres session (`DATABASE_CONNECT_TIMEOUT_MS`). */
  connectTimeoutMs?: number;
  reader: JournalReader;
  schemas: SchemaRegistryCache;
  policies: PolicyRevisionCache;
  logger: Logger;
  /** The live projection's durable consumer prefix and partition count (its checkpoints bound a replay). */
  livePrefix: string;
  partitions: number;
  /** A projector like the live one, writing into `searchPath` with `merge`. */
  shadowProjector: (options: { searchPath: string; merge: MergeFn }) => Projector;
  pollMs?: number;
}

/** Thrown inside a phase when the job was cancelled or the service is stopping: stop, resume later. */
class Interrupted extends Error {}

/**
 * Runs replay jobs inside merge-service, one at a time across every replica (a session advisory lock,
 * released when the holder dies, so another replica resumes). Each phase persists its progress with its
 * effect: planning records the entities found and the last sequence scanned in one transaction; building
 * is the live projector writing into the shadow, whose own checkpoint is the exact resume point; diffing
 * is recomputed from the start. A restart resumes the job where it stopped. A plan-only job ends when its
 * plan is complete, in the same guarded update that records the plan: it never has a shadow.
 */
export class ReplayWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly failures = new Map<string, number>();
  private readonly jobs: ReplayJobRepository;
  private readonly rebuild: ReplayRebuildRepository;
  private readonly lock: ReplayWorkerLock;

  constructor(private readonly o: ReplayWorkerOptions) {
    this.jobs = new ReplayJobRepository(o.ds);
    this.rebuild = new ReplayRebuildRepository(o.ds);
    this.lock = new ReplayWorkerLock({ databaseUrl: o.databaseUrl, connectTimeoutMs: o.connectTimeoutMs, onLost: (error) => o.logger.warn({ err: error }, 'replay worker session lost') });
  }

  start(): void {
    const tick = () => {
      if (this.stopping || this.running) return;
      this.running = this.tick()
        .catch((error: unknown) => this.o.logger.warn({ err: error }, 'replay worker tick failed; retrying'))
        .finally(() => (this.running = undefined));
    };
    this.timer = setInterval(tick, this.o.pollMs ?? 1000);
    this.timer.unref();
    tick();
  }

  /** Stops after the batch in hand (a job in progress resumes at the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.wake?.();
    await this.running;
    await this.lock.release();
  }

  private async tick(): Promise<void> {
    if (!(await this.lock.acquire())) return;
    await this.sweep();
    const job = await this.jobs.oldestIn(ACTIVE_REPLAY_STATUSES);
    if (!job) return;
    try {
      await this.run(job);
      this.failures.delete(job.id);
    } catch (error) {
      if (error instanceof Interrupted || this.stopping) return;
      const failures = (this.failures.get(job.id) ?? 0) + 1;
      this.failures.set(job.id, failures);
      this.o.logger.error({ err: error, replayId: job.id, status: job.status, failures }, 'replay step failed');
      if (failures >= MAX_FAILURES) {
        await this.jobs.transition(this.o.ds, job.id, { kind: 'fail', at: new Date(), error: (error as Error).message });
        this.failures.delete(job.id);
      }
    }
  }

  /** Drops the shadows of jobs that ended (swapped jobs drop theirs in the swap). */
  private async sweep(): Promise<void> {
    for (const id of await this.jobs.withShadowIn(ENDED_REPLAY_STATUSES)) {
      await this.rebuild.dropShadow(shadowSchemaName(id));
      await this.jobs.markShadowDropped(id);
    }
  }

  private async run(start: ReplayJob): Promise<void> {
    let job: ReplayJob | undefined = start;
    if (job.status === 'queued') job = await this.startPlanning(job);
    if (job?.status === 'planning') job = await this.plan(job);
    if (job?.status === 'building') job = await this.build(job);
    if (job?.status === 'diffing') await this.diff(job);
  }

  /** Moves a job on (only from the status it was seen in: a cancel in between wins, undefined). */
  private advance(q: SqlRunner, job: ReplayJob, command: ReplayCommand): Promise<ReplayJob | undefined> {
    return this.jobs.advance(q, job, command);
  }

  /** Takes the live checkpoints as the replay's bounds and the range to scan. */
  private async startPlanning(job: ReplayJob): Promise<ReplayJob | undefined> {
    const names = Array.from({ length: this.o.partitions }, (_, p) => mergeConsumerName(p, this.o.livePrefix));
    const seqs = await this.rebuild.liveCheckpoints(names);
    const bounds: Record<string, number> = {};
    for (let p = 0; p < this.o.partitions; p++) bounds[partitionToken(p)] = seqs.get(names[p]!) ?? 0;
    for (const [type, revision] of Object.entries(job.policyRevisions)) await this.o.policies.definition(type, revision);
    const scan = planScan({ scope: job.scope, revisedTypes: Object.keys(job.policyRevisions), bounds });
    this.o.logger.info({ replayId: job.id, bounds, scan }, 'replay planning');
    return this.advance(this.o.ds, job, { kind: 'start-planning', at: new Date(), bounds, livePrefix: this.o.livePrefix, partitions: this.o.partitions, fromSeq: scan.fromSeq, toSeq: scan.toSeq });
  }

  /**
   * Scans the journal for the entities the scope touches (and every entity of a revised type), reading
   * ahead, and records what it found with the last sequence scanned every {@link PLAN_RECORD} entries (and at
   * the end), in one transaction: a restart scans on from there.
   */
  private async plan(job: ReplayJob): Promise<ReplayJob | undefined> {
    const input: ReplayPlanInput = { scope: job.scope, revisedTypes: Object.keys(job.policyRevisions), bounds: job.bounds! };
    const scan = planScan(input);
    const readsRecord = scopeReadsRecord(input.scope);
    let found = new Map<string, { meta: JournalEntryMeta; selected: number }>();
    let scanned = 0;
    let selected = 0;
    let lastSeq = 0;
    const record = async () => {
      if (scanned === 0) return;
      const entries = [...found.values()];
      await inTransaction(this.o.ds, async (q) => {
        await this.rebuild.recordFound(
          q,
          job.id,
          entries.map((e) => ({ workspace: e.meta.workspace, type: e.meta.type, id: e.meta.id, partition: e.meta.partition, selected: e.selected })),
        );
        const moved = await this.advance(q, job, { kind: 'record-plan', at: new Date(), lastSeq, scanned, selected });
        if (!moved) throw new Interrupted();
      });
      found = new Map();
      scanned = 0;
      selected = 0;
    };
    for await (const chunk of readAhead(this.o.reader.read(scan.filter, job.planSeq + 1, job.planTo ?? 0, READ_CHUNK), READ_AHEAD)) {
      if (this.stopping) throw new Interrupted();
      for (const msg of chunk) {
        const meta = metaOf(msg, readsRecord);
        if (!meta) continue;
        const role = classifyEntry(input, meta);
        if (role !== 'selected' && role !== 'revised') continue;
        const k = entityKey(meta);
        const entry = found.get(k) ?? { meta, selected: 0 };
        if (role === 'selected') {
          entry.selected += 1;
          selected += 1;
        }
        found.set(k, entry);
      }
      scanned += chunk.length;
      lastSeq = chunk.at(-1)!.seq;
      if (scanned >= PLAN_RECORD) await record();
    }
    await record();
    return this.finishPlanning(job);
  }

  /**
   * Counts and estimates, pins the revisions to merge with, creates the shadow. A plan-only job ends here
   * instead (`cancelled`, finished, no error), in one update from `planning` so an operator's cancel in
   * between still wins, and without a shadow: nothing of it is ever built.
   */
  private async finishPlanning(job: ReplayJob): Promise<ReplayJob | undefined> {
    const keys = await this.rebuild.entities(job.id);
    const counts = keys.length > 0 ? await this.o.reader.subjectCounts(await this.rebuildFilter(job.id)) : {};
    const rebuildEvents = keys.reduce((sum, k) => sum + (counts[`tm.journal.${k.workspace}.${k.partition}.${k.type}.${k.id}`] ?? 0), 0);
    await this.o.policies.ensureCurrent();
    const revisions: UsedRevisions = {};
    for (const k of keys) {
      const pair = `${k.workspace}/${k.type}`;
      if (revisions[pair]) continue;
      const live = this.o.policies.activeRevision(k.workspace, k.type);
      const named = k.workspace === job.scope.workspace ? job.policyRevisions[k.type] : undefined;
      revisions[pair] = { revision: named ?? live, live };
    }
    // A named revision of a type without entities yet is still activated by the swap.
    for (const [type, revision] of Object.entries(job.policyRevisions)) {
      const pair = `${job.scope.workspace}/${type}`;
      revisions[pair] ??= { revision, live: this.o.policies.activeRevision(job.scope.workspace!, type) };
    }
    // What finished replays measured, end to end (planning started → built), most recent first.
    const estimate = estimateReplay({ events: rebuildEvents, rateLimit: job.eventsPerSecond, workspace: job.scope.workspace, history: await this.jobs.measuredRuns() });
    const planned: ReplayCommand = { kind: 'finish-planning', at: new Date(), affectedEntities: keys.length, rebuildEvents, estimate, revisions };
    if (job.planOnly) {
      this.o.logger.info({ replayId: job.id, entities: keys.length, rebuildEvents, estimate }, 'replay planned; plan only, so it ends without building');
      return this.advance(this.o.ds, job, planned);
    }
    await this.rebuild.createShadow(shadowSchemaName(job.id));
    this.o.logger.info({ replayId: job.id, entities: keys.length, rebuildEvents, estimate }, 'replay planned');
    return this.advance(this.o.ds, job, planned);
  }

  /** The narrowest journal filter over the replay's entities. */
  private async rebuildFilter(id: string): Promise<string> {
    return journalFilter(await this.rebuild.subjectTokens(id));
  }

  /**
   * Rebuilds every affected entity from its full journal history into the shadow, rate-limited. The journal
   * is read ahead of the writes; each partition is rebuilt in journal order under its own shadow checkpoint
   * (an entity lives in one partition, as live), up to {@link BUILD_CONCURRENCY} batches of different
   * partitions committing at once, as live commits its partitions. A restart resumes every partition after
   * its own checkpoint. The rate limit holds back the batches handed to the projector.
   */
  private async build(job: ReplayJob): Promise<ReplayJob | undefined> {
    const shadow = shadowSchemaName(job.id);
    if (!(await this.rebuild.shadowExists(shadow))) await this.rebuild.createShadow(shadow);
    const bounds: ReplayBounds = job.bounds!;
    const entities = await this.rebuild.entities(job.id);
    const keys = new Set(entities.map((r) => entityKey(r)));
    const partitions = [...new Set(entities.map((r) => r.partition))].sort();
    // A shadow begun before partitions had their own checkpoints has one for all of them.
    const stored = await this.rebuild.shadowCheckpoints(shadow, [SHADOW_CONSUMER, ...partitions.map(shadowConsumer)]);
    const checkpoints = new Map(partitions.map((p) => [p, Math.max(stored.get(SHADOW_CONSUMER) ?? 0, stored.get(shadowConsumer(p)) ?? 0)]));
    const checkpoint = Math.max(0, ...checkpoints.values());
    let done = 0;
    if (checkpoint > 0) {
      done = await this.rebuild.shadowMessages(shadow);
      this.o.logger.info({ replayId: job.id, checkpoints: Object.fromEntries(checkpoints), done }, 'replay resumes building after the shadow checkpoints');
    }
    const resumed = await this.advance(this.o.ds, job, { kind: 'resume-build', at: new Date(), done, buildSeq: checkpoint, resumed: checkpoint > 0 });
    if (!resumed) return undefined;

    const definitions = new Map<string, PolicyRevision | undefined>();
    for (const [pair, used] of Object.entries(job.revisions ?? {})) definitions.set(pair, await this.o.policies.definition(pair.slice(pair.indexOf('/') + 1), used.revision));
    const merge: MergeFn = (state, input) => {
      const pair = `${input.workspace}/${input.event.entity.type}`;
      // Pinned when the replay was planned (every workspace/type of its entities): never the live, moving ones.
      if (!definitions.has(pair)) throw new Error(`replay ${job.id} has no policy revision pinned for ${pair}`);
      return mergeWithRevision(state, input, this.o.schemas.current(), definitions.get(pair));
    };
    const projector = this.o.shadowProjector({ searchPath: shadow, merge });
    const rate = job.eventsPerSecond;
    const batchSize = batchSizeFor(rate);
    const commits = new CommitLanes(BUILD_CONCURRENCY);
    const session = { startedAtMs: Date.now(), handed: 0, done: 0, lastSeq: checkpoint };
    let recording: Promise<void> | undefined;
    let recordedAt = session.startedAtMs;
    /** Records progress (at most every PROGRESS_MS, one write at a time); a cancel in between stops the build. */
    const record = () => {
      if (recording || Date.now() - recordedAt < PROGRESS_MS) return;
      recordedAt = Date.now();
      const capacity = commits.busyMs() > 0 ? session.done / (commits.busyMs() / 1000) : null;
      recording = this.advance(this.o.ds, job, { kind: 'record-build', at: new Date(), done, buildSeq: session.lastSeq, capacity })
        .then((moved) => void (moved || commits.halt(new Interrupted())))
        .catch((error: unknown) => commits.halt(error))
        .finally(() => (recording = undefined));
    };
    const pending = new Map<string, JsMsg[]>();
    const hand = async (partition: string, batch: JsMsg[]) => {
      await this.pause(throttleDelay({ doneSinceStart: session.handed, startedAtMs: session.startedAtMs, nowMs: Date.now(), eventsPerSecond: rate }));
      if (this.stopping) commits.halt(new Interrupted());
      session.handed += batch.length;
      await commits.add(partition, async () => {
        await projector.commit(shadowConsumer(partition), batch);
        session.done += batch.length;
        done += batch.length;
        session.lastSeq = Math.max(session.lastSeq, batch.at(-1)!.seq);
        record();
      });
    };
    try {
      // Nothing to rebuild (a revision of a type without entities yet): read nothing.
      const from = partitions.length > 0 ? Math.min(...checkpoints.values()) + 1 : 1;
      const to = keys.size > 0 ? lastBound(bounds) : 0;
      for await (const chunk of readAhead(this.o.reader.read(await this.rebuildFilter(job.id), from, to, READ_CHUNK), READ_AHEAD)) {
        if (this.stopping) commits.halt(new Interrupted());
        commits.check();
        for (const msg of chunk) {
          const where = parseJournalSubject(msg.subject);
          if (!where || msg.seq > (bounds[where.partition] ?? 0) || msg.seq <= (checkpoints.get(where.partition) ?? 0)) continue;
          if (!keys.has(entityKey({ workspace: where.workspace, type: where.entity.type, id: where.entity.id }))) continue;
          const batch = pending.get(where.partition) ?? [];
          pending.set(where.partition, batch);
          batch.push(msg);
          if (batch.length >= batchSize) {
            pending.delete(where.partition);
            await hand(where.partition, batch);
          }
        }
      }
      for (const [partition, batch] of pending) await hand(partition, batch);
    } catch (error) {
      commits.halt(error);
    }
    await commits.settled();
    await recording;
    commits.check();
    const capacity = commits.busyMs() > 0 ? session.done / (commits.busyMs() / 1000) : null;
    this.o.logger.info({ replayId: job.id, done }, 'replay shadow built');
    return this.advance(this.o.ds, job, { kind: 'finish-build', at: new Date(), done, buildSeq: session.lastSeq, capacity });
  }

  /**
   * Compares every affected entity, live against shadow, and records each diff, the summary and the digest.
   * Pages of entities are loaded ahead of their comparison (one page at a time, in entity order, which is
   * the order they are digested in).
   */
  private async diff(job: ReplayJob): Promise<void> {
    const shadow = shadowSchemaName(job.id);
    const hash = createHash('sha256');
    let summary: DiffSummary = emptyDiffSummary();
    for await (const page of readAhead(this.diffPages(job.id, shadow), DIFF_AHEAD)) {
      if (this.stopping) throw new Interrupted();
      const updates: { workspace: string; type: string; id: string; change: string; diff: unknown }[] = [];
      for (const k of page.keys) {
        const d = diffEntity(page.live.get(entityKey(k)), page.shadow.get(entityKey(k)));
        hash.update(diffDigestLine(k, d));
        summary = addToSummary(summary, k.type, d);
        updates.push({ workspace: k.workspace, type: k.type, id: k.id, change: d.change, diff: d });
      }
      await this.rebuild.recordDiffs(job.id, updates);
    }
    const digest = hash.digest('hex');
    await this.advance(this.o.ds, job, { kind: 'finish-diff', at: new Date(), summary, digest });
    this.o.logger.info({ replayId: job.id, digest, entities: summary.entities }, 'replay diff ready; waiting for an operator to swap');
  }

  /** The replay's entities in entity order, a page at a time, with their shadow and live sides. */
  private async *diffPages(id: string, shadow: string): AsyncGenerator<{ keys: { workspace: string; type: string; id: string }[]; shadow: Map<string, EntitySide>; live: Map<string, EntitySide> }> {
    let after: [string, string, string] | undefined;
    for (;;) {
      if (this.stopping) return;
      const keys = await this.rebuild.entityPage(id, after, DIFF_CHUNK);
      if (keys.length === 0) return;
      const shadowSides = await this.rebuild.sides(shadow, keys);
      const eventIds = [...shadowSides.values()].flatMap((s) => s.receipts.map((r) => r.eventId));
      const liveSides = await this.rebuild.sides('public', keys, eventIds);
      yield { keys, shadow: shadowSides, live: liveSides };
      const last = keys.at(-1)!;
      after = [last.workspace, last.type, last.id];
    }
  }

  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * What the planner needs of a journal message; undefined for a subject outside the journal. The record is
 * parsed only when the scope selects by it (`readsRecord`): otherwise subject and sequence are all it reads.
 */
function metaOf(msg: JsMsg, readsRecord: boolean): JournalEntryMeta | undefined {
  const where = parseJournalSubject(msg.subject);
  if (!where) return undefined;
  let record: Partial<JournalRecord> | undefined;
  try {
    record = readsRecord ? msg.json<JournalRecord>() : undefined;
  } catch {
    record = undefined;
  }
  return {
    seq: msg.seq,
    workspace: where.workspace,
    partition: where.partition,
    type: where.entity.type,
    id: where.entity.id,
    deviceId: record?.event?.deviceId ?? '',
    site: record?.site ?? null,
    acceptedAt: record?.acceptedAt ?? '',
  };
}
