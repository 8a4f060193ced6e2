/**
 * Storage keys of the local replica. Keys must be 1–200 characters of `A–Z a–z 0–9 / _ . : -` (see
 * `storage/storage.ts`), and a `FileStorage` on a case-insensitive file system must not fold two keys into one
 * file, so entity types and ids are written in an injective, lower-case-only form:
 *
 * - `a–z 0–9 _ : -` stand for themselves (every entity type name, and most ids, are written as they are);
 * - an upper-case letter is `.` and its lower-case form (`Img-1` → `.img-1`);
 * - any other UTF-16 code unit is `..` and four lower-case hex digits (`é` → `..00e9`).
 *
 * `.` only ever starts an escape, and is followed by a letter or by `.`, so no two names share an encoding. An
 * encoded id too long for the key limit is cut and given a `.-<n>` suffix (a pair no encoding contains), with
 * `<n>` unique among the replica's keys; the record holds the real type and id, so keys are never decoded.
 */
export const REPLICA_PREFIX = 'replica/';
/** `replica/e/<type>/<id>`: one entity's synced state, evidence and open conflicts. */
export const ENTITY_PREFIX = `${REPLICA_PREFIX}e/`;
/** `replica/w/<deviceSeq, 16 digits>`: one of this device's writes, kept until the server's state shows it. */
export const WRITE_PREFIX = `${REPLICA_PREFIX}w/`;
/** `replica/r/<eventId>`: a conflict resolution this device journaled, kept until the resolution is pulled. */
export const RESOLUTION_PREFIX = `${REPLICA_PREFIX}r/`;

const MAX_KEY = 200;
/** Room left for the `.-<n>` suffix of a cut id. */
const SUFFIX_ROOM = 12;

/** The injective lower-case encoding described above. */
export function encodeName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 58 || c === 45) out += name[i];
    else if (c >= 65 && c <= 90) out += `.${String.fromCharCode(c + 32)}`;
    else out += `..${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

/**
 * The key of an entity. `taken(key)` answers whether a key already belongs to another entity (only asked for
 * ids whose encoding had to be cut).
 */
export function entityStorageKey(type: string, id: string, taken: (key: string) => boolean): string {
  const head = `${ENTITY_PREFIX}${encodeName(type)}/`;
  const body = encodeName(id);
  if (head.length + body.length <= MAX_KEY) return head + body;
  const cut = head + body.slice(0, Math.max(1, MAX_KEY - SUFFIX_ROOM - head.length));
  for (let n = 1; ; n++) {
    const key = `${cut}.-${n}`;
    if (!taken(key)) return key;
  }
}

/** Key of one of this device's writes. */
export function writeStorageKey(deviceSeq: number): string {
  return `${WRITE_PREFIX}${String(deviceSeq).padStart(16, '0')}`;
}

/** Key of a journaled resolution (its event id is a UUID, which the key charset takes as it is). */
export function resolutionStorageKey(eventId: string): string {
  return `${RESOLUTION_PREFIX}${encodeName(eventId)}`;
}
