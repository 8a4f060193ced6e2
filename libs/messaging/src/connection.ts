import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
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

/** Connects to NATS with reconnects forever (a service outlives a broker restart) and opens JetStream. */
export async function connectJetStream(options: ConnectOptions): Promise<JetStreamConnection> {
  const nc = await connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: options.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    noAsyncTraces: !(options.asyncTraces ?? false),
    ...(options.credsFile ? { authenticator: credsAuthenticator(readFileSync(options.credsFile)) } : {}),
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
