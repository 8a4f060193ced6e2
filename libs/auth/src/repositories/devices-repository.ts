import type { DeviceRecord } from '@tidemark/contracts';
import type { SqlExecutor } from './audit-repository';

export type { DeviceRecord };

/** What the standing check reads: a device's status and token generation (undefined: no such device). */
export interface DeviceStanding {
  status: string;
  generation: number;
}

/** A refresh token as stored (only its SHA-256 is kept, as the key). */
export interface RefreshTokenRow {
  workspace: string;
  device_id: string;
  family: string;
  generation: number;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
  replaced_by: string | null;
}

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
 * Workspaces, devices and their credentials (`workspaces`, `devices`, `refresh_tokens`, `operator_token_revocations`).
 * Built on a transaction's executor, every statement runs in that transaction; the `lock…` reads take row locks
 * held to its end.
 */
export class DevicesRepository {
  constructor(private readonly sql: SqlExecutor) {}

  /** Creates a workspace unless it exists: whether it was created. */
  async insertWorkspace(workspace: string, name: string): Promise<boolean> {
    const rows: unknown[] = await this.sql.query('INSERT INTO workspaces (workspace, name) VALUES ($1, $2) ON CONFLICT (workspace) DO NOTHING RETURNING workspace', [workspace, name]);
    return rows.length > 0;
  }

  async workspaceExists(workspace: string): Promise<boolean> {
    const rows: unknown[] = await this.sql.query('SELECT 1 FROM workspaces WHERE workspace = $1', [workspace]);
    return rows.length > 0;
  }

  async listWorkspaces(): Promise<{ workspace: string; name: string; createdAt: string; devices: number }[]> {
    const rows: { workspace: string; name: string; created_at: Date; devices: string }[] = await this.sql.query(
      'SELECT w.workspace, w.name, w.created_at, (SELECT count(*) FROM devices d WHERE d.workspace = w.workspace) AS devices FROM workspaces w ORDER BY w.workspace',
    );
    return rows.map((r) => ({ workspace: r.workspace, name: r.name, createdAt: r.created_at.toISOString(), devices: Number(r.devices) }));
  }

  /** Registers a device unless its id is taken in the workspace: whether it was registered. */
  async insertDevice(input: { workspace: string; deviceId: string; site: string | null; label: string | null; role: string | null; claims: Record<string, unknown> }, now: Date): Promise<boolean> {
    const rows: unknown[] = await this.sql.query(
      'INSERT INTO devices (workspace, device_id, site, label, role, claims, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING device_id',
      [input.workspace, input.deviceId, input.site, input.label, input.role, JSON.stringify(input.claims), now],
    );
    return rows.length > 0;
  }

