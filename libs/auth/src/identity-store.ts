import { randomUUID } from 'node:crypto';
import type { DeviceCredentials } from '@tidemark/contracts';
import type { SqlExecutor } from './audit';
import { DevicesRepository, type DeviceRecord, type RefreshTokenRow } from './repositories/devices-repository';
import { hashRefreshToken, newRefreshToken, type TokenService } from './tokens';

export type { DeviceCredentials, DeviceRecord };

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

/**
 * Why an identity change was refused. The store knows nothing of HTTP: the edge maps the codes (the gateway's
 * `identityProblem`: unknown workspace or device 404, device exists 409, the refresh codes 401).
 */
export type IdentityFailureCode =
  | 'workspace-unknown'
  | 'device-unknown'
  | 'device-exists'
  /** The refresh token is unknown, revoked or already replaced. */
  | 'refresh-unknown'
  | 'refresh-expired'
  /** The device of the refresh token was revoked or re-enrolled since it was issued. */
  | 'device-revoked'
  /** Raced by a concurrent exchange of the same token, or reuse of a spent one (which ended the login). */
  | 'refresh-reused';

export interface IdentityFailure {
  code: IdentityFailureCode;
  detail: string;
}

export type IdentityResult<T> = { ok: true; value: T } | { ok: false; failure: IdentityFailure };

const DEFAULT_REFRESH_GRACE_SECONDS = 120;

const ok = <T>(value: T): IdentityResult<T> => ({ ok: true, value });
const fail = (code: IdentityFailureCode, detail: string): { ok: false; failure: IdentityFailure } => ({ ok: false, failure: { code, detail } });
const noDevice = (workspace: string, deviceId: string) => fail('device-unknown', `device "${deviceId}" is not registered in workspace "${workspace}"`);

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
 * (`refresh-reused`) without ending the login the winner holds. So however many presentations of one
 * token race, exactly one gets a new pair; a later re-presentation gets one more, once.
 */
export class IdentityStore {
  private readonly devices: DevicesRepository;

  constructor(
    private readonly db: IdentityDb,
    private readonly tokens: TokenService,
    private readonly options: IdentityOptions,
  ) {
    this.devices = new DevicesRepository(db);
  }

  async ensureWorkspace(workspace: string, name: string, audit?: AuditInTransaction<{ created: boolean }>): Promise<{ created: boolean }> {
    return this.db.transaction(async (q) => {
      const result = { created: await new DevicesRepository(q).insertWorkspace(workspace, name) };
      await audit?.(q, result);
      return result;
    });
  }

  listWorkspaces(): Promise<{ workspace: string; name: string; createdAt: string; devices: number }[]> {
    return this.devices.listWorkspaces();
  }

  /** Registers a device and issues its first credentials; `device-exists` if the id is taken in the workspace. */
  async registerDevice(
    input: { workspace: string; deviceId: string; site: string | null; label: string | null; role?: string | null; claims?: Record<string, unknown> },
    now: Date,
    audit?: AuditInTransaction,
  ): Promise<IdentityResult<DeviceCredentials>> {
    return this.db.transaction(async (q) => {
      const devices = new DevicesRepository(q);
      if (!(await devices.workspaceExists(input.workspace))) return fail('workspace-unknown', `workspace "${input.workspace}" does not exist; create it first`);
      if (!(await devices.insertDevice({ ...input, role: input.role ?? null, claims: input.claims ?? {} }, now))) {
        return fail('device-exists', `device "${input.deviceId}" is already registered in workspace "${input.workspace}"; re-enrol it to issue new credentials`);
      }
      const credentials = await this.issue(devices, input.workspace, input.deviceId, input.site, 1, randomUUID(), now);
      await audit?.(q);
      return ok(credentials);
    });
  }

