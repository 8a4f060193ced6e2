import type { DeviceCredentials } from '@tidemark/contracts';
import { StorageFormatError } from '../errors';
import type { Storage } from '../storage/storage';

export type { DeviceCredentials };

export const CREDENTIALS_KEY = 'credentials';

/** Exchanges a refresh token for new credentials (the gateway's `POST /v1/auth/refresh`). */
export type RefreshCall = (refreshToken: string, signal: AbortSignal) => Promise<DeviceCredentials>;

function isCredentials(value: unknown): value is DeviceCredentials {
  const v = value as Record<string, unknown> | null;
  return !!v && ['workspace', 'deviceId', 'accessToken', 'refreshToken'].every((k) => typeof v[k] === 'string');
}

/**
 * Keeps the device's tokens. Refresh tokens rotate: each refresh spends the old one, so the new pair is
 * written to storage before it is used. If the process dies between the server's answer and that write,
 * the stored (spent) token is presented again on restart; the gateway accepts that once, because the
 * successor it issued was never used. Refreshes are single-flight: concurrent 401s share one refresh.
 */
export class TokenKeeper {
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly storage: Storage,
    private credentials: DeviceCredentials,
  ) {}

  /**
   * Set when tabs share the storage: runs a refresh holding a lock of the device across every tab, so only one
   * of them spends the refresh token (the others find the rotated pair in storage and take it).
   */
  exclusive: (<T>(work: () => Promise<T>) => Promise<T>) | undefined;

  /** The stored credentials, or `initial` stored as the first ones; undefined when there are neither. */
  static async open(storage: Storage, initial?: DeviceCredentials): Promise<TokenKeeper | undefined> {
    const text = await storage.get(CREDENTIALS_KEY);
    if (text !== undefined) {
      let stored: unknown;
      try {
        stored = JSON.parse(text);
      } catch (error) {
        throw new StorageFormatError(`storage record ${CREDENTIALS_KEY} is not JSON`, { cause: error });
      }
      if (!isCredentials(stored)) throw new StorageFormatError(`storage record ${CREDENTIALS_KEY} is not a set of device credentials`);
      if (initial && (initial.workspace !== stored.workspace || initial.deviceId !== stored.deviceId)) {
        throw new RangeError(`this storage belongs to device ${stored.workspace}/${stored.deviceId}, not ${initial.workspace}/${initial.deviceId}`);
      }
      // Newer credentials handed in (a re-enrolment) replace the stored ones.
      if (initial && initial.refreshToken !== stored.refreshToken && initial.accessTokenExpiresAt > stored.accessTokenExpiresAt) {
        await storage.put(CREDENTIALS_KEY, JSON.stringify(initial));
        return new TokenKeeper(storage, initial);
      }
      return new TokenKeeper(storage, stored);
    }
    if (!initial) return undefined;
    if (!isCredentials(initial)) throw new TypeError('credentials need workspace, deviceId, accessToken and refreshToken');
    await storage.put(CREDENTIALS_KEY, JSON.stringify(initial));
    return new TokenKeeper(storage, initial);
  }

  get current(): DeviceCredentials {
    return this.credentials;
  }

  authorization(): string {
    return `Bearer ${this.credentials.accessToken}`;
  }

  /** Takes the credentials in storage when another tab of the device rotated them; true when it did. */
  async reload(): Promise<boolean> {
    const text = await this.storage.get(CREDENTIALS_KEY);
    const stored: unknown = text === undefined ? undefined : JSON.parse(text);
    if (!isCredentials(stored) || stored.refreshToken === this.credentials.refreshToken) return false;
    this.credentials = stored;
    return true;
  }

  /**
   * Rotates the tokens through `call`; the new ones are durable before they are used. When tabs share the
   * storage and another one rotated them meanwhile, its pair is taken instead (a spent token is never sent).
   */
  refresh(call: RefreshCall, signal: AbortSignal): Promise<void> {
    const rotate = async () => {
      if (this.exclusive && (await this.reload())) return;
      const next = await call(this.credentials.refreshToken, signal);
      if (!isCredentials(next)) throw new Error('the refresh answer holds no credentials');
      await this.storage.put(CREDENTIALS_KEY, JSON.stringify(next));
      this.credentials = next;
    };
    this.refreshing ??= (this.exclusive ? this.exclusive(rotate) : rotate()).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }
}
