// Calls to ops-api (the origin this page is served from) with the operator's bearer token.
// Errors are RFC 9457 problem documents; an ApiError carries the one the API sent.

const TOKEN_KEY = 'tidemark.operatorToken';

/** The operator token, kept in this tab's sessionStorage only. */
export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  /** @param {number} status HTTP status (0: no answer) @param {{title?: string, detail?: string, errors?: {pointer: string, detail: string}[]}} problem */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  /** The token is missing, invalid, expired or revoked (401), or lacks the role (403). */
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

/**
 * One API call. `path` is an ops-api path (`/v1/…`); `body` is sent as JSON. Resolves to the parsed
 * answer; rejects with an ApiError holding the problem document (or one made up when the answer had none).
 */
export async function api(path, { method = 'GET', body, token = session.token(), signal } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: 'ops-api did not answer', detail: `${error.message}; is it running and reachable?` });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const problem = json && typeof json === 'object' ? json : { title: `HTTP ${response.status} ${response.statusText}`, detail: text.slice(0, 300) };
    throw new ApiError(response.status, problem);
  }
  return json;
}

/** A query string from the defined, non-empty values of `params` (with the leading `?`, or ''). */
export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}` : '';
}
