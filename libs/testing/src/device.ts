import { randomUUID } from 'node:crypto';
import type { DeviceEvent } from '@tidemark/contracts';

/** Builds device events the way a device would: its own id, a gapless sequence, a clock stamp. */
export class FakeDevice {
  private seq = 0;
  constructor(readonly deviceId: string, private wall = 1_764_000_000_000) {}

  upsert(type: string, id: string, fields: Record<string, unknown>, baseVersion = 0): DeviceEvent {
    this.seq += 1;
    this.wall += 1;
    return {
      eventId: randomUUID(),
      deviceId: this.deviceId,
      deviceSeq: this.seq,
      hlc: { wall: this.wall, counter: 0 },
      entity: { type, id },
      op: 'upsert',
      baseVersion,
      fields: Object.fromEntries(Object.entries(fields).map(([k, value]) => [k, { op: 'set' as const, value }])),
      schemaVersion: 1,
    };
  }
}

export async function push(gateway: string, events: DeviceEvent[], headers: Record<string, string> = {}): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(`${gateway}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ events }) });
  return { status: response.status, body: await response.json(), contentType: response.headers.get('content-type') };
}

/** GET a JSON document (typed by the caller). */
export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers });
  return (await response.json()) as T;
}
