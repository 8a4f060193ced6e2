import { randomUUID } from 'node:crypto';
import type { DeviceEvent, FieldChange, JobState } from '@tidemark/contracts';

/**
 * Builds device events the way a device would: its own id, a gapless sequence, and a clock that is an
 * input (`wall` start and `step` per event), so a test can simulate a week offline in milliseconds.
 */
export class FakeDevice {
  private seq = 0;
  constructor(
    readonly deviceId: string,
    private wall = 1_764_000_000_000,
    private readonly step = 1,
  ) {}

  /** An event with any field changes (`set`, `inc`, `add`, `remove`, `append`). */
  event(
    type: string,
    id: string,
    op: DeviceEvent['op'],
    parts: { fields?: Record<string, FieldChange>; job?: DeviceEvent['job']; resolution?: DeviceEvent['resolution']; baseVersion?: number; schemaVersion?: number } = {},
  ): DeviceEvent {
    this.seq += 1;
    this.wall += this.step;
    return {
      eventId: randomUUID(),
      deviceId: this.deviceId,
      deviceSeq: this.seq,
      hlc: { wall: this.wall, counter: 0 },
      entity: { type, id },
      op,
      baseVersion: parts.baseVersion ?? 0,
      ...(parts.fields ? { fields: parts.fields } : {}),
      ...(parts.job ? { job: parts.job } : {}),
      ...(parts.resolution ? { resolution: parts.resolution } : {}),
      schemaVersion: parts.schemaVersion ?? 1,
    };
  }

  /** An upsert whose every field is a `set`. */
  upsert(type: string, id: string, fields: Record<string, unknown>, baseVersion = 0): DeviceEvent {
    return this.event(type, id, 'upsert', { baseVersion, fields: Object.fromEntries(Object.entries(fields).map(([k, value]) => [k, { op: 'set' as const, value }])) });
  }

  /** A job state-machine step. */
  transition(id: string, to: JobState, attempt: number, baseVersion = 0, fields?: Record<string, FieldChange>): DeviceEvent {
    return this.event('job', id, 'transition', { baseVersion, job: { to, attempt }, ...(fields ? { fields } : {}) });
  }

  remove(type: string, id: string, baseVersion: number): DeviceEvent {
    return this.event(type, id, 'delete', { baseVersion });
  }
}

export async function push(
  gateway: string,
  events: DeviceEvent[],
  headers: Record<string, string> = {},
  { timeoutMs }: { timeoutMs?: number } = {},
): Promise<{ status: number; body: any; contentType: string | null }> {
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ events }), signal });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

/** GET a JSON document (typed by the caller). */
export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers });
  return (await response.json()) as T;
}

/**
 * Pushes one batch as the SDK does until a gateway answers it: on a 503 (a dependency down or electing a
 * leader) or a refused or cut connection it re-sends the same events, with the same ids, to the next gateway
 * of `gateways` (a client behind a load balancer), backing off up to 500 ms. Any other status is a defect and
 * throws, as does still being unanswered after `timeoutMs`. Resolves with each event's status and how many
 * times the batch was re-sent.
 */
export async function pushUntilAnswered(
  gateways: readonly string[],
  events: DeviceEvent[],
  headers: Record<string, string>,
  { timeoutMs = 60_000 } = {},
): Promise<{ results: { eventId: string; status: string }[]; resent: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing';
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await push(gateways[attempt % gateways.length]!, events, headers);
      if (result.status === 200) return { results: result.body.results as { eventId: string; status: string }[], resent: attempt };
      if (result.status !== 503) throw new Error(`push answered ${result.status}: ${JSON.stringify(result.body).slice(0, 300)}`);
      last = `503: ${String(result.body?.detail ?? '')}`;
    } catch (error) {
      if ((error as Error).message.startsWith('push answered')) throw error;
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`a batch was still unanswered after ${timeoutMs} ms (${attempt + 1} attempts; last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 20 * 2 ** attempt)));
  }
}
