// The `tidemark` command line: commander parses (subcommands, --help, option checks), each command maps
// its arguments to one ops-api call (requests.ts), prints the answer as text (format.ts) or as the API's
// JSON with --json, and ends with an exit code (exit-codes.ts). All I/O goes through `CliIo`, so the
// whole program runs in unit tests against a fake fetch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import {
  PARK_CODES,
  PARKED_STATUSES,
  REPLAY_STATUSES,
  UPLOAD_BACKLOG_GROUPINGS,
  type ConflictHotspotsView,
  type DevicesView,
  type InspectView,
  type OpsConflictList,
  type OpsConflictView,
  type OpsResolveResult,
  type OverviewView,
  type ParkedActionResult,
  type ParkedDetailView,
  type ParkedPage,
  type ReplayDiffPage,
  type ReplayJobList,
  type ReplayJobView,
  type ReplaySwapResult,
  type SitesView,
  type ScopesView,
  type ScopeLagView,
  type StreamsView,
  type UploadsView,
  type QueuesView,
  type UploadBacklogView,
} from '@tidemark/contracts';
import { addAdminCommands, addContextCommands } from './admin';
import { ApiError, OpsClient } from './client';
import { bashCompletion, fishCompletion, zshCompletion } from './completion';
import { ConfigError, configPath, contextToken, readConfig, selectedContext, type TidemarkContext } from './contexts';
import { EXIT, EXIT_CODES_HELP, failureOf, type ExitCode } from './exit-codes';
import * as fmt from './format';
import { baseUrl, digest, integer, jsonValue, nonNegative, pointInTime, policyRevision, reason } from './options';
import * as api from './requests';
import { followReplay, isPlanOnlyDone, isPlanned, isSettled, isUnsuccessful, type BarStream } from './watch';

export const DEFAULT_URL = 'http://127.0.0.1:3005';
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:3001';
export const DEFAULT_JOURNAL_URL = 'http://127.0.0.1:3002';
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Everything the CLI touches outside itself. */
export interface CliIo {
  stdout: BarStream;
  stderr: { write(chunk: string): boolean };
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof fetch;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
}

interface GlobalOptions {
  url?: string;
  gatewayUrl?: string;
  journalUrl?: string;
  context?: string;
  token?: string;
  json?: boolean;
  timeout?: number;
}

/** What a command's action works with. */
export interface Ctx {
  /** ops-api. */
  client: OpsClient;
  /** gateway (workspaces, devices, operator tokens). */
  gateway: OpsClient;
  /** journal-service (schemas, policy revisions). */
  journal: OpsClient;
  json: boolean;
  io: CliIo;
  cmd: Command;
  /** Prints the API's document with --json, else the text. */
  print<T>(doc: T, text: (doc: T) => string): void;
}

export type Action = (ctx: Ctx, args: unknown[], opts: Record<string, unknown>) => Promise<ExitCode | void>;

