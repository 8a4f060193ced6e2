import { createConnection, createServer } from 'node:net';

/**
 * Asks the kernel for a TCP port that is free on `host` right now and returns it.
 * Another process may take it before you bind it; the start functions retry with a new port when
 * they chose it themselves and it turns out to be taken.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : port > 0 ? resolve(port) : reject(new Error('the kernel returned no port'))));
    });
  });
}

/** Resolves `true` when `port` can be bound on `host` at this moment. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Returns `preferred` when it is free on `host`, otherwise a free port chosen by the kernel.
 * Used for the embedded stack's stable defaults (NATS 14222, Postgres 15432, S3 19000).
 */
export async function preferPort(preferred: number, host = '127.0.0.1'): Promise<number> {
  return (await isPortFree(preferred, host)) ? preferred : findFreePort(host);
}

/** Resolves `true` when a TCP connection to `host:port` succeeds within `timeoutMs`. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The port for one start attempt: `explicit` when given; otherwise `preferred` on the first attempt when it
 * is free; otherwise a free one. Start functions call it after claiming their data directory, so orphans of
 * a crashed run have already released a stable port.
 */
export async function choosePort(explicit: number | undefined, preferred: number | undefined, host: string, attempt: number): Promise<number> {
  if (explicit !== undefined) return explicit;
  if (preferred !== undefined && attempt === 1 && (await isPortFree(preferred, host))) return preferred;
  return findFreePort(host);
}