  /** Re-enrols a device (also a revoked one): a new generation, so every older token stops working at once. */
  async reenrol(workspace: string, deviceId: string, now: Date, audit?: AuditInTransaction): Promise<IdentityResult<DeviceCredentials>> {
    return this.db.transaction(async (q) => {
      const devices = new DevicesRepository(q);
      const device = await devices.reenrol(workspace, deviceId);
      if (!device) return noDevice(workspace, deviceId);
      await devices.deleteRefreshTokensOf(workspace, deviceId);
      const credentials = await this.issue(devices, workspace, deviceId, device.site, device.generation, randomUUID(), now);
      await audit?.(q);
      return ok(credentials);
    });
  }

  /** Revokes a device: its access tokens fail from the next request on, its refresh tokens are deleted. */
  async revoke(workspace: string, deviceId: string, now: Date, audit?: AuditInTransaction): Promise<IdentityResult<DeviceRecord>> {
    return this.db.transaction(async (q) => {
      const devices = new DevicesRepository(q);
      const record = await devices.revoke(workspace, deviceId, now);
      if (!record) return noDevice(workspace, deviceId);
      await devices.deleteRefreshTokensOf(workspace, deviceId);
      await audit?.(q);
      return ok(record);
    });
  }

  /**
   * Gives a device a role (null: none). Its tokens keep working: the role is checked with the device's standing on
   * every push (the gateway forgets what it cached of the device on the change's notice), so the change takes effect
   * on its next request.
   */
  async setRole(workspace: string, deviceId: string, role: string | null, audit?: AuditInTransaction<{ previous: string | null }>): Promise<IdentityResult<DeviceRecord>> {
    return this.db.transaction(async (q) => {
      const devices = new DevicesRepository(q);
      const before = await devices.lockRole(workspace, deviceId);
      if (!before) return noDevice(workspace, deviceId);
      await devices.setRole(workspace, deviceId, role);
      const record = await devices.device(workspace, deviceId);
      await audit?.(q, { previous: before.role });
      return ok(record!);
    });
  }

  /**
   * Replaces a device's claims (what its read scopes' parameters may be). Read with every pull, so the change
   * applies to the device's next request; subscriptions the new claims no longer allow deliver nothing.
   */
  async setClaims(workspace: string, deviceId: string, claims: Record<string, unknown>, audit?: AuditInTransaction<{ previous: Record<string, unknown> }>): Promise<IdentityResult<DeviceRecord>> {
    return this.db.transaction(async (q) => {
      const devices = new DevicesRepository(q);
      const before = await devices.lockClaims(workspace, deviceId);
      if (!before) return noDevice(workspace, deviceId);
      await devices.setClaims(workspace, deviceId, claims);
      const record = await devices.device(workspace, deviceId);
      await audit?.(q, { previous: before.claims });
      return ok(record!);
    });
  }

