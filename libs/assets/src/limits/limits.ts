/** File classes by the top-level type of the content type; each has its own size cap. */
export const FILE_CLASSES = ['image', 'audio', 'video', 'text', 'application', 'other'] as const;
export type FileClass = (typeof FILE_CLASSES)[number];

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Normalises a declared content type (lower case, parameters dropped); `undefined` when malformed. */
export function normaliseContentType(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null || value.trim() === '') return DEFAULT_CONTENT_TYPE;
  const bare = value.split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPE.test(bare) ? bare : undefined;
}

/** `image/png` → `image`; types outside the named classes (model/, font/, …) are `other`. */
export function fileClassOf(contentType: string): FileClass {
  const top = contentType.split('/')[0]!.toLowerCase();
  return (FILE_CLASSES as readonly string[]).includes(top) && top !== 'other' ? (top as FileClass) : 'other';
}

export interface AssetLimits {
  /** Largest upload per file class, in bytes. */
  maxBytes: Record<FileClass, number>;
  /** Bytes one workspace may hold: stored assets plus the declared length of open uploads. */
  workspaceQuotaBytes: number;
}

export type LimitCheck =
  { ok: true } | { ok: false; code: 'file-class-cap'; fileClass: FileClass; limit: number; size: number } | { ok: false; code: 'workspace-quota'; limit: number; used: number; size: number };

/**
 * Checks a new upload of `size` bytes against its class cap and the workspace quota (`used`: bytes the
 * workspace already holds or has reserved). Refused up front, before any byte is sent.
 */
export function checkUploadLimits(upload: { size: number; fileClass: FileClass; used: number }, limits: AssetLimits): LimitCheck {
  const cap = limits.maxBytes[upload.fileClass];
  if (upload.size > cap) return { ok: false, code: 'file-class-cap', fileClass: upload.fileClass, limit: cap, size: upload.size };
  if (upload.used + upload.size > limits.workspaceQuotaBytes) return { ok: false, code: 'workspace-quota', limit: limits.workspaceQuotaBytes, used: upload.used, size: upload.size };
  return { ok: true };
}