  async device(workspace: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const rows: DeviceRow[] = await this.sql.query('SELECT * FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async listDevices(workspace: string, limit: number, after: string | null): Promise<DeviceRecord[]> {
    const rows: DeviceRow[] = await this.sql.query('SELECT * FROM devices WHERE workspace = $1 AND ($2::text IS NULL OR device_id > $2) ORDER BY device_id LIMIT $3', [workspace, after, limit]);
    return rows.map(toRecord);
  }

  /** Re-activates a device with the next generation; its site and new generation (undefined: no such device). */
  async reenrol(workspace: string, deviceId: string): Promise<{ site: string | null; generation: number } | undefined> {
    // UPDATE … RETURNING answers differently across drivers (TypeORM wraps it), so the row is read back.
    await this.sql.query("UPDATE devices SET status = 'active', revoked_at = NULL, generation = generation + 1 WHERE workspace = $1 AND device_id = $2", [workspace, deviceId]);
    const rows: { site: string | null; generation: number }[] = await this.sql.query('SELECT site, generation FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
    return rows[0];
  }

  /** Revokes a device with the next generation (keeping the first revocation time); the device as it now is. */
  async revoke(workspace: string, deviceId: string, now: Date): Promise<DeviceRecord | undefined> {
    await this.sql.query("UPDATE devices SET status = 'revoked', revoked_at = coalesce(revoked_at, $3), generation = generation + 1 WHERE workspace = $1 AND device_id = $2", [
      workspace,
      deviceId,
      now,
    ]);
    return this.device(workspace, deviceId);
  }

  /** Locks the device's row and reads its role (undefined: no such device). */
  async lockRole(workspace: string, deviceId: string): Promise<{ role: string | null } | undefined> {
    const rows: { role: string | null }[] = await this.sql.query('SELECT role FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE', [workspace, deviceId]);
    return rows[0];
  }

  async setRole(workspace: string, deviceId: string, role: string | null): Promise<void> {
    await this.sql.query('UPDATE devices SET role = $3 WHERE workspace = $1 AND device_id = $2', [workspace, deviceId, role]);
  }

  /** Locks the device's row and reads its claims (undefined: no such device). */
  async lockClaims(workspace: string, deviceId: string): Promise<{ claims: Record<string, unknown> } | undefined> {
    const rows: { claims: Record<string, unknown> }[] = await this.sql.query('SELECT claims FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE', [workspace, deviceId]);
    return rows[0];
  }

  async setClaims(workspace: string, deviceId: string, claims: Record<string, unknown>): Promise<void> {
    await this.sql.query('UPDATE devices SET claims = $3 WHERE workspace = $1 AND device_id = $2', [workspace, deviceId, JSON.stringify(claims)]);
  }

  /** Locks the device's row and reads what a refresh checks (undefined: no such device). */
  async lockStanding(workspace: string, deviceId: string): Promise<{ status: string; generation: number; site: string | null } | undefined> {
    const rows: { status: string; generation: number; site: string | null }[] = await this.sql.query(
      'SELECT status, generation, site FROM devices WHERE workspace = $1 AND device_id = $2 FOR UPDATE',
      [workspace, deviceId],
    );
    return rows[0];
  }

  /** A device's standing, for the check every request makes (undefined: no such device). */
  async standing(workspace: string, deviceId: string): Promise<DeviceStanding | undefined> {
    const rows: DeviceStanding[] = await this.sql.query('SELECT status, generation FROM devices WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
    return rows[0];
  }

  async insertRefreshToken(token: { hash: string; workspace: string; deviceId: string; family: string; generation: number; issuedAt: Date; expiresAt: Date }): Promise<void> {
    await this.sql.query('INSERT INTO refresh_tokens (token_hash, workspace, device_id, family, generation, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      token.hash,
      token.workspace,
      token.deviceId,
      token.family,
      token.generation,
      token.issuedAt,
      token.expiresAt,
    ]);
  }

  /** The device a refresh token belongs to (undefined: unknown token). */
  async refreshTokenOwner(hash: string): Promise<{ workspace: string; deviceId: string } | undefined> {
    const rows: { workspace: string; device_id: string }[] = await this.sql.query('SELECT workspace, device_id FROM refresh_tokens WHERE token_hash = $1', [hash]);
    return rows[0] && { workspace: rows[0].workspace, deviceId: rows[0].device_id };
  }

  /** Locks a refresh token's row and reads it (undefined: unknown token). */
  async lockRefreshToken(hash: string): Promise<RefreshTokenRow | undefined> {
    const rows: RefreshTokenRow[] = await this.sql.query(
      'SELECT workspace, device_id, family, generation, issued_at, expires_at, used_at, replaced_by FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
      [hash],
    );
    return rows[0];
  }

  /** When the other tokens of the family that point at the same successor were used (a forgiveness leaves two). */
  async usesOfSharedSuccessor(family: string, successor: string, except: string): Promise<(Date | null)[]> {
    const rows: { used_at: Date | null }[] = await this.sql.query('SELECT used_at FROM refresh_tokens WHERE family = $1 AND replaced_by = $2 AND token_hash <> $3', [family, successor, except]);
    return rows.map((r) => r.used_at);
  }

  /** Locks a token's row and reads when it was used (undefined: no such token; null: unused). */
  async lockRefreshTokenUse(hash: string): Promise<Date | null | undefined> {
    const rows: { used_at: Date | null }[] = await this.sql.query('SELECT used_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [hash]);
    return rows.length === 0 ? undefined : rows[0]!.used_at;
  }

  /** Marks a token spent at `at` and replaced by `successor` (overwriting the time: a superseded successor). */
  async supersedeRefreshToken(hash: string, at: Date, successor: string): Promise<void> {
    await this.sql.query('UPDATE refresh_tokens SET used_at = $2, replaced_by = $3 WHERE token_hash = $1', [hash, at, successor]);
  }

  /** Marks a token spent and replaced by `successor`; its first use time is kept. */
  async spendRefreshToken(hash: string, at: Date, successor: string): Promise<void> {
    await this.sql.query('UPDATE refresh_tokens SET used_at = coalesce(used_at, $2), replaced_by = $3 WHERE token_hash = $1', [hash, at, successor]);
  }

  async deleteRefreshTokenFamily(family: string): Promise<void> {
    await this.sql.query('DELETE FROM refresh_tokens WHERE family = $1', [family]);
  }

  async deleteRefreshTokensOf(workspace: string, deviceId: string): Promise<void> {
    await this.sql.query('DELETE FROM refresh_tokens WHERE workspace = $1 AND device_id = $2', [workspace, deviceId]);
  }

  async revokeOperatorToken(tokenId: string, by: string, reason: string): Promise<void> {
    await this.sql.query('INSERT INTO operator_token_revocations (token_id, revoked_by, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tokenId, by, reason]);
  }

  async operatorTokenRevoked(tokenId: string): Promise<boolean> {
    const rows: unknown[] = await this.sql.query('SELECT 1 FROM operator_token_revocations WHERE token_id = $1', [tokenId]);
    return rows.length > 0;
  }
}
