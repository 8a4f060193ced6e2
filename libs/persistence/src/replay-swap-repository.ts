import { quoteIdent } from './sql';
import type { ReplaySwapSummary } from '@tidemark/contracts';
import { schemaVersionHeaders } from '@tidemark/contracts';
import { shadowSchemaName, type ReplayJob } from '@tidemark/replay';
import type { DataSource, QueryRunner } from 'typeorm';

// The messages a swap publishes (built in SQL below) follow the published schemas ReplayedChange, ConflictOpened and
// ConflictWithdrawn (@tidemark/contracts); the replay end-to-end test validates them. Their headers name the version.
const MERGED_HEADERS = JSON.stringify(schemaVersionHeaders('mergedChange'));
const OPENED_HEADERS = JSON.stringify(schemaVersionHeaders('conflictOpened'));
const WITHDRAWN_HEADERS = JSON.stringify(schemaVersionHeaders('conflictWithdrawn'));

/** Why live no longer matches what a replay's shadow was built against. */
export interface LiveChange {
  workspace: string;
  entityType: string;
  entityId: string | null;
  why: string;
}

const ident = quoteIdent;
/** The most live changes a refused swap names (their total is counted). */
const REPORTED_CHANGES = 20;

/**
 * What changed live for a replay's entities since its shadow was built. Nothing but the projector and a
 * swap writes entity rows, so three checks cover it: a receipt beyond the replay's bound on its entity's
 * partition (the projector applied a newer event, or re-drove one) or of a new entity of a revised type;
 * a policy activation that moved for one of its workspace/type pairs; another replay swapped over one of
 * its entities after it was planned. The receipts check reads receipts by entity (an index); it runs once
 * before the swap's locks and once under them.
 */
async function liveChanges(q: DataSource | QueryRunner, job: ReplayJob): Promise<{ changes: LiveChange[]; count: number }> {
  const revisedTypes = Object.keys(job.policyRevisions);
  // Two index reads (receipts by entity): the replay's own entities past their partition's bound, and
  // entities of a revised type the replay does not hold (new since it was planned).
  const receipts: { workspace: string; entity_type: string; entity_id: string; stream_seq: string; n: string }[] = await q.query(
    `SELECT x.*, count(*) OVER () AS n FROM (
       SELECT r.workspace, r.entity_type, r.entity_id, r.stream_seq
         FROM replay_entities e
         JOIN event_receipts r ON r.workspace = e.workspace AND r.entity_type = e.entity_type AND r.entity_id = e.entity_id
        WHERE e.replay_id = $1 AND r.stream_seq > coalesce(($2::jsonb ->> e.partition)::bigint, 0)
       UNION ALL
       SELECT r.workspace, r.entity_type, r.entity_id, r.stream_seq
         FROM event_receipts r
        WHERE r.workspace = $3 AND r.entity_type = ANY($4::text[])
          AND NOT EXISTS (SELECT 1 FROM replay_entities e WHERE e.replay_id = $1 AND e.workspace = r.workspace AND e.entity_type = r.entity_type AND e.entity_id = r.entity_id)
     ) x ORDER BY x.stream_seq LIMIT $5`,
    [job.id, JSON.stringify(job.bounds ?? {}), job.scope.workspace ?? null, revisedTypes, REPORTED_CHANGES],
  );
  const changes: LiveChange[] = receipts.map((r) => ({
    workspace: r.workspace,
    entityType: r.entity_type,
    entityId: r.entity_id,
    why: `journal event at seq ${r.stream_seq} was applied live after the replay was planned`,
  }));
  let count = Number(receipts[0]?.n ?? 0);
  // An operator's skip leaves the receipt's sequence alone; the parked entry records the marker's.
  const skipped: { workspace: string; entity_type: string; entity_id: string; resolved_seq: string; n: string }[] = await q.query(
    `SELECT e.workspace, e.entity_type, e.entity_id, p.resolved_seq, count(*) OVER () AS n
       FROM parked_events p
       JOIN event_receipts r ON r.event_id = p.event_id AND r.workspace = p.workspace
       JOIN replay_entities e ON e.replay_id = $1 AND e.workspace = r.workspace AND e.entity_type = r.entity_type AND e.entity_id = r.entity_id
      WHERE p.resolved_seq > coalesce(($2::jsonb ->> e.partition)::bigint, 0) LIMIT $3`,
    [job.id, JSON.stringify(job.bounds ?? {}), REPORTED_CHANGES],
  );
  for (const p of skipped)
    changes.push({ workspace: p.workspace, entityType: p.entity_type, entityId: p.entity_id, why: `a parked event was resolved live at seq ${p.resolved_seq}, after the replay was planned` });
  count += Number(skipped[0]?.n ?? 0);
  const pairs = Object.entries(job.revisions ?? {});
  if (pairs.length > 0) {
    const active: { workspace: string; type: string; revision: number }[] = await q.query(
      `SELECT DISTINCT ON (workspace, type) workspace, type, revision FROM policy_activations
        WHERE workspace || '/' || type = ANY($1::text[]) ORDER BY workspace, type, id DESC`,
      [pairs.map(([pair]) => pair)],
    );
    const now = new Map(active.map((a) => [`${a.workspace}/${a.type}`, a.revision]));
    for (const [pair, used] of pairs) {
      const current = now.get(pair) ?? 1;
      if (current === used.live) continue;
      const [workspace, entityType] = [pair.slice(0, pair.indexOf('/')), pair.slice(pair.indexOf('/') + 1)];
      changes.push({ workspace, entityType, entityId: null, why: `policy revision ${current} was activated after the replay was planned (it planned with ${used.live})` });
      count += 1;
    }
  }
  const overlaps: { workspace: string; entity_type: string; entity_id: string; other: string; n: string }[] = await q.query(
    `SELECT me.workspace, me.entity_type, me.entity_id, o.id AS other, count(*) OVER () AS n
       FROM replay_entities me
       JOIN replay_entities oe ON oe.replay_id <> me.replay_id AND oe.workspace = me.workspace AND oe.entity_type = me.entity_type AND oe.entity_id = me.entity_id
       JOIN replay_jobs o ON o.id = oe.replay_id AND o.status = 'swapped' AND o.finished_at > $2
      WHERE me.replay_id = $1 LIMIT $3`,
    [job.id, job.plannedAt, REPORTED_CHANGES],
  );
  for (const o of overlaps)
    changes.push({ workspace: o.workspace, entityType: o.entity_type, entityId: o.entity_id, why: `replay ${o.other} was swapped over this entity after this one was planned` });
  count += Number(overlaps[0]?.n ?? 0);
  return { changes: changes.slice(0, REPORTED_CHANGES), count };
}

