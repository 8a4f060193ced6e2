// Onboarding and administration: workspaces, device enrolment (credentials to a 0600 file), operator
// tokens (gateway), schemas and policy revisions (journal-service); and the named contexts of the config
// file. Same conventions as the operations commands: --json prints the API's document, a refusal exits 1
// with the problem, a bad command line exits 2.
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { DeviceCredentials, DeviceRecord } from '@tidemark/contracts';
import type { Action, Ctx } from './cli';
import { CONTEXT_NAME, ConfigError, configPath, readConfig, redacted, writeConfig, type TidemarkContext } from './contexts';
import { EXIT } from './exit-codes';
import * as fmt from './format';
import { baseUrl, integer, reason } from './options';
import * as api from './requests';

type Act = (fn: Action) => (...all: unknown[]) => Promise<void>;

/** The command's own options merged over its parent's: `devices` reads --site and --limit before its subcommands do. */
const ownOptions = (ctx: Ctx, opts: Record<string, unknown>): Record<string, unknown> => ({ ...(ctx.cmd.parent?.opts() ?? {}), ...opts });

/** `projects=p1,p2` (repeatable) → `{ projects: ['p1', 'p2'] }`: a device's claims. */
export function claim(text: string, previous: Record<string, string[]> = {}): Record<string, string[]> {
  const at = text.indexOf('=');
  const name = at > 0 ? text.slice(0, at) : '';
  const values =
    at > 0
      ? text
          .slice(at + 1)
          .split(',')
          .filter((v) => v.length > 0)
      : [];
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) || values.length === 0) throw new InvalidArgumentError(`expected name=value[,value…], e.g. projects=p-17,p-18; got "${text}"`);
  return { ...previous, [name]: [...(previous[name] ?? []), ...values] };
}

/** `--roles ops,admin`. */
function roles(text: string): string[] {
  const list = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (list.length === 0 || list.some((r) => r !== 'ops' && r !== 'admin')) throw new InvalidArgumentError('must be ops, admin, or ops,admin.');
  return [...new Set(list)];
}

/** `--ttl 3600`, or with a unit: `90m`, `12h`, `30d`. */
function ttl(text: string): number {
  const match = /^([0-9]+)([smhd]?)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('must be seconds, or a number with s, m, h or d (e.g. 12h).');
  const seconds = Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (!Number.isSafeInteger(seconds) || seconds < 60) throw new InvalidArgumentError('must be at least 60 seconds.');
  return seconds;
}

/**
 * A file for secrets, claimed before the call that produces them (so a refused path costs nothing and an
 * existing file is never overwritten without --force), written with mode 0600 once they arrive.
 */
class SecretFile {
  private constructor(
    readonly path: string,
    private readonly claimed: boolean,
  ) {}

  static claim(ctx: Ctx, file: string, force: boolean): SecretFile {
    const path = resolve(file);
    if (force) return new SecretFile(path, false);
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return ctx.cmd.error(code === 'EEXIST' ? `error: ${file} exists; refusing to overwrite it (--force to replace it)` : `error: cannot write ${file}: ${code ?? (error as Error).message}`, {
        exitCode: EXIT.usage,
      });
    }
    return new SecretFile(path, true);
  }

  write(doc: unknown): void {
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.path);
  }

  /** The call failed: give back the name claimed. */
  release(): void {
    if (this.claimed && existsSync(this.path)) unlinkSync(this.path);
  }

  async with<T>(produce: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await produce();
    } catch (error) {
      this.release();
      throw error;
    }
    this.write(value);
    return value;
  }
}

