import { randomUUID } from 'node:crypto';
import { ProblemType, problem, type DeviceCredentials } from '@tidemark/contracts';
import type { SqlExecutor } from './audit';
import { ProblemError } from '@tidemark/platform';
import { hashRefreshToken, newRefreshToken, type TokenService } from './tokens';

export type { DeviceCredentials };

export interface DeviceRecord {
  workspace: string;
  deviceId: string;
  site: string | null;
  label: string | null;
  /** The role the device holds under its workspace's access rules (null: none; see `@tidemark/access`). */
  role: string | null;
  /** What the device's read scopes may take as parameters (e.g. `{ "projects": ["p1", "p2"] }`); see `@tidemark/access`. */
  claims: Record<string, unknown>;
  status: 'active' | 'revoked';
  generation: number;
  createdAt: string;
  revokedAt: string | null;
  lastPushedSeq: number;
  lastPushAt: string | null;
}

/** Where identities live: SQL, and a way to run a function in one transaction. */
export interface IdentityDb extends SqlExecutor {
  transaction<T>(fn: (q: SqlExecutor) => Promise<T>): Promise<T>;
}

export interface IdentityOptions {
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /**
   * How long after its first use a spent refresh token may still be exchanged, for a client that lost the
   * answer (e.g. it crashed); default 120. After that, presenting it again is reuse and ends the login.
   */
  refreshGraceSeconds?: number;
}

/**
 * Writes the audit entry of a change inside the change's own transaction, so both land or neither does.
 * `result` is what the change returns.
 */
export type AuditInTransaction<R = void> = (q: SqlExecutor, result: R) => Promise<void>;

const DEFAULT_REFRESH_GRACE_SECONDS = 120;

interface RefreshTokenRow {
  workspace: string;
  device_id: string;
  family: string;
  generation: number;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
  replaced_by: string | null;
}