/** The columns a live table and its shadow copy share, in the live table's order. */
async function sharedColumns(q: QueryRunner, shadow: string, table: string): Promise<string> {
  const rows: { column_name: string }[] = await q.query(
    `SELECT l.column_name FROM information_schema.columns l
       JOIN information_schema.columns s ON s.table_schema = $1 AND s.table_name = l.table_name AND s.column_name = l.column_name
      WHERE l.table_schema = 'public' AND l.table_name = $2 ORDER BY l.ordinal_position`,
    [shadow, table],
  );
  return rows.map((r) => ident(r.column_name)).join(', ');
}

async function tableIn(q: QueryRunner, schema: string, table: string): Promise<boolean> {
  const rows: unknown[] = await q.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [schema, table]);
  return rows.length > 0;
}

/** Joins a live table `l` to the replay's entities `e` (the replay id is $1). */
const OF_REPLAY = 'e.replay_id = $1::uuid AND l.workspace = e.workspace AND l.entity_type = e.entity_type AND l.entity_id = e.entity_id';

/** Replaces the live rows of the replay's entities by the shadow's; returns what it did. */
async function replace(q: QueryRunner, job: ReplayJob): Promise<ReplaySwapSummary> {
  const shadow = ident(shadowSchemaName(job.id));
  const id = job.id;
  const deviceId = `replay:${id}`;
  const counts: { change: string; n: string }[] = await q.query('SELECT change, count(*) AS n FROM replay_entities WHERE replay_id = $1 GROUP BY change', [id]);
  const byChange = Object.fromEntries(counts.map((c) => [c.change, Number(c.n)]));

  // Change-log cursors become visible in order within a workspace: the projector's lock, sorted.
  const workspaces: { workspace: string }[] = await q.query('SELECT DISTINCT workspace FROM replay_entities WHERE replay_id = $1 ORDER BY workspace', [id]);
  for (const { workspace } of workspaces) await q.query("SELECT pg_advisory_xact_lock(hashtext('tidemark.change_log'), hashtext($1))", [workspace]);

  // Entities the rebuild no longer has (every event of them is now refused): a tombstone change first, from the live row.
  const removedView = JSON.stringify({ version: 0, deleted: true, values: {}, inConflict: [] });
  const removedChanges: unknown[] = await q.query(
    `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, event_id, device_id, stream_seq)
     SELECT l.workspace, l.entity_type, l.entity_id, 0, true, $2::jsonb, l.scope_key, l.last_event_id, $3, l.last_stream_seq
       FROM entities l JOIN replay_entities e ON ${OF_REPLAY} AND e.change = 'removed'
      ORDER BY l.workspace, l.entity_type, l.entity_id RETURNING cursor`,
    [id, removedView, deviceId],
  );
  await q.query(
    `INSERT INTO outbox (subject, payload, msg_id, headers)
     SELECT 'tm.merged.' || l.workspace || '.' || l.entity_type || '.' || l.entity_id,
            jsonb_build_object('workspace', l.workspace, 'entity', jsonb_build_object('type', l.entity_type, 'id', l.entity_id), 'version', 0, 'deleted', true,
                               'view', $2::jsonb, 'eventId', l.last_event_id, 'deviceId', $3::text, 'streamSeq', l.last_stream_seq, 'outcome', 'replayed', 'replayId', $1::text, 'decisions', '[]'::jsonb),
            'replayed-' || $1::text || '-' || l.workspace || '-' || l.entity_type || '-' || l.entity_id, $4::jsonb
       FROM entities l JOIN replay_entities e ON ${OF_REPLAY} AND e.change = 'removed'`,
    [id, removedView, deviceId, MERGED_HEADERS],
  );

  // Conflicts the rebuild withdraws (open live, not open in the rebuild): REVIEW, before the live rows go.
  const withdrawn: unknown[] = await q.query(
    `INSERT INTO outbox (subject, payload, msg_id, headers)
     SELECT 'tm.review.' || e.workspace || '.resolved.' || e.entity_type || '.' || e.entity_id,
            jsonb_build_object('kind', 'conflict.withdrawn', 'conflictId', c->>'id', 'workspace', e.workspace,
                               'entity', jsonb_build_object('type', e.entity_type, 'id', e.entity_id), 'replayId', $1::text),
            'replay-' || $1::text || '-conflict-withdrawn-' || (c->>'id'), $2::jsonb
       FROM replay_entities e CROSS JOIN LATERAL jsonb_array_elements(e.diff->'conflicts'->'closed') AS c
      WHERE e.replay_id = $1::uuid RETURNING id`,
    [id, WITHDRAWN_HEADERS],
  );

  // What devices pull and integrators receive: one change per entity whose view changed
  // (written before the live entities are replaced, so a change that moves a record names the key it left).
  const changed: unknown[] = await q.query(
    `INSERT INTO change_log (workspace, entity_type, entity_id, version, deleted, view, scope_key, moved_from_key, event_id, device_id, stream_seq)
     SELECT x.workspace, x.entity_type, x.entity_id, x.version, x.deleted, x.view, x.scope_key,
            CASE WHEN l.scope_key IS DISTINCT FROM x.scope_key THEN l.scope_key END, x.last_event_id, $2, x.last_stream_seq
       FROM ${shadow}.entities x JOIN replay_entities e ON e.replay_id = $1::uuid AND x.workspace = e.workspace AND x.entity_type = e.entity_type AND x.entity_id = e.entity_id
       LEFT JOIN entities l ON l.workspace = x.workspace AND l.entity_type = x.entity_type AND l.entity_id = x.entity_id
      WHERE (e.diff->>'viewChanged')::boolean
      ORDER BY x.workspace, x.entity_type, x.entity_id RETURNING cursor`,
    [id, deviceId],
  );
  for (const table of ['entities', 'merge_decisions', 'conflicts']) {
    await q.query(`DELETE FROM ${table} l USING replay_entities e WHERE ${OF_REPLAY}`, [id]);
    const columns = await sharedColumns(q, shadowSchemaName(id), table);
    await q.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${shadow}.${table}`);
  }
  await q.query(`DELETE FROM event_receipts l USING ${shadow}.event_receipts x WHERE l.event_id = x.event_id AND l.workspace = x.workspace`);
  const receiptColumns = await sharedColumns(q, shadowSchemaName(id), 'event_receipts');
  await q.query(`INSERT INTO event_receipts (${receiptColumns}) SELECT ${receiptColumns} FROM ${shadow}.event_receipts`);
  // Repairs: an operator may have acted on one (its status); a repair the rebuild still has keeps it.
  await q.query(`DELETE FROM repairs l USING replay_entities e WHERE ${OF_REPLAY} AND NOT EXISTS (SELECT 1 FROM ${shadow}.repairs x WHERE x.repair_id = l.repair_id AND x.workspace = l.workspace)`, [
    id,
  ]);
  await q.query(
    `INSERT INTO repairs (repair_id, workspace, entity_type, entity_id, code, reason, detail, event_id, stream_seq)
     SELECT repair_id, workspace, entity_type, entity_id, code, reason, detail, event_id, stream_seq FROM ${shadow}.repairs
     ON CONFLICT (repair_id, workspace) DO UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason, detail = EXCLUDED.detail, event_id = EXCLUDED.event_id, stream_seq = EXCLUDED.stream_seq`,
  );
  if ((await tableIn(q, 'public', 'entity_assets')) && (await tableIn(q, shadowSchemaName(id), 'entity_assets'))) {
    await q.query(`DELETE FROM entity_assets l USING replay_entities e WHERE ${OF_REPLAY}`, [id]);
    const columns = await sharedColumns(q, shadowSchemaName(id), 'entity_assets');
    await q.query(`INSERT INTO entity_assets (${columns}) SELECT ${columns} FROM ${shadow}.entity_assets`);
  }

  await q.query(
    `INSERT INTO outbox (subject, payload, msg_id, headers)
     SELECT 'tm.merged.' || x.workspace || '.' || x.entity_type || '.' || x.entity_id,
            jsonb_build_object('workspace', x.workspace, 'entity', jsonb_build_object('type', x.entity_type, 'id', x.entity_id), 'version', x.version, 'deleted', x.deleted,
                               'view', x.view, 'eventId', x.last_event_id, 'deviceId', $2::text, 'streamSeq', x.last_stream_seq, 'outcome', 'replayed', 'replayId', $1::text, 'decisions', '[]'::jsonb),
            'replayed-' || $1::text || '-' || x.workspace || '-' || x.entity_type || '-' || x.entity_id, $3::jsonb
       FROM ${shadow}.entities x JOIN replay_entities e ON e.replay_id = $1::uuid AND x.workspace = e.workspace AND x.entity_type = e.entity_type AND x.entity_id = e.entity_id
      WHERE (e.diff->>'viewChanged')::boolean`,
    [id, deviceId, MERGED_HEADERS],
  );
  const opened: unknown[] = await q.query(
    `INSERT INTO outbox (subject, payload, msg_id, headers)
     SELECT 'tm.review.' || x.workspace || '.opened.' || x.entity_type || '.' || x.entity_id,
            jsonb_build_object('kind', 'conflict.opened', 'replayId', $1::text,
                               'conflict', x.detail || jsonb_build_object('id', x.conflict_id, 'kind', x.kind, 'rule', x.rule, 'field', x.field)),
            'replay-' || $1::text || '-conflict-opened-' || x.conflict_id, $2::jsonb
       FROM replay_entities e CROSS JOIN LATERAL jsonb_array_elements(e.diff->'conflicts'->'opened') AS o
       JOIN ${shadow}.conflicts x ON x.conflict_id = o->>'id' AND x.workspace = e.workspace
      WHERE e.replay_id = $1::uuid RETURNING id`,
    [id, OPENED_HEADERS],
  );

  // The named revisions are in force from this commit on.
  const activated: string[] = [];
  for (const [type, revision] of Object.entries(job.policyRevisions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await q.query('INSERT INTO policy_activations (workspace, type, revision, replay_id) VALUES ($1, $2, $3, $4)', [job.scope.workspace, type, revision, id]);
    activated.push(`${job.scope.workspace}/${type}@${revision}`);
  }
  return {
    entities: Number(job.affectedEntities),
    changed: byChange.changed ?? 0,
    added: byChange.added ?? 0,
    removed: byChange.removed ?? 0,
    changes: changed.length + removedChanges.length,
    conflictsOpened: opened.length,
    conflictsWithdrawn: withdrawn.length,
    activated,
  };
}

/**
 * The SQL of a replay swap: what changed live since a replay was planned, and the replacement of the live
 * rows of its entities by its shadow's (with the change log, MERGED and REVIEW messages, and the activation
 * of its revisions), each in the caller's transaction. The job's status is the replay jobs repository's.
 */
export class ReplaySwapRepository {
  constructor(private readonly ds: DataSource) {}

  /** What changed live for the replay's entities since its shadow was planned (through `q`, or the pool). */
  liveChanges(job: ReplayJob, q?: QueryRunner): Promise<{ changes: LiveChange[]; count: number }> {
    return liveChanges(q ?? this.ds, job);
  }

  /** Locks the named live checkpoints (created at 0 if missing), in name order: no batch commits until `q` ends. */
  async lockLiveCheckpoints(q: QueryRunner, consumers: readonly string[]): Promise<void> {
    await q.query('INSERT INTO consumer_checkpoints (consumer, stream_seq) SELECT c, 0 FROM unnest($1::text[]) AS c ON CONFLICT (consumer) DO NOTHING', [consumers]);
    await q.query('SELECT consumer FROM consumer_checkpoints WHERE consumer = ANY($1::text[]) ORDER BY consumer FOR UPDATE', [consumers]);
  }

  /** Replaces the live rows of the replay's entities by the shadow's; returns what it did. */
  replaceLive(q: QueryRunner, job: ReplayJob): Promise<ReplaySwapSummary> {
    return replace(q, job);
  }

  async dropShadow(q: QueryRunner, replayId: string): Promise<void> {
    await q.query(`DROP SCHEMA IF EXISTS ${ident(shadowSchemaName(replayId))} CASCADE`);
  }
}