  /** Exchanges a refresh token for a new pair (rotation); see the class comment for reuse and the grace window. */
  async refresh(refreshToken: string, now: Date): Promise<IdentityResult<DeviceCredentials>> {
    const hash = hashRefreshToken(refreshToken);
    const graceMs = (this.options.refreshGraceSeconds ?? DEFAULT_REFRESH_GRACE_SECONDS) * 1000;
    // A refusal commits what it did: reuse ends the login (the family is deleted) and the refusal stands.
    return this.db.transaction(async (q): Promise<IdentityResult<DeviceCredentials>> => {
      const devices = new DevicesRepository(q);
      const unknown = fail('refresh-unknown', 'the refresh token is unknown, revoked or already replaced');
      const owner = await devices.refreshTokenOwner(hash);
      if (!owner) return unknown;
      // The device row is locked first, so every refresh of a device, its revocation and its re-enrolment run
      // one after the other (revoke and reenrol lock it first too): a second refresh with the same token sees
      // the first one's outcome, and no two transactions lock the device's tokens in different orders.
      const device = await devices.lockStanding(owner.workspace, owner.deviceId);
      const row = await devices.lockRefreshToken(hash);
      if (!row) return unknown;
      if (row.expires_at.getTime() <= now.getTime()) return fail('refresh-expired', 'the refresh token has expired; the device must be re-enrolled');
      if (!device || device.status !== 'active' || device.generation !== row.generation) return fail('device-revoked', 'the device has been revoked or re-enrolled');
      const raced = fail('refresh-reused', 'this refresh token was exchanged by a concurrent request; only one exchange of a token succeeds');
      if (row.used_at && now.getTime() <= row.used_at.getTime()) return raced;
      if (row.used_at) {
        const verdict = await this.forgivable(devices, hash, row, now, graceMs);
        if (verdict === 'raced') return raced;
        if (verdict === 'reuse') {
          // A spent token presented again: someone else may hold it. End the whole family.
          await devices.deleteRefreshTokenFamily(row.family);
          return fail('refresh-reused', 'refresh token reuse detected; every refresh token of this device login is revoked, re-enrol the device');
        }
      }
      const credentials = await this.issue(devices, row.workspace, row.device_id, device.site, device.generation, row.family, now);
      const successor = hashRefreshToken(credentials.refreshToken);
      // When this exchange completes (never before the presentation arrived): presentations that arrived until then raced it.
      const completed = new Date(Math.max(now.getTime(), Date.now()));
      // The unused successor of a forgiven token is superseded: spent, replaced by the new one.
      if (row.used_at) await devices.supersedeRefreshToken(row.replaced_by!, completed, successor);
      // used_at keeps the first use, so the grace window does not restart.
      await devices.spendRefreshToken(hash, completed, successor);
      return ok(credentials);
    });
  }

  /**
   * Whether a spent token may be exchanged once more: within the grace window of its first use, its successor
   * never used, and neither forgiven before nor itself a superseded successor. A forgiveness leaves the forgiven
   * token and the successor it superseded pointing at the same new token, so a token whose successor another
   * token of the login also points at has had its one re-presentation (or is the superseded one). A presentation
   * that arrived before that re-presentation completed (the superseded token's `used_at`) raced it.
   */
  private async forgivable(devices: DevicesRepository, hash: string, row: RefreshTokenRow, now: Date, graceMs: number): Promise<'forgive' | 'reuse' | 'raced'> {
    if (!row.used_at || !row.replaced_by) return 'reuse';
    const shared = await devices.usesOfSharedSuccessor(row.family, row.replaced_by, hash);
    if (shared.some((usedAt) => usedAt !== null && now.getTime() <= usedAt.getTime())) return 'raced';
    if (shared.length > 0 || now.getTime() - row.used_at.getTime() > graceMs) return 'reuse';
    const successorUsed = await devices.lockRefreshTokenUse(row.replaced_by);
    return successorUsed === undefined || successorUsed ? 'reuse' : 'forgive';
  }

  device(workspace: string, deviceId: string): Promise<DeviceRecord | undefined> {
    return this.devices.device(workspace, deviceId);
  }

  listDevices(workspace: string, limit: number, after: string | null): Promise<DeviceRecord[]> {
    return this.devices.listDevices(workspace, limit, after);
  }

  async revokeOperatorToken(tokenId: string, by: string, reason: string, audit?: AuditInTransaction): Promise<void> {
    await this.db.transaction(async (q) => {
      await new DevicesRepository(q).revokeOperatorToken(tokenId, by, reason);
      await audit?.(q);
    });
  }

  private async issue(devices: DevicesRepository, workspace: string, deviceId: string, site: string | null, generation: number, family: string, now: Date): Promise<DeviceCredentials> {
    const access = await this.tokens.issueDeviceAccess({ workspace, deviceId, site, generation }, now, this.options.accessTtlSeconds);
    const refresh = newRefreshToken();
    const refreshExpires = new Date(now.getTime() + this.options.refreshTtlSeconds * 1000);
    await devices.insertRefreshToken({ hash: refresh.hash, workspace, deviceId, family, generation, issuedAt: now, expiresAt: refreshExpires });
    return {
      workspace,
      deviceId,
      site,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refreshExpires.toISOString(),
    };
  }
}
