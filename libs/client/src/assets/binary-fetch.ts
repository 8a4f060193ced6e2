import type { HttpAuth } from '../http';

/** `fetch` with binary bodies, as Node 20 and browsers have it (injectable). */
export type BinaryFetch = (
  input: string,
  init: { method: string; headers: Record<string, string>; body?: Uint8Array; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> }>;

/** Bytes this transport put on the wire in PATCH bodies, per upload URL (what a resume saved is measured with). */
export type SentMeter = (url: string, bytes: number) => void;

/**
 * Sends one request with the device's bearer token; on a 401 renews the token once (as pushes do) and sends
 * again. Used for tus and for downloads, so both share the client's `fetch`, token and CORS behaviour.
 */
export async function authorizedFetch(
  fetch: BinaryFetch,
  auth: HttpAuth | undefined,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Uint8Array },
  signal: AbortSignal,
): ReturnType<BinaryFetch> {
  const attempt = () => fetch(url, { method: init.method, headers: { ...init.headers, ...(auth ? { authorization: auth.authorization() } : {}) }, ...(init.body ? { body: init.body } : {}), signal });
  const answer = await attempt();
  if (answer.status !== 401 || !auth) return answer;
  await answer.text().catch(() => '');
  await auth.refresh(signal);
  return attempt();
}
