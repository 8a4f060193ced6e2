import { invalid } from './problems';

export const WORKSPACE_HEADER = 'tidemark-workspace';
const WORKSPACE = /^[A-Za-z0-9_-]{1,64}$/;

/** The workspace a request acts in (until device tokens carry it, the `Tidemark-Workspace` header; same rule as the gateway). */
export function workspaceOf(header: string | string[] | undefined, fallback: string): string {
  if (header === undefined) return fallback;
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !WORKSPACE.test(value)) throw invalid([{ pointer: `header:${WORKSPACE_HEADER}`, detail: 'must be 1–64 letters, digits, _ or -' }]);
  return value;
}
