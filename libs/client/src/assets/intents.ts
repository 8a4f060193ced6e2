import type { Storage } from '../storage/storage';
import { StorageFormatError } from '../errors';

/** Key prefix of upload intents in the client's Storage: `assets/intent/<sha256>`. */
export const INTENT_PREFIX = 'assets/intent/';
/** Key prefix of the application's pins: `assets/pin/<sha256>` (value `{}`). */
export const PIN_PREFIX = 'assets/pin/';

/**
 * An attached file the server does not hold verified yet. Written before anything else of an attach (then the
 * bytes go to the cache, pinned, then the record's event to the outbox, then `recorded` is set), rewritten when
 * tus gives the upload its URL, deleted once the server has the bytes verified.
 */
export interface UploadIntent {
  v: 1;
  sha256: string;
  size: number;
  contentType: string;
  filename?: string;
  /** The record fields pointing at the asset. */
  refs: { type: string; id: string; field: string }[];
  /** The record's event is in the outbox: the attach returned. An intent without it is dropped at open. */
  recorded: boolean;
  /** The tus upload URL once created: a new client resumes there from the server's `Upload-Offset`. */
  uploadUrl?: string;
  /** When the attach began (ms since the epoch). */
  at: number;
}

export function intentKey(sha256: string): string {
  return `${INTENT_PREFIX}${sha256}`;
}

export async function putIntent(storage: Storage, intent: UploadIntent): Promise<void> {
  await storage.put(intentKey(intent.sha256), JSON.stringify(intent));
}

export async function deleteIntent(storage: Storage, sha256: string): Promise<void> {
  await storage.delete(intentKey(sha256));
}

/** Every stored intent, oldest attach first. */
export async function loadIntents(storage: Storage): Promise<UploadIntent[]> {
  const intents: UploadIntent[] = [];
  for (const key of await storage.list(INTENT_PREFIX)) {
    const text = await storage.get(key);
    if (text === undefined) continue;
    let intent: UploadIntent;
    try {
      intent = JSON.parse(text) as UploadIntent;
    } catch (error) {
      throw new StorageFormatError(`${key} is not JSON`, { cause: error });
    }
    if (intent.v !== 1 || typeof intent.sha256 !== 'string' || typeof intent.size !== 'number') throw new StorageFormatError(`${key} is not an upload intent of format 1`);
    intents.push(intent);
  }
  return intents.sort((a, b) => a.at - b.at || (a.sha256 < b.sha256 ? -1 : 1));
}

export async function loadPins(storage: Storage): Promise<string[]> {
  return (await storage.list(PIN_PREFIX)).map((key) => key.slice(PIN_PREFIX.length));
}
