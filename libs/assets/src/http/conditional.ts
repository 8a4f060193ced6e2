/** Byte ranges and entity tags for downloads (RFC 9110 §14 and §13). Pure. */

export type RangeRequest =
  /** No usable Range: answer the whole representation (a server may ignore a Range it does not support). */
  { kind: 'whole' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * A single `bytes=` range against a representation of `size` bytes: `a-b`, `a-` or `-n`. Several ranges
 * or another unit are answered whole; a syntactically valid range that selects nothing is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'whole' };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'whole' };
  return { kind: 'range', start, end };
}

/** The strong entity tag of an asset: its sha256, quoted. */
export function assetEtag(sha256: string): string {
  return `"${sha256}"`;
}

/** `If-None-Match` matches (weak comparison): `*`, or any listed tag with the same opaque value. */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

/** `If-Range` with an entity tag: the range applies only when it matches exactly (strong comparison). */
export function ifRangeMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  return !value.startsWith('W/') && value === etag;
}
