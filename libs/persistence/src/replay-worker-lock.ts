import { Client } from 'pg';
import { connectionSettings } from './data-source';

const LOCK_SPACE = 0x746d; // 'tm'
const LOCK_REPLAY = 0x7270; // 'rp'

/**
 * The session advisory lock that makes one replay worker run at a time across every replica, held by a
 * Postgres session of its own: released when the holder dies, so another replica takes over.
 */
export class ReplayWorkerLock {
  private session: Client | undefined;
  private locked = false;

  constructor(private readonly o: { databaseUrl: string; connectTimeoutMs?: number; onLost: (error: Error) => void }) {}

  /** Whether this session holds the lock (taking it when free; reconnecting when the session was lost). */
  async acquire(): Promise<boolean> {
    if (this.session && this.locked) return true;
    if (!this.session) {
      const client = new Client({ connectionString: this.o.databaseUrl, ...connectionSettings({ connectTimeoutMs: this.o.connectTimeoutMs, applicationName: 'tidemark-replay-worker' }) });
      client.on('error', (error) => {
        this.o.onLost(error);
        this.locked = false;
        this.session = undefined;
      });
      await client.connect();
      this.session = client;
    }
    const rows = await this.session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_SPACE, LOCK_REPLAY]);
    this.locked = rows.rows[0]?.ok === true;
    return this.locked;
  }

  /** Ends the session (and with it the lock). */
  async release(): Promise<void> {
    await this.session?.end().catch(() => undefined);
  }
}