/** Credentials as printed: where they went, never the tokens themselves. */
const credentialsSummary = (c: DeviceCredentials, file: string) => ({
  workspace: c.workspace,
  deviceId: c.deviceId,
  site: c.site,
  file,
  accessTokenExpiresAt: c.accessTokenExpiresAt,
  refreshTokenExpiresAt: c.refreshTokenExpiresAt,
});
const renderCredentials =
  (verb: string) =>
  (s: ReturnType<typeof credentialsSummary>): string =>
    `${verb} ${s.workspace}/${s.deviceId}${s.site ? ` (site ${s.site})` : ''}: credentials written to ${s.file} (mode 0600)\naccess token expires ${s.accessTokenExpiresAt}, refresh token ${s.refreshTokenExpiresAt}`;

/** A JSON file given on the command line, with the fields naming where it is published. */
function definitionFile<K extends string>(ctx: Ctx, file: string, keys: { name: 'type'; number: K }): { type: string } & Record<K, number> & Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    return ctx.cmd.error(`error: ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { exitCode: EXIT.usage });
  }
  const d = doc as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d) || typeof d.type !== 'string' || !Number.isSafeInteger(d[keys.number]))
    return ctx.cmd.error(`error: ${file}: must be a JSON object with "type" (a string) and "${keys.number}" (an integer), which name where it is published`, { exitCode: EXIT.usage });
  return d as { type: string } & Record<K, number> & Record<string, unknown>;
}

export function addAdminCommands(program: Command, act: Act): void {
  // ── workspaces ──────────────────────────────────────────────────────────────────────────────────────
  const workspaces = program.command('workspaces').description('workspaces (gateway, admin role): create, list');
  workspaces
    .command('create')
    .description('create a workspace (an existing one is left as it is); audited')
    .argument('<workspace>', 'its id: letters, digits, _ or - (1–64)')
    .option('--name <name>', 'display name (default: the id)')
    .option('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [workspace], o) => {
        const doc = await ctx.gateway.send<{ workspace: string; created: boolean }>(
          api.workspaceCreate(workspace as string, { name: o.name as string | undefined, reason: o.reason as string | undefined }),
        );
        ctx.print(doc, (d) => `${d.created ? 'created' : 'exists already:'} workspace ${d.workspace}`);
      }),
    );
  workspaces
    .command('list')
    .description('every workspace')
    .action(
      act(async (ctx) => {
        const doc = await ctx.gateway.send<{ workspaces: Record<string, unknown>[] }>(api.workspaceList());
        ctx.print(doc, (d) => {
          if (d.workspaces.length === 0) return 'no workspaces';
          const keys = Object.keys(d.workspaces[0]!).filter((k) => typeof d.workspaces[0]![k] !== 'object' || d.workspaces[0]![k] === null);
          return fmt.table(
            keys.map((k) => ({ header: k, value: (w: Record<string, unknown>) => w[k] as fmt.Cell })),
            d.workspaces,
          );
        });
      }),
    );

  // ── devices: enrolment (the view `tidemark devices` stays ops-api's) ────────────────────────────────
  const devices = program.commands.find((c) => c.name() === 'devices')!;
  const credentialsAction =
    (verb: 'enrolled' | 're-enrolled'): Action =>
    async (ctx, [workspace, deviceId], opts) => {
      const o = ownOptions(ctx, opts);
      const file = SecretFile.claim(ctx, o.out as string, o.force === true);
      const request =
        verb === 'enrolled'
          ? api.deviceEnrol(workspace as string, deviceId as string, {
              site: o.site as string | undefined,
              label: o.label as string | undefined,
              role: o.role as string | undefined,
              claims: o.claim as Record<string, string[]> | undefined,
              reason: o.reason as string | undefined,
            })
          : api.deviceAction('reenrol', workspace as string, deviceId as string, o.reason as string);
      const credentials = await file.with(() => ctx.gateway.send<DeviceCredentials>(request));
      ctx.print(credentialsSummary(credentials, file.path), renderCredentials(verb));
    };
  devices
    .command('enrol')
    .description('enrol a device: its access and refresh tokens are written to --out (mode 0600), never printed; audited')
    .argument('<workspace>', 'its workspace (tidemark workspaces create)')
    .argument('<deviceId>', 'its id')
    .option('--site <site>', 'its site')
    .option('--label <label>', 'a label for people')
    .option('--role <role>', 'its role under the workspace’s access rules (one they declare; `tidemark access show`)')
    .option('--claim <name=values>', 'a claim its read scopes take values from, e.g. projects=p-17,p-18 (repeatable)', claim)
    .option('--reason <reason>', 'why (recorded in the audit log)', reason)
    .requiredOption('--out <file>', 'where the credentials go (JSON, mode 0600)')
    .option('--force', 'replace --out if it exists')
    .action(act(credentialsAction('enrolled')));
  devices
    .command('role')
    .description('give a device a role under its workspace’s access rules (`none`: no role); in force from its next request; audited')
    .argument('<workspace>', 'its workspace')
    .argument('<deviceId>', 'its id')
    .argument('<role>', 'a role the rules declare, or none')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [workspace, deviceId, role], opts) => {
        const doc = await ctx.gateway.send<DeviceRecord>(api.deviceRole(workspace as string, deviceId as string, role === 'none' ? null : (role as string), ownOptions(ctx, opts).reason as string));
        ctx.print(doc, (d) => `${d.workspace}/${d.deviceId}: role ${d.role ?? 'none'}`);
      }),
    );
  devices
    .command('claims')
    .description('replace a device’s claims (the values its read scopes may take, e.g. its projects); none given: no claims; in force from its next request; audited')
    .argument('<workspace>', 'its workspace')
    .argument('<deviceId>', 'its id')
    .argument('[claims...]', 'name=value[,value…], e.g. projects=p-17,p-18', claim)
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [workspace, deviceId, given], opts) => {
        // commander hands a variadic argument given no value as an empty list: no claims.
        const claims = given === undefined || Array.isArray(given) ? {} : (given as Record<string, string[]>);
        const doc = await ctx.gateway.send<DeviceRecord>(api.deviceClaims(workspace as string, deviceId as string, claims, ownOptions(ctx, opts).reason as string));
        const shown = Object.entries(doc.claims ?? {})
          .map(([k, v]) => `${k}=${([] as unknown[]).concat(v).join(',')}`)
          .join(' ');
        ctx.print(doc, (d) => `${d.workspace}/${d.deviceId}: claims ${shown || 'none'}`);
      }),
    );
  devices
    .command('reenrol')
    .description('new credentials for a device (a revoked one becomes active), written to --out (mode 0600); its old tokens stop working; audited')
    .argument('<workspace>', 'its workspace')
    .argument('<deviceId>', 'its id')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .requiredOption('--out <file>', 'where the credentials go (JSON, mode 0600)')
    .option('--force', 'replace --out if it exists')
    .action(act(credentialsAction('re-enrolled')));
  devices
    .command('revoke')
    .description('revoke a device: its tokens stop working at once; audited')
    .argument('<workspace>', 'its workspace')
    .argument('<deviceId>', 'its id')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [workspace, deviceId], opts) => {
        const doc = await ctx.gateway.send<DeviceRecord>(api.deviceAction('revoke', workspace as string, deviceId as string, ownOptions(ctx, opts).reason as string));
        ctx.print(doc, (d) => `revoked ${d.workspace}/${d.deviceId} at ${d.revokedAt ?? '-'}`);
      }),
    );
  devices
    .command('list')
    .description('the devices enrolled in a workspace: status, generation, site, last push')
    .argument('<workspace>', 'the workspace')
    .option('--limit <n>', 'page size (1–1000, default 100)', integer(1, 1000))
    .option('--after <deviceId>', 'the next page (from a previous answer)')
    .action(
      act(async (ctx, [workspace], opts) => {
        const o = ownOptions(ctx, opts);
        const doc = await ctx.gateway.send<{ devices: DeviceRecord[]; next: string | null }>(
          api.deviceList(workspace as string, { limit: o.limit as number | undefined, after: o.after as string | undefined }),
        );
        ctx.print(doc, (d) => {
          const rows =
            d.devices.length === 0
              ? 'no devices enrolled'
              : fmt.table<DeviceRecord>(
                  [
                    { header: 'DEVICE', value: (r) => r.deviceId },
                    { header: 'STATUS', value: (r) => r.status },
                    { header: 'GEN', value: (r) => r.generation, align: 'right' },
                    { header: 'SITE', value: (r) => r.site },
                    { header: 'ROLE', value: (r) => r.role ?? null },
                    { header: 'LABEL', value: (r) => r.label },
                    { header: 'LAST SEQ', value: (r) => r.lastPushedSeq, align: 'right' },
                    { header: 'LAST PUSH', value: (r) => r.lastPushAt },
                    { header: 'CREATED', value: (r) => r.createdAt },
                  ],
                  d.devices,
                );
          return d.next ? `${rows}\nmore: --after ${d.next}` : rows;
        });
      }),
    );

  // ── access rules (gateway): device roles, what each may write and resolve ────────────────────────────
  const access = program.command('access').description('a workspace’s access rules (gateway, admin role): show, publish from a file, versions');
  type RulesDoc = { workspace: string; version: number; rules: { roles: Record<string, unknown>; defaultRole?: string }; publishedAt: string; publishedBy: string };
  access
    .command('show')
    .description('the access rules in force in a workspace (none: every device writes and resolves everything)')
    .argument('<workspace>', 'the workspace')
    .action(
      act(async (ctx, [workspace]) => {
        const doc = await ctx.gateway.send<RulesDoc>(api.accessRulesShow(workspace as string));
        ctx.print(
          doc,
          (d) => `${d.workspace}: access rules version ${d.version}, published ${d.publishedAt} by ${d.publishedBy}
roles: ${Object.keys(d.rules.roles).join(', ')}${d.rules.defaultRole ? ` (default ${d.rules.defaultRole})` : ''}
${JSON.stringify(d.rules, null, 2)}`,
        );
      }),
    );
  access
    .command('publish')
    .description('publish the next version of a workspace’s access rules from a JSON file ({ version, roles, defaultRole? }); in force from every device’s next request; audited')
    .argument('<workspace>', 'the workspace')
    .argument('<file>', 'the rules (docs/protocol.md, "Roles")')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [workspace, file], o) => {
        let rules: unknown;
        try {
          rules = JSON.parse(readFileSync(file as string, 'utf8')) as unknown;
        } catch (error) {
          return ctx.cmd.error(`error: ${file as string}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { exitCode: EXIT.usage });
        }
        const doc = await ctx.gateway.send<RulesDoc>(api.accessRulesPublish(workspace as string, rules, o.reason as string));
        ctx.print(doc, (d) => `${d.workspace}: access rules version ${d.version} in force (roles ${Object.keys(d.rules.roles).join(', ')})`);
      }),
    );
  access
    .command('versions')
    .description('every published version of a workspace’s access rules, oldest first')
    .argument('<workspace>', 'the workspace')
    .action(
      act(async (ctx, [workspace]) => {
        const doc = await ctx.gateway.send<{ versions: RulesDoc[] }>(api.accessRulesVersions(workspace as string));
        ctx.print(doc, (d) => (d.versions.length === 0 ? 'no access rules published' : d.versions.map((v) => `version ${v.version}: ${v.publishedAt} by ${v.publishedBy}`).join('\n')));
      }),
    );

  // ── operator tokens ─────────────────────────────────────────────────────────────────────────────────
  const tokens = program.command('tokens').description('operator tokens (gateway, admin role): mint, revoke');
  tokens
    .command('mint')
    .description('mint an operator token; printed (or written to --out, mode 0600); audited')
    .argument('<name>', 'who or what it is for: letters, digits, _ . @ - (1–128)')
    .option('--roles <roles>', 'ops, admin, or ops,admin (default ops)', roles)
    .option('--ttl <duration>', 'lifetime: seconds, or 90m, 12h, 30d (default and cap: the gateway’s maximum)', ttl)
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .option('--out <file>', 'write the token document there (mode 0600) instead of printing the token')
    .option('--force', 'replace --out if it exists')
    .action(
      act(async (ctx, [name], o) => {
        const file = o.out === undefined ? undefined : SecretFile.claim(ctx, o.out as string, o.force === true);
        const request = api.tokenMint(name as string, { roles: (o.roles as string[] | undefined) ?? ['ops'], ttlSeconds: o.ttl as number | undefined, reason: o.reason as string });
        type Minted = { token: string; tokenId: string; expiresAt: string };
        const minted = file ? await file.with(() => ctx.gateway.send<Minted>(request)) : await ctx.gateway.send<Minted>(request);
        if (file) ctx.print({ tokenId: minted.tokenId, expiresAt: minted.expiresAt, file: file.path }, (d) => `minted ${d.tokenId}, expires ${d.expiresAt}: written to ${d.file} (mode 0600)`);
        else ctx.print(minted, (d) => `${d.token}\n(token id ${d.tokenId}, expires ${d.expiresAt})`);
      }),
    );
  tokens
    .command('revoke')
    .description('revoke an operator token by its id: it stops working at once; audited')
    .argument('<tokenId>', 'the id `tokens mint` answered')
    .requiredOption('--reason <reason>', 'why (recorded in the audit log)', reason)
    .action(
      act(async (ctx, [tokenId], o) => {
        ctx.print(await ctx.gateway.send<{ tokenId: string; revoked: true }>(api.tokenRevoke(tokenId as string, o.reason as string)), (d) => `revoked token ${d.tokenId}`);
      }),
    );

  // ── schemas and policy revisions (journal-service) ──────────────────────────────────────────────────
  const published = (status: number, what: string): string => (status === 201 ? `published ${what}` : `${what} was already published with this definition (nothing changed)`);
  const schemas = program.command('schemas').description('entity type schemas (journal-service): publish from a file, list, show');
  schemas
    .command('publish')
    .description('publish a schema version from a JSON file naming its type and version; published versions never change')
    .argument('<file>', 'the definition (JSON)')
    .action(
      act(async (ctx, [file]) => {
        const definition = definitionFile(ctx, file as string, { name: 'type', number: 'version' });
        const { status, document } = await ctx.journal.exchange<Record<string, unknown>>(api.schemaPublish(definition));
        ctx.print(document, () => published(status, `${definition.type} v${definition.version}`));
      }),
    );
  schemas
    .command('list')
    .description('every entity type with its published versions')
    .action(
      act(async (ctx) => {
        const doc = await ctx.journal.send<{ types: { type: string; latest: number; versions: { version: number; createdAt: string }[] }[] }>(api.schemaList());
        ctx.print(doc, (d) =>
          d.types.length === 0
            ? 'no schemas published'
            : fmt.table<(typeof d.types)[number]>(
                [
                  { header: 'TYPE', value: (t) => t.type },
                  { header: 'LATEST', value: (t) => t.latest, align: 'right' },
                  { header: 'VERSIONS', value: (t) => t.versions.map((v) => v.version).join(',') },
                ],
                d.types,
              ),
        );
      }),
    );
  schemas
    .command('show')
    .description('a type’s published versions, or one version, with their definitions')
    .argument('<type>', 'the entity type')
    .argument('[version]', 'one version', integer())
    .action(
      act(async (ctx, [type, version]) => {
        ctx.print(await ctx.journal.send<unknown>(api.schemaShow(type as string, version as number | undefined)), (d) => JSON.stringify(d, null, 2));
      }),
    );

  const policies = program.command('policies').description('policy revisions of an entity type’s merge policies (journal-service): publish from a file, list, show');
  policies
    .command('publish')
    .description('publish a policy revision from a JSON file naming its type and revision; pending until a replay under it is swapped')
    .argument('<file>', 'the revision (JSON)')
    .action(
      act(async (ctx, [file]) => {
        const revision = definitionFile(ctx, file as string, { name: 'type', number: 'revision' });
        const { status, document } = await ctx.journal.exchange<Record<string, unknown>>(api.policyPublish(revision));
        ctx.print(document, () => published(status, `${revision.type} policy revision ${revision.revision}`));
      }),
    );
  policies
    .command('list')
    .description('a type’s policy revisions and the revision each workspace merges with')
    .argument('<type>', 'the entity type')
    .action(
      act(async (ctx, [type]) => {
        const doc = await ctx.journal.send<{
          type: string;
          revisions: { revision: number; createdAt: string; definition: { description?: string } }[];
          active: { workspace: string; revision: number; activatedAt: string }[];
        }>(api.policyList(type as string));
        ctx.print(doc, (d) =>
          [
            d.revisions.length === 0
              ? `${d.type}: no policy revisions published (revision 1, the declared policies, is implicit)`
              : fmt.table<(typeof d.revisions)[number]>(
                  [
                    { header: 'REVISION', value: (r) => r.revision, align: 'right' },
                    { header: 'PUBLISHED', value: (r) => r.createdAt },
                    { header: 'DESCRIPTION', value: (r) => r.definition?.description },
                  ],
                  d.revisions,
                ),
            ...d.active.map((a) => `workspace ${a.workspace} merges with revision ${a.revision} (since ${a.activatedAt})`),
          ].join('\n'),
        );
      }),
    );
  policies
    .command('show')
    .description('one policy revision with its definition')
    .argument('<type>', 'the entity type')
    .argument('<revision>', 'the revision', integer())
    .action(
      act(async (ctx, [type, revision]) => {
        ctx.print(await ctx.journal.send<unknown>(api.policyShow(type as string, revision as number)), (d) => JSON.stringify(d, null, 2));
      }),
    );
}