const unauthorized = (detail: string, code: string): ProblemError =>
  new ProblemError(problem(ProblemType.unauthorized, 401, 'Unauthorized', { detail, code }), { 'www-authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"` });
const notFound = (what: string): ProblemError => new ProblemError(problem(ProblemType.notFound, 404, 'Not found', { detail: what }));

interface DeviceRow {
  workspace: string;
  device_id: string;
  site: string | null;
  label: string | null;
  role: string | null;
  claims: Record<string, unknown> | null;
  status: 'active' | 'revoked';
  generation: number;
  created_at: Date;
  revoked_at: Date | null;
  last_pushed_seq: string;
  last_push_at: Date | null;
}

const toRecord = (r: DeviceRow): DeviceRecord => ({
  workspace: r.workspace,
  deviceId: r.device_id,
  site: r.site,
  label: r.label,
  role: r.role,
  claims: r.claims ?? {},
  status: r.status,
  generation: r.generation,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
  lastPushedSeq: Number(r.last_pushed_seq),
  lastPushAt: r.last_push_at?.toISOString() ?? null,
});

/**
 * Workspaces, devices and their credentials in Postgres. A device's `generation` is in every access token
 * it holds; revoking or re-enrolling bumps it, so the guard refuses older tokens on the next request.
 * Refresh tokens rotate on every use. Presenting a used one again is reuse, and ends the whole login (the
 * token family), unless it comes back within `refreshGraceSeconds` of its first use, its successor was never
 * used and it was never re-presented before (the client lost the answer, e.g. it crashed): then a new pair is
 * issued, once, and the unused successor is marked superseded (used, replaced by the new token), so whoever
 * presents it later ends the login too. The window runs from the first use and does not restart, so a stolen
 * spent token is worth nothing after it.
 *
 * Presentations of one token are decided one at a time (under the device row's lock) and atomically: the
 * token's `used_at` is when its first exchange completed, and a presentation that arrived (`now`) before that
 * was in flight alongside the first one: it is concurrent, not a client that lost an answer, and is refused
 * (401 `refresh-reused`) without ending the login the winner holds. So however many presentations of one
 * token race, exactly one gets a new pair; a later re-presentation gets one more, once.
 */
export class IdentityStore {
  constructor(
    private readonly db: IdentityDb,
    private readonly tokens: TokenService,
    private readonly options: IdentityOptions,
  ) {}

  async ensureWorkspace(workspace: string, name: string, audit?: AuditInTransaction<{ created: boolean }>): Promise<{ created: boolean }> {
    return this.db.transaction(async (q) => {
      const rows: unknown[] = await q.query('INSERT INTO workspaces (workspace, name) VALUES ($1, $2) ON CONFLICT (workspace) DO NOTHING RETURNING workspace', [workspace, name]);
      const result = { created: rows.length > 0 };
      await audit?.(q, result);
      return result;
    });
  }

  async listWorkspaces(): Promise<{ workspace: string; name: string; createdAt: string; devices: number }[]> {
    const rows: { workspace: string; name: string; created_at: Date; devices: string }[] = await this.db.query(
      'SELECT w.workspace, w.name, w.created_at, (SELECT count(*) FROM devices d WHERE d.workspace = w.workspace) AS devices FROM workspaces w ORDER BY w.workspace',
    );
    return rows.map((r) => ({ workspace: r.workspace, name: r.name, createdAt: r.created_at.toISOString(), devices: Number(r.devices) }));
  }

  /** Registers a device and issues its first credentials; 409 if the id is taken in the workspace. */
  async registerDevice(
    input: { workspace: string; deviceId: string; site: string | null; label: string | null; role?: string | null; claims?: Record<string, unknown> },
    now: Date,
    audit?: AuditInTransaction,
  ): Promise<DeviceCredentials> {
    return this.db.transaction(async (q) => {
      const ws: unknown[] = await q.query('SELECT 1 FROM workspaces WHERE workspace = $1', [input.workspace]);
      if (ws.length === 0) throw notFound(`workspace "${input.workspace}" does not exist; create it first`);
      const rows: unknown[] = await q.query(
        'INSERT INTO devices (workspace, device_id, site, label, role, claims, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING device_id',
        [input.workspace, input.deviceId, input.site, input.label, input.role ?? null, JSON.stringify(input.claims ?? {}), now],
      );
      if (rows.length === 0) {
        throw new ProblemError(problem(ProblemType.conflict, 409, 'Device exists', { detail: `device "${input.deviceId}" is already registered in workspace "${input.workspace}"; re-enrol it to issue new credentials` }));
      }
      const credentials = await this.issue(q, input.workspace, input.deviceId, input.site, 1, randomUUID(), now);
      await audit?.(q);
      return credentials;
    });
  }

  /** Re-enrols a device (also a revoked one): a new generation, so every older token stops working at once. */
  async reenrol(workspace: string, deviceId: string, now: Date, audit?: AuditInTransaction): Promise<DeviceCredentials> {
    return this.db.transaction(async (q) => {
      // UPDATE … RETURNING answers differently across drivers (TypeORM wraps it), so the row is read back.
      await q.query("UPDATE devices SET status = 'active', revoked_at = NULL, generation = generation + 1 WHERE workspace = $1 AND device_id = $2", [workspace, deviceId]);
      const rows: { site: string | null; generation: number }[] = await q.query('SELECT site, generation FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      if (rows.length === 0) throw notFound(`device "${deviceId}" is not registered in workspace "${workspace}"`);
      await q.query('DELETE FROM refresh_tokens WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      const credentials = await this.issue(q, workspace, deviceId, rows[0]!.site, rows[0]!.generation, randomUUID(), now);
      await audit?.(q);
      return credentials;
    });
  }

  /** Revokes a device: its access tokens fail from the next request on, its refresh tokens are deleted. */
  async revoke(workspace: string, deviceId: string, now: Date, audit?: AuditInTransaction): Promise<DeviceRecord> {
    return this.db.transaction(async (q) => {
      await q.query("UPDATE devices SET status = 'revoked', revoked_at = coalesce(revoked_at, $3), generation = generation + 1 WHERE workspace = $1 AND device_id = $2", [workspace, deviceId, now]);
      const rows: DeviceRow[] = await q.query('SELECT * FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      if (rows.length === 0) throw notFound(`device "${deviceId}" is not registered in workspace "${workspace}"`);
      await q.query('DELETE FROM refresh_tokens WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      await audit?.(q);
      return toRecord(rows[0]!);
    });
  }

  /**
   * Gives a device a role (null: none). Its tokens keep working: the role is checked with the device's standing on
   * every push (the gateway forgets what it cached of the device on the change's notice), so the change takes effect
   * on its next request.
   */
  async setRole(workspace: string, deviceId: string, role: string | null, audit?: AuditInTransaction<{ previous: string | null }>): Promise<DeviceRecord> {
    return this.db.transaction(async (q) => {
      const before: { role: string | null }[] = await q.query('SELECT role FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE', [workspace, deviceId]);
      if (before.length === 0) throw notFound(`device "${deviceId}" is not registered in workspace "${workspace}"`);
      await q.query('UPDATE devices SET role = $3 WHERE workspace = $1 AND device_id = $2', [workspace, deviceId, role]);
      const rows: DeviceRow[] = await q.query('SELECT * FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      await audit?.(q, { previous: before[0]!.role });
      return toRecord(rows[0]!);
    });
  }

  /**
   * Replaces a device's claims (what its read scopes' parameters may be). Read with every pull, so the change
   * applies to the device's next request; subscriptions the new claims no longer allow deliver nothing.
   */
  async setClaims(workspace: string, deviceId: string, claims: Record<string, unknown>, audit?: AuditInTransaction<{ previous: Record<string, unknown> }>): Promise<DeviceRecord> {
    return this.db.transaction(async (q) => {
      const before: { claims: Record<string, unknown> }[] = await q.query('SELECT claims FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE', [workspace, deviceId]);
      if (before.length === 0) throw notFound(`device "${deviceId}" is not registered in workspace "${workspace}"`);
      await q.query('UPDATE devices SET claims = $3 WHERE workspace = $1 AND device_id = $2', [workspace, deviceId, JSON.stringify(claims)]);
      const rows: DeviceRow[] = await q.query('SELECT * FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
      await audit?.(q, { previous: before[0]!.claims });
      return toRecord(rows[0]!);
    });
  }

  /** Exchanges a refresh token for a new pair (rotation); see the class comment for reuse and the grace window. */
  async refresh(refreshToken: string, now: Date): Promise<DeviceCredentials> {
    const hash = hashRefreshToken(refreshToken);
    const graceMs = (this.options.refreshGraceSeconds ?? DEFAULT_REFRESH_GRACE_SECONDS) * 1000;
    const outcome = await this.db.transaction(async (q): Promise<{ error: ProblemError } | { credentials: DeviceCredentials }> => {
      const unknown = { error: unauthorized('the refresh token is unknown, revoked or already replaced', 'refresh-unknown') };
      const owners: { workspace: string; device_id: string }[] = await q.query('SELECT workspace, device_id FROM refresh_tokens WHERE token_hash = $1', [hash]);
      if (!owners[0]) return unknown;
      // The device row is locked first, so every refresh of a device, its revocation and its re-enrolment run
      // one after the other (revoke and reenrol lock it first too): a second refresh with the same token sees
      // the first one's outcome, and no two transactions lock the device's tokens in different orders.
      const devices: { status: string; generation: number; site: string | null }[] = await q.query('SELECT status, generation, site FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE', [owners[0].workspace, owners[0].device_id]);
      const rows: RefreshTokenRow[] = await q.query('SELECT workspace, device_id, family, generation, issued_at, expires_at, used_at, replaced_by FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [hash]);
      const row = rows[0];
      if (!row) return unknown;
      if (row.expires_at.getTime() <= now.getTime()) return { error: unauthorized('the refresh token has expired; the device must be re-enrolled', 'refresh-expired') };
      const device = devices[0];
      if (!device || device.status !== 'active' || device.generation !== row.generation) return { error: unauthorized('the device has been revoked or re-enrolled', 'device-revoked') };
      const raced = { error: unauthorized('this refresh token was exchanged by a concurrent request; only one exchange of a token succeeds', 'refresh-reused') };
      if (row.used_at && now.getTime() <= row.used_at.getTime()) return raced;
      if (row.used_at) {
        const verdict = await this.forgivable(q, hash, row, now, graceMs);
        if (verdict === 'raced') return raced;
        if (verdict === 'reuse') {
          // A spent token presented again: someone else may hold it. End the whole family.
          await q.query('DELETE FROM refresh_tokens WHERE family = $1', [row.family]);
          return { error: unauthorized('refresh token reuse detected; every refresh token of this device login is revoked, re-enrol the device', 'refresh-reused') };
        }
      }
      const credentials = await this.issue(q, row.workspace, row.device_id, device.site, device.generation, row.family, now);
      const successor = hashRefreshToken(credentials.refreshToken);
      // When this exchange completes (never before the presentation arrived): presentations that arrived until then raced it.
      const completed = new Date(Math.max(now.getTime(), Date.now()));
      // The unused successor of a forgiven token is superseded: spent, replaced by the new one.
      if (row.used_at) await q.query('UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 WHERE token_hash = $1', [row.replaced_by, completed, successor]);
      // used_at keeps the first use, so the grace window does not restart.
      await q.query('UPDATE refresh_tokens SET used_at = coalesce(used_at, $2), replaced_by = $3 WHERE token_hash = $1', [hash, completed, successor]);
      return { credentials };
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.credentials;
  }

  /**
   * Whether a spent token may be exchanged once more: within the grace window of its first use, its successor
   * never used, and neither forgiven before nor itself a superseded successor. A forgiveness leaves the forgiven
   * token and the successor it superseded pointing at the same new token, so a token whose successor another
   * token of the login also points at has had its one re-presentation (or is the superseded one). A presentation
   * that arrived before that re-presentation completed (the superseded token's `used_at`) raced it.
   */
  private async forgivable(q: SqlExecutor, hash: string, row: RefreshTokenRow, now: Date, graceMs: number): Promise<'forgive' | 'reuse' | 'raced'> {
    if (!row.used_at || !row.replaced_by) return 'reuse';
    const shared: { used_at: Date | null }[] = await q.query('SELECT used_at FROM refresh_tokens WHERE family = $1 AND replaced_by = $2 AND token_hash <> $3', [row.family, row.replaced_by, hash]);
    if (shared.some((t) => t.used_at !== null && now.getTime() <= t.used_at.getTime())) return 'raced';
    if (shared.length > 0 || now.getTime() - row.used_at.getTime() > graceMs) return 'reuse';
    const successor: { used_at: Date | null }[] = await q.query('SELECT used_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [row.replaced_by]);
    return successor.length === 0 || successor[0]!.used_at ? 'reuse' : 'forgive';
  }

  async device(workspace: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const rows: DeviceRow[] = await this.db.query('SELECT * FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async listDevices(workspace: string, limit: number, after: string | null): Promise<DeviceRecord[]> {
    const rows: DeviceRow[] = await this.db.query('SELECT * FROM devices WHERE workspace = $1 AND ($2::text IS NULL OR device_id > $2) ORDER BY device_id LIMIT $3', [workspace, after, limit]);
    return rows.map(toRecord);
  }

  async revokeOperatorToken(tokenId: string, by: string, reason: string, audit?: AuditInTransaction): Promise<void> {
    await this.db.transaction(async (q) => {
      await q.query('INSERT INTO operator_token_revocations (token_id, revoked_by, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tokenId, by, reason]);
      await audit?.(q);
    });
  }

  /** Notes devices' highest pushed sequences once the journal acknowledged them (one statement for all). */
  async recordPushes(marks: readonly { workspace: string; deviceId: string; maxSeq: number; at: Date }[]): Promise<void> {
    if (marks.length === 0) return;
    await this.db.query(
      `UPDATE devices d SET last_pushed_seq = GREATEST(d.last_pushed_seq, m.seq), last_push_at = GREATEST(coalesce(d.last_push_at, m.at), m.at)
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) AS m(workspace, device_id, seq, at)
        WHERE d.workspace = m.workspace AND d.device_id = m.device_id`,
      [marks.map((m) => m.workspace), marks.map((m) => m.deviceId), marks.map((m) => m.maxSeq), marks.map((m) => m.at)],
    );
  }

  private async issue(q: SqlExecutor, workspace: string, deviceId: string, site: string | null, generation: number, family: string, now: Date): Promise<DeviceCredentials> {
    const access = await this.tokens.issueDeviceAccess({ workspace, deviceId, site, generation }, now, this.options.accessTtlSeconds);
    const refresh = newRefreshToken();
    const refreshExpires = new Date(now.getTime() + this.options.refreshTtlSeconds * 1000);
    await q.query(
      'INSERT INTO refresh_tokens (token_hash, workspace, device_id, family, generation, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [refresh.hash, workspace, deviceId, family, generation, now, refreshExpires],
    );
    return { workspace, deviceId, site, accessToken: access.token, accessTokenExpiresAt: access.expiresAt.toISOString(), refreshToken: refresh.token, refreshTokenExpiresAt: refreshExpires.toISOString() };
  }
}