const DIFF_CHANGES = ['differs', 'changed', 'unchanged', 'added', 'removed', 'all'];
const DEVICE_SORTS = ['behind', 'last-seen', 'missing', 'device'];

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Builds the program; `state.exitCode` is what the last action decided. */
export function buildProgram(io: CliIo, state: { exitCode: ExitCode; json: boolean }): Command {
  const program = new Command('tidemark');
  program
    .description(
      'Operate tidemark from scripts and terminals: lag, devices, parked work, conflicts, event inspection and replay over ops-api; workspaces, device enrolment, operator tokens, schemas and policy revisions over gateway and journal-service.',
    )
    .version(version(), '-V, --version')
    .option('--url <url>', `ops-api base URL (default: env TIDEMARK_OPS_URL, the context's opsUrl, else ${DEFAULT_URL})`, baseUrl)
    .option('--gateway-url <url>', `gateway base URL (default: env TIDEMARK_GATEWAY_URL, the context's gatewayUrl, else ${DEFAULT_GATEWAY_URL})`, baseUrl)
    .option('--journal-url <url>', `journal-service base URL (default: env TIDEMARK_JOURNAL_URL, the context's journalUrl, else ${DEFAULT_JOURNAL_URL})`, baseUrl)
    .option('--context <name>', 'use this context of the config file instead of the current one')
    .option('--token <token>', 'operator token, role ops or admin (default: env TIDEMARK_TOKEN, else the context’s token)')
    .option('--json', 'print the API’s JSON document (one per command) instead of text')
    .option('--timeout <ms>', `how long one request may take (default ${DEFAULT_TIMEOUT_MS})`, integer(1, 3_600_000))
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\n\nExamples:\n  tidemark status --max-lag 1000\n  tidemark parked\n  tidemark redrive merge-p01 42 --reason "photo v1 published"\n  tidemark replay start --workspace acme --entity-type prompt --policy-revision prompt=2 --reason "titles only grow" --watch\n  tidemark --json devices --behind | jq '.devices[].deviceId'\n  tidemark devices enrol acme scanner-12 --site dock --out scanner-12.json\n  tidemark context use prod`,
    );

  const act =
    (fn: Action) =>
    async (...all: unknown[]): Promise<void> => {
      const cmd = all[all.length - 1] as Command;
      const opts = all[all.length - 2] as Record<string, unknown>;
      const g = cmd.optsWithGlobals<GlobalOptions>();
      state.json = g.json === true;
      const unknown = unknownEnvironment(io.env);
      if (unknown.length > 0) {
        return cmd.error(
          `error: ${unknown.join(', ')}: not a variable tidemark reads, refusing rather than acting on ${g.url ?? (io.env.TIDEMARK_OPS_URL || DEFAULT_URL)}; the CLI reads ${CLI_ENVIRONMENT.join(', ')}${unknown.includes('TIDEMARK_URL') ? ' (did you mean TIDEMARK_OPS_URL?)' : ''}; unset ${unknown.length > 1 ? 'them' : 'it'}`,
          { exitCode: EXIT.usage },
        );
      }
      let connection: Connection | undefined;
      const connect = (): Connection => (connection ??= resolveConnection(cmd, g, io));
      const clients = new Map<keyof Connection['urls'], OpsClient>();
      const client = (service: keyof Connection['urls']): OpsClient => {
        let c = clients.get(service);
        if (!c) {
          const conn = connect();
          c = new OpsClient({ baseUrl: conn.urls[service], token: conn.token, timeoutMs: g.timeout ?? DEFAULT_TIMEOUT_MS, fetch: io.fetch, service: SERVICE_NAMES[service] });
          clients.set(service, c);
        }
        return c;
      };
      const ctx: Ctx = {
        get client() {
          return client('ops');
        },
        get gateway() {
          return client('gateway');
        },
        get journal() {
          return client('journal');
        },
        json: state.json,
        io,
        cmd,
        print: (doc, text) => void io.stdout.write(`${state.json ? JSON.stringify(doc, null, 2) : text(doc)}\n`),
      };
      const code = await fn(ctx, all.slice(0, -2), opts);
      if (code !== undefined) state.exitCode = code;
    };
  const get =
    <T>(request: (args: unknown[], opts: Record<string, unknown>) => api.ApiRequest, text: (doc: T) => string): Action =>
    async (ctx, args, opts) => {
      ctx.print(await ctx.client.send<T>(request(args, opts)), text);
    };

  // ── status and lag ──────────────────────────────────────────────────────────────────────────────────
  program
    .command('status')
    .description('overview: services ready, journal, consumers, projection lag, rates, parked, open conflicts, uploads; exit 4 when something is wrong')
    .option('--max-lag <messages>', 'exit 4 when the projection is behind by more messages', integer(0))
    .option('--max-lag-seconds <seconds>', 'exit 4 when the projection’s oldest pending message is older', nonNegative)
    .action(
      act(async (ctx, _args, opts) => {
        const overview = await ctx.client.send<OverviewView>(api.overview());
        ctx.print(overview, fmt.renderOverview);
        const problems = fmt.statusProblems(overview, { maxLag: opts.maxLag as number | undefined, maxLagSeconds: opts.maxLagSeconds as number | undefined });
        for (const p of problems) ctx.io.stderr.write(`tidemark: status: ${p}\n`);
        return problems.length > 0 ? EXIT.checkFailed : EXIT.ok;
      }),
    );

  program
    .command('lag')
    .description('streams, consumers (pending, ack-pending, redelivered, oldest-pending age) and projection partitions (checkpoint, behind)')
    .action(act(get<StreamsView>(() => api.streams(), fmt.renderStreams)));

  // ── devices, sites, uploads ─────────────────────────────────────────────────────────────────────────
  program
    .command('devices')
    .description('devices: pushed and applied sequences, gaps, behind-by, last seen, falling behind and why')
    .option('--workspace <workspace>', 'only this workspace')
    .option('--site <site>', 'only this site')
    .option('--behind', 'only devices falling behind')
    .addOption(new Option('--sort <order>', 'order (default behind: falling behind first)').choices(DEVICE_SORTS))
    .option('--limit <n>', 'page size (1–1000, default 200)', integer())
    .option('--after <next>', 'the next page (from a previous answer)')
    .option('--stale-after <seconds>', 'silent longer than this while its site is active: falling behind', integer())
    .option('--behind-threshold <n>', 'more pushed sequences than this not applied: falling behind', integer(0))
    .action(
      act(
        get<DevicesView>(
          (_a, o) =>
            api.devices({
              workspace: o.workspace as string | undefined,
              site: o.site as string | undefined,
              behind: o.behind === true,
              sort: o.sort as string | undefined,
              limit: o.limit as number | undefined,
              after: o.after as string | undefined,
              staleAfter: o.staleAfter as number | undefined,
              behindThreshold: o.behindThreshold as number | undefined,
            }),
          fmt.renderDevices,
        ),
      ),
    );

  program
    .command('sites')
    .description('per site: devices, how many fall behind and which, last seen, summed backlog')
    .option('--workspace <workspace>', 'only this workspace')
    .option('--stale-after <seconds>', 'silent longer than this while its site is active: falling behind', integer())
    .option('--behind-threshold <n>', 'more pushed sequences than this not applied: falling behind', integer(0))
    .action(
      act(
        get<SitesView>(
          (_a, o) => api.sites({ workspace: o.workspace as string | undefined, staleAfter: o.staleAfter as number | undefined, behindThreshold: o.behindThreshold as number | undefined }),
          fmt.renderSites,
        ),
      ),
    );

  program
    .command('scopes')
    .description('a workspace’s read scopes (partial sync): what each reads, the roles that read it, its subscribers by value; with a scope, how far behind in it each subscriber is')
    .argument('<workspace>', 'the workspace')
    .argument('[scope]', 'one scope: its lag per value and per subscriber, most behind first')
    .option('--value <value>', 'with a scope: this partition value only')
    .option('--after <value>', 'with a scope: the page of values after this one (`next` of the previous page)')
    .option('--limit <n>', 'with a scope: values per page', integer())
    .option('--cap <n>', 'with a scope: count changes behind up to this many', integer())
    .action(
      act(
        get<ScopesView | ScopeLagView>(
          ([workspace, scope], o) =>
            scope === undefined
              ? api.scopes(workspace as string)
              : api.scopeLag(workspace as string, scope as string, {
                  value: o.value as string | undefined,
                  after: o.after as string | undefined,
                  limit: o.limit as number | undefined,
                  cap: o.cap as number | undefined,
                }),
          (v) => ('values' in v ? fmt.renderScopeLag(v) : fmt.renderScopes(v)),
        ),
      ),
    );

  program
    .command('uploads')
    .description('uploads in progress and bytes pending by workspace and file class; stalled and expired uploads')
    .option('--workspace <workspace>', 'only this workspace')
    .option('--stalled-after <seconds>', 'no bytes for longer than this: stalled', integer())
    .option('--limit <n>', 'most stalled and expired uploads listed', integer())
    .action(
      act(
        get<UploadsView>(
          (_a, o) => api.uploads({ workspace: o.workspace as string | undefined, stalledAfter: o.stalledAfter as number | undefined, limit: o.limit as number | undefined }),
          fmt.renderUploads,
        ),
      ),
    );

  program
    .command('assets')
    .description('uploads in progress per site (of the device that created them) or per file class: uploads, bytes pending, stalled, expired, oldest')
    .addOption(new Option('--by <grouping>', 'group by site or file class (default site)').choices([...UPLOAD_BACKLOG_GROUPINGS]))
    .option('--workspace <workspace>', 'only this workspace')
    .option('--stalled-after <seconds>', 'no bytes for longer than this: stalled', integer())
    .action(
      act(
        get<UploadBacklogView>(
          (_a, o) => api.backlog({ by: o.by as string | undefined, workspace: o.workspace as string | undefined, stalledAfter: o.stalledAfter as number | undefined }),
          fmt.renderBacklog,
        ),
      ),
    );

  program
    .command('queues')
    .description('job queues: queued, running, retrying, failed, retries, open repairs, the oldest queued age, and which queue falls behind; exit 4 with --check when one does')
    .option('--workspace <workspace>', 'only this workspace')
    .option('--behind', 'only queues falling behind')
    .option('--wait-threshold <seconds>', 'the oldest queued job waiting longer than this: falling behind', integer())
    .option('--check', 'exit 4 when a queue falls behind')
    .action(
      act(async (ctx, _args, o) => {
        const view = await ctx.client.send<QueuesView>(api.queues({ workspace: o.workspace as string | undefined, behind: o.behind === true, waitThreshold: o.waitThreshold as number | undefined }));
        ctx.print(view, fmt.renderQueues);
        return o.check === true && view.queues.some((q) => q.fallingBehind) ? EXIT.checkFailed : EXIT.ok;
      }),
    );

  // ── parked work ─────────────────────────────────────────────────────────────────────────────────────
  program
    .command('parked')
    .description('parked entries (default: still parked), or one entry with its receipt and audit trail')
    .argument('[consumer]', 'show one entry: its consumer (e.g. merge-p01)')
    .argument('[seq]', 'and its journal sequence', integer())
    .addOption(new Option('--status <status>', 'entries with this status (default parked)').choices([...PARKED_STATUSES, 'all']))
    .option('--workspace <workspace>', 'only this workspace')
    .option('--consumer <consumer>', 'only this consumer')
    .addOption(new Option('--code <code>', 'only this park code').choices([...PARK_CODES]))
    .option('--limit <n>', 'page size (1–500, default 100)', integer())
    .option('--after <next>', 'the next page (from a previous answer)')
    .action(
      act(async (ctx, [consumer, seq], o) => {
        if (consumer !== undefined && seq === undefined) ctx.cmd.error('error: name the entry with its consumer and journal sequence: tidemark parked <consumer> <seq>', { exitCode: EXIT.usage });
        if (consumer !== undefined) {
          ctx.print(await ctx.client.send<ParkedDetailView>(api.parkedEntry(consumer as string, seq as number)), fmt.renderParkedDetail);
          return;
        }
        const list = await ctx.client.send<ParkedPage>(
          api.parkedList({
            status: o.status as string | undefined,
            workspace: o.workspace as string | undefined,
            consumer: o.consumer as string | undefined,
            code: o.code as string | undefined,
            limit: o.limit as number | undefined,
            after: o.after as string | undefined,
          }),
        );
        ctx.print(list, fmt.renderParkedList);
      }),
    );

  for (const action of ['redrive', 'skip'] as const) {
    program
      .command(action)
      .description(action === 'redrive' ? 're-drive a parked entry as it is (after publishing its schema); audited' : 'skip a parked entry: nothing is applied, its receipt becomes skipped; audited')
      .argument('<consumer>', 'the entry’s consumer (as `tidemark parked` lists it)')
      .argument('<seq>', 'the entry’s journal sequence', integer())
      .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
      .action(
        act(async (ctx, [consumer, seq], o) => {
          ctx.print(await ctx.client.send<ParkedActionResult>(api.parkedAction(action, consumer as string, seq as number, o.reason as string)), fmt.renderParkedAction);
        }),
      );
  }

  // ── conflicts ───────────────────────────────────────────────────────────────────────────────────────
  program
    .command('conflicts')
    .description('the conflict ledger across workspaces (default: open), one conflict, or hotspots by workspace, type and field')
    .argument('[conflictId]', 'show one conflict')
    .option('--workspace <workspace>', 'only this workspace')
    .addOption(new Option('--status <status>', 'conflicts with this status (default open)').choices(['open', 'resolved', 'all']))
    .option('--entity-type <type>', 'only this entity type')
    .option('--entity-id <id>', 'only this entity')
    .option('--field <field>', 'only this field')
    .option('--limit <n>', 'page size (1–500, default 100)', integer())
    .option('--after <next>', 'the next page (from a previous answer)')
    .option('--hotspots', 'open conflicts counted by workspace, entity type and field, most first')
    .action(
      act(async (ctx, [id], o) => {
        if (id !== undefined) {
          ctx.print(await ctx.client.send<OpsConflictView>(api.conflict(id as string)), fmt.renderConflict);
          return;
        }
        if (o.hotspots) {
          ctx.print(
            await ctx.client.send<ConflictHotspotsView>(
              api.hotspots({ workspace: o.workspace as string | undefined, entityType: o.entityType as string | undefined, limit: o.limit as number | undefined }),
            ),
            fmt.renderHotspots,
          );
          return;
        }
        const request = api.conflicts({
          workspace: o.workspace as string | undefined,
          status: o.status as string | undefined,
          entityType: o.entityType as string | undefined,
          entityId: o.entityId as string | undefined,
          field: o.field as string | undefined,
          limit: o.limit as number | undefined,
          after: o.after as string | undefined,
        });
        ctx.print(await ctx.client.send<OpsConflictList>(request), fmt.renderConflicts);
      }),
    );

  program
    .command('resolve')
    .description('resolve an open conflict: the resolution is journaled and applied by merge-service; audited')
    .argument('<conflictId>', 'the conflict (as `tidemark conflicts` lists it)')
    .addOption(new Option('--pick <side>', 'ours, theirs, or value (with --value)').choices(['ours', 'theirs', 'value']).makeOptionMandatory())
    .option('--value <json>', 'the value to keep, as JSON (with --pick value), e.g. \'"lynx"\'', jsonValue)
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .option('--event-id <uuid>', 'the resolve event’s id, to retry a resolution safely')
    .action(
      act(async (ctx, [id], o) => {
        const hasValue = Object.prototype.hasOwnProperty.call(o, 'value');
        if (o.pick === 'value' && !hasValue) ctx.cmd.error('error: --pick value needs --value <json>', { exitCode: EXIT.usage });
        if (o.pick !== 'value' && hasValue) ctx.cmd.error(`error: --value goes with --pick value (not --pick ${String(o.pick)})`, { exitCode: EXIT.usage });
        const request = api.resolve(id as string, { pick: o.pick as api.Pick, value: o.value, hasValue, reason: o.reason as string, eventId: o.eventId as string | undefined });
        ctx.print(await ctx.client.send<OpsResolveResult>(request), fmt.renderResolve);
      }),
    );

  // ── inspect ─────────────────────────────────────────────────────────────────────────────────────────
  program
    .command('inspect')
    .description('one event through the system: journal entry, receipt, decisions, conflicts, repairs, parking, the entity before and after')
    .argument('<eventId>', 'the event id')
    .action(act(get<InspectView>(([id]) => api.inspect(id as string), fmt.renderInspect)));

  // ── replay ──────────────────────────────────────────────────────────────────────────────────────────
  const replay = program
    .command('replay')
    .description('scoped, safe replay: plan, build a shadow projection and a diff (a dry run), then swap it into live or cancel it')
    .addHelpText(
      'after',
      '\nA replay never changes live by itself: it rebuilds the scope into a shadow schema and diffs it against live;\nonly `replay swap`, confirmed with the digest of the diff you read, applies it.',
    );

  const scoped = (cmd: Command): Command =>
    cmd
      .option('--workspace <workspace>', 'scope: this workspace (required with --policy-revision)')
      .option('--entity-type <type>', 'scope: this entity type')
      .option('--entity-id <id>', 'scope: this entity (with --entity-type)')
      .option('--device <deviceId>', 'scope: events of this device')
      .option('--site <site>', 'scope: events of devices of this site')
      .option('--from-seq <seq>', 'scope: journal sequences from this one', integer())
      .option('--to-seq <seq>', 'scope: journal sequences up to this one', integer())
      .option('--since <time>', 'scope: accepted at or after (ISO-8601, or a duration ago: 30m, 2h, 7d)', pointInTime(io.now))
      .option('--until <time>', 'scope: accepted before (ISO-8601, or a duration ago)', pointInTime(io.now))
      .option('--policy-revision <type=N>', 'rebuild this type under policy revision N (repeatable; activated on swap)', policyRevision)
      .option('--rate <events/s>', 'rebuild at most this many journal events per second (default 2000)', integer(1, 100_000))
      .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
      .option('--dry-run', 'build a shadow and a diff without touching live (always so: only `replay swap` changes live)');
  const create = (o: Record<string, unknown>, planOnly = false): api.ApiRequest =>
    api.replayCreate({
      scope: {
        workspace: o.workspace as string | undefined,
        entityType: o.entityType as string | undefined,
        entityId: o.entityId as string | undefined,
        device: o.device as string | undefined,
        site: o.site as string | undefined,
        fromSeq: o.fromSeq as number | undefined,
        toSeq: o.toSeq as number | undefined,
        since: o.since as string | undefined,
        until: o.until as string | undefined,
      },
      policyRevisions: (o.policyRevision as Record<string, number> | undefined) ?? {},
      reason: o.reason as string,
      rate: o.rate as number | undefined,
      planOnly,
    });
  const intervalOption = (cmd: Command): Command => cmd.option('--interval <ms>', 'how often to poll while following (default 1000)', integer(50, 60_000));
  /** Follows a job, with a bar on a terminal (text mode), phase lines otherwise (text mode), silently with --json. */
  const follow = (ctx: Ctx, id: string, until: (job: ReplayJobView) => boolean, o: Record<string, unknown>, first?: ReplayJobView) =>
    followReplay(ctx.client, id, {
      until,
      intervalMs: (o.interval as number | undefined) ?? 1000,
      sleep: ctx.io.sleep,
      ...(first ? { first } : {}),
      ...(!ctx.json && ctx.io.stdout.isTTY ? { bar: ctx.io.stdout } : {}),
      ...(!ctx.json && !ctx.io.stdout.isTTY ? { log: (line: string) => void ctx.io.stdout.write(`${line}\n`) } : {}),
    });
  const settledCode = (job: ReplayJobView): ExitCode => (isUnsuccessful(job) ? EXIT.replayEnded : EXIT.ok);
  const reportEnd = (ctx: Ctx, job: ReplayJobView): ExitCode => {
    const code = settledCode(job);
    if (code !== EXIT.ok) ctx.io.stderr.write(`tidemark: replay ${job.id} ended ${job.status}${job.error ? `: ${job.error}` : ''}\n`);
    return code;
  };

  intervalOption(
    scoped(replay.command('plan'))
      .description('request a plan-only replay and show its plan (events selected, entities to rebuild, estimated time): it ends once planned and builds nothing, unless --keep')
      .option('--keep', 'request a full replay instead: show its plan, and let it go on building its shadow and diff'),
  ).action(
    act(async (ctx, _args, o) => {
      const created = await ctx.client.send<ReplayJobView>(create(o, !o.keep));
      // Planning is short: poll faster than while building. A plan-only replay ends once planned (the
      // worker ends it, so nothing is built whatever the timing); a kept one goes on building.
      const job = await follow(ctx, created.id, o.keep ? isPlanned : isSettled, { ...o, interval: o.interval ?? 200 }, created);
      const note = isPlanOnlyDone(job) ? '\nplan only: cancelled after planning, nothing was built (`tidemark replay start` with the same options builds it)' : '';
      ctx.print(job, (j) => `${fmt.renderReplayJob(j)}${note}`);
      return job.status === 'failed' || job.status === 'stale' ? reportEnd(ctx, job) : EXIT.ok;
    }),
  );

  intervalOption(
    scoped(replay.command('start'))
      .description('request a replay: it plans, builds a shadow projection and diffs it against live (a dry run); --watch follows it')
      .option('--watch', 'follow it to the end with a progress bar'),
  ).action(
    act(async (ctx, _args, o) => {
      const created = await ctx.client.send<ReplayJobView>(create(o));
      if (!o.watch) {
        ctx.print(created, fmt.renderReplayJob);
        return;
      }
      const job = await follow(ctx, created.id, isSettled, o, created);
      ctx.print(job, fmt.renderReplayJob);
      return reportEnd(ctx, job);
    }),
  );

  intervalOption(
    replay
      .command('status')
      .description('a replay: status, plan, progress (rate, ETA) and diff summary; --watch follows it with a progress bar until it is built or ends')
      .argument('<id>', 'the replay id')
      .option('--watch', 'follow it until it is built, swapped, cancelled, failed or stale'),
  ).action(
    act(async (ctx, [id], o) => {
      const job = o.watch ? await follow(ctx, id as string, isSettled, o) : await ctx.client.send<ReplayJobView>(api.replayJob(id as string));
      ctx.print(job, fmt.renderReplayJob);
      return o.watch ? reportEnd(ctx, job) : EXIT.ok;
    }),
  );

  replay
    .command('diff')
    .description('what a swap would change, entity by entity (live → shadow), with the summary and the digest to confirm')
    .argument('<id>', 'the replay id')
    .addOption(new Option('--change <kind>', 'which entities (default differs: changed, added or removed)').choices(DIFF_CHANGES))
    .option('--limit <n>', 'page size (1–500, default 100)', integer())
    .option('--after <next>', 'the next page (from a previous answer)')
    .option('--all', 'read every page (with --json: one document holding every entity)')
    .action(
      act(async (ctx, [id], o) => {
        const query = { change: o.change as string | undefined, limit: o.limit as number | undefined, after: o.after as string | undefined };
        const page = await ctx.client.send<ReplayDiffPage>(api.replayDiff(id as string, query));
        if (o.all) {
          while (page.next) {
            const more = await ctx.client.send<ReplayDiffPage>(api.replayDiff(id as string, { ...query, after: page.next }));
            page.entities.push(...more.entities);
            page.next = more.next;
          }
        }
        ctx.print(page, fmt.renderDiff);
      }),
    );

  replay
    .command('swap')
    .description('apply a built replay to live, confirmed with the digest of the diff you read; audited')
    .argument('<id>', 'the replay id')
    .requiredOption('--confirm <digest>', 'the diff digest `tidemark replay diff` shows', digest)
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(act(async (ctx, [id], o) => ctx.print(await ctx.client.send<ReplaySwapResult>(api.replaySwap(id as string, o.confirm as string, o.reason as string)), fmt.renderSwap)));

  replay
    .command('cancel')
    .description('cancel a replay that has not ended (its shadow is dropped); audited')
    .argument('<id>', 'the replay id')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(act(async (ctx, [id], o) => ctx.print(await ctx.client.send<ReplayJobView>(api.replayCancel(id as string, o.reason as string)), fmt.renderReplayJob)));

  const list = (cmd: Command): Command =>
    cmd
      .description('replays, newest first')
      .addOption(new Option('--status <status>', 'only replays with this status').choices(REPLAY_STATUSES))
      .option('--limit <n>', 'how many (1–200, default 50)', integer())
      .action(act(get<ReplayJobList>((_a, o) => api.replayList({ status: o.status as string | undefined, limit: o.limit as number | undefined }), fmt.renderReplayList)));
  list(replay.command('list'));
  list(program.command('replays'));

  addAdminCommands(program, act);
  addContextCommands(program, act);
  program
    .command('completion')
    .description('print a shell completion script: source <(tidemark completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .action((shell: string) => {
      io.stdout.write(shell === 'fish' ? fishCompletion(program) : shell === 'zsh' ? zshCompletion(program) : bashCompletion(program));
    });

  return program;
}

/** The environment variables the CLI reads. */
export const CLI_ENVIRONMENT = ['TIDEMARK_OPS_URL', 'TIDEMARK_GATEWAY_URL', 'TIDEMARK_JOURNAL_URL', 'TIDEMARK_TOKEN', 'TIDEMARK_CONFIG'] as const;
/** `TIDEMARK_*` variables other tidemark programs read (services, `npm start`, tests): not the CLI's, but not typos either. */
const OTHER_TIDEMARK_VARIABLES = new Set(['TIDEMARK_INSTANCE', 'TIDEMARK_HOME', 'TIDEMARK_SKIP_BUILD', 'TIDEMARK_SOAK_SEED']);

/**
 * `TIDEMARK_*` variables nobody reads: a misspelt one (`TIDEMARK_URL`) would otherwise be ignored silently
 * and the command would act on another ops-api than the one meant, so a command refuses to run (exit 2).
 */
export function unknownEnvironment(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('TIDEMARK_') && env[name] !== undefined)
    .filter((name) => !(CLI_ENVIRONMENT as readonly string[]).includes(name) && !OTHER_TIDEMARK_VARIABLES.has(name) && !name.startsWith('TIDEMARK_TEST_'))
    .sort();
}

const SERVICE_NAMES = { ops: 'ops-api', gateway: 'gateway', journal: 'journal-service' } as const;

/** The servers and the token a command uses. */
export interface Connection {
  urls: { ops: string; gateway: string; journal: string };
  token?: string;
  /** The context it came from, if one was used. */
  context?: string;
}

/**
 * Flags first, then the environment (TIDEMARK_*_URL, TIDEMARK_TOKEN), then the selected context
 * (`--context`, else the config file's current one), then the local defaults. A malformed URL, an unknown
 * context or an unreadable config or token file is a usage error.
 */
function resolveConnection(cmd: Command, g: GlobalOptions, io: CliIo): Connection {
  const fail = (message: string): never => cmd.error(`error: ${message}`, { exitCode: EXIT.usage });
  let selected: { name: string; context: TidemarkContext } | undefined;
  try {
    const path = configPath(io.env);
    selected = selectedContext(readConfig(path), path, g.context);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const url = (flag: string | undefined, variable: string, fromContext: string | undefined, fallback: string, what: string): string => {
    if (flag) return flag;
    const candidates: [string | undefined, string][] = [
      [io.env[variable] || undefined, variable],
      [fromContext, `context "${selected?.name}": ${what}`],
    ];
    for (const [value, source] of candidates) {
      if (!value) continue;
      try {
        return baseUrl(value);
      } catch (error) {
        return fail(`${source}: ${(error as Error).message}`);
      }
    }
    return fallback;
  };
  let token = g.token ?? (io.env.TIDEMARK_TOKEN || undefined);
  if (token === undefined && selected) {
    try {
      token = contextToken(selected.name, selected.context);
    } catch (error) {
      if (error instanceof ConfigError) fail(error.message);
      throw error;
    }
  }
  return {
    urls: {
      ops: url(g.url, 'TIDEMARK_OPS_URL', selected?.context.opsUrl, DEFAULT_URL, 'opsUrl'),
      gateway: url(g.gatewayUrl, 'TIDEMARK_GATEWAY_URL', selected?.context.gatewayUrl, DEFAULT_GATEWAY_URL, 'gatewayUrl'),
      journal: url(g.journalUrl, 'TIDEMARK_JOURNAL_URL', selected?.context.journalUrl, DEFAULT_JOURNAL_URL, 'journalUrl'),
    },
    ...(token !== undefined ? { token } : {}),
    ...(selected ? { context: selected.name } : {}),
  };
}

/**
 * Runs the CLI on `argv` (as process.argv: node, script, …) and answers the exit code. A refusal prints
 * the problem on stderr (and, with --json, its document on stdout).
 */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const state: { exitCode: ExitCode; json: boolean } = { exitCode: EXIT.ok, json: false };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (error) {
    const failure = failureOf(error);
    if (state.json && error instanceof ApiError && error.document !== undefined) io.stdout.write(`${JSON.stringify(error.document, null, 2)}\n`);
    failure.lines.forEach((line, i) => io.stderr.write(i === 0 ? `tidemark: ${line}\n` : `${line}\n`));
    return failure.code;
  }
}