export function addContextCommands(program: Command, act: Act): void {
  const context = program.command('context').description('named contexts in the config file ($TIDEMARK_CONFIG, else ~/.config/tidemark/config.json): set, use, list, show');
  /** Config file failures are usage errors naming the file. */
  const configured = (ctx: Ctx) => {
    const path = configPath(ctx.io.env);
    try {
      return { path, config: readConfig(path) };
    } catch (error) {
      if (error instanceof ConfigError) return ctx.cmd.error(`error: ${error.message}`, { exitCode: EXIT.usage });
      throw error;
    }
  };
  const save = (ctx: Ctx, path: string, config: Parameters<typeof writeConfig>[1]): void => {
    try {
      writeConfig(path, config);
    } catch (error) {
      ctx.cmd.error(`error: cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { exitCode: EXIT.usage });
    }
  };
  const contextName = (text: string): string => {
    if (!CONTEXT_NAME.test(text)) throw new InvalidArgumentError('must be letters, digits, _ . - (1–64), starting with a letter or digit.');
    return text;
  };

  context
    .command('set')
    .description('add a context or change some of its settings (the others are kept); the first one becomes current')
    .argument('<name>', 'its name (e.g. prod)', contextName)
    .option('--gateway <url>', 'gateway base URL', baseUrl)
    .option('--ops <url>', 'ops-api base URL', baseUrl)
    .option('--journal <url>', 'journal-service base URL', baseUrl)
    .option('--assets <url>', 'asset-service base URL', baseUrl)
    .addOption(new Option('--token-file <file>', 'a file holding the operator token (read on every command)').conflicts('contextToken'))
    .addOption(new Option('--context-token <token>', 'the operator token itself, stored in the config file (prefer --token-file)'))
    .action(
      act(async (ctx, [name], o) => {
        const { path, config } = configured(ctx);
        const previous = config.contexts[name as string] ?? {};
        const next: TidemarkContext = { ...previous };
        if (o.gateway !== undefined) next.gatewayUrl = o.gateway as string;
        if (o.ops !== undefined) next.opsUrl = o.ops as string;
        if (o.journal !== undefined) next.journalUrl = o.journal as string;
        if (o.assets !== undefined) next.assetsUrl = o.assets as string;
        if (o.tokenFile !== undefined) {
          next.tokenFile = resolve(o.tokenFile as string);
          delete next.token;
        }
        if (o.contextToken !== undefined) {
          next.token = o.contextToken as string;
          delete next.tokenFile;
        }
        const updated = { ...config, contexts: { ...config.contexts, [name as string]: next } };
        if (updated.current === undefined) updated.current = name as string;
        save(ctx, path, updated);
        ctx.print(
          { name, current: updated.current === name, context: redacted(next), file: path },
          (d) => `context ${d.name} ${(name as string) in config.contexts ? 'updated' : 'added'}${d.current ? ' (current)' : ''} in ${d.file}`,
        );
      }),
    );
  context
    .command('use')
    .description('make a context the current one')
    .argument('<name>', 'the context')
    .action(
      act(async (ctx, [name]) => {
        const { path, config } = configured(ctx);
        if (!config.contexts[name as string])
          ctx.cmd.error(`error: no context "${String(name)}" in ${path}${Object.keys(config.contexts).length > 0 ? ` (there are: ${Object.keys(config.contexts).join(', ')})` : ''}`, {
            exitCode: EXIT.usage,
          });
        save(ctx, path, { ...config, current: name as string });
        ctx.print({ current: name }, () => `now using context ${String(name)}`);
      }),
    );
  context
    .command('list')
    .description('the contexts, the current one marked *')
    .action(
      act(async (ctx) => {
        const { config } = configured(ctx);
        const doc = { current: config.current ?? null, contexts: Object.entries(config.contexts).map(([name, c]) => ({ name, ...redacted(c) })) };
        ctx.print(doc, (d) =>
          d.contexts.length === 0
            ? 'no contexts (add one with tidemark context set <name> --gateway … --ops … --journal … --token-file …)'
            : fmt.table<(typeof d.contexts)[number]>(
                [
                  { header: '', value: (c) => (c.name === d.current ? '*' : '') },
                  { header: 'NAME', value: (c) => c.name },
                  { header: 'GATEWAY', value: (c) => c.gatewayUrl },
                  { header: 'OPS', value: (c) => c.opsUrl },
                  { header: 'JOURNAL', value: (c) => c.journalUrl },
                  { header: 'TOKEN', value: (c) => c.tokenFile ?? c.token },
                ],
                d.contexts,
              ),
        );
      }),
    );
  context
    .command('show')
    .description('one context (default: the current one); a token is never shown')
    .argument('[name]', 'the context')
    .action(
      act(async (ctx, [name]) => {
        const { path, config } = configured(ctx);
        const chosen = (name as string | undefined) ?? config.current;
        if (chosen === undefined) return ctx.cmd.error(`error: no current context in ${path} (tidemark context use <name>)`, { exitCode: EXIT.usage });
        const c = config.contexts[chosen];
        if (!c) return ctx.cmd.error(`error: no context "${chosen}" in ${path}`, { exitCode: EXIT.usage });
        ctx.print({ name: chosen, current: config.current === chosen, ...redacted(c) }, (d) =>
          fmt.fields([
            ['name', `${d.name}${d.current ? ' (current)' : ''}`],
            ['gateway', d.gatewayUrl],
            ['ops-api', d.opsUrl],
            ['journal', d.journalUrl],
            ['assets', d.assetsUrl],
            ['token', d.tokenFile ? `from ${d.tokenFile}` : d.token],
          ]),
        );
      }),
    );
}
