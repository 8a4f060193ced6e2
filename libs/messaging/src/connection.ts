import { connect, credsAuthenticator, nkeyAuthenticator, type Authenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { readFileSync } from 'node:fs';

export interface JetStreamConnection {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Drains subscriptions and closes; resolves when closed. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  servers: string;
  name: string;
  /** A JWT credentials file (operator mode, from nsc) or a user NKey seed file (server-config users); see {@link credentialsAuthenticator}. */
  credsFile?: string;
  /** Milliseconds a JetStream API call or publish waits for its answer. */
  timeoutMs?: number;
  /**
   * Whether every request (each JetStream publish is one) captures the caller's stack up front, so an error
   * answered later points at the call (the client's `noAsyncTraces: false`). Off by default: it builds a
   * RequestError and a TimeoutError per publish, most of the client's CPU on a busy push path. Errors keep
   * their name and message either way.
   */
  asyncTraces?: boolean;
}

const USER_SEED = /^SU[A-Z2-7]{56}$/;

/**
 * The authenticator for a credentials file's contents: a file holding only a user NKey seed (`SU…`, for
 * a server whose configuration lists the user's public key, `users: [{ nkey: U… }]`) signs the server's
 * nonce with it; anything else is read as a JWT credentials file (the user JWT and its seed, operator mode).
 */
export function credentialsAuthenticator(contents: Uint8Array): Authenticator {
  const text = Buffer.from(contents).toString('utf8').trim();
  if (USER_SEED.test(text)) return nkeyAuthenticator(new TextEncoder().encode(text));
  return credsAuthenticator(contents);
}

/** Connects to NATS with reconnects forever (a service outlives a broker restart) and opens JetStream. */
export async function connectJetStream(options: ConnectOptions): Promise<JetStreamConnection> {
  const nc = await connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    noAsyncTraces: !(options.asyncTraces ?? false),
    ...(options.credsFile ? { authenticator: credentialsAuthenticator(readFileSync(options.credsFile)) } : {}),
  });
  const timeout = options.timeoutMs ?? 5000;
  const js = jetstream(nc, { timeout });
  const jsm = await jetstreamManager(nc, { timeout });
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (nc.isClosed()) return;
      await nc.drain().catch(() => nc.close());
    },
  };
}

/** Readiness: the NATS connection is up and JetStream answers. */
export function natsCheck(connection: () => JetStreamConnection | undefined): { name: string; check(): Promise<void> } {
  return {
    name: 'nats',
    check: async () => {
      const c = connection();
      if (!c || c.nc.isClosed()) throw new Error('not connected');
      await c.jsm.getAccountInfo();
    },
  };
}
