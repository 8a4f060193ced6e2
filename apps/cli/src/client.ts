// The HTTP client of the CLI: one ops-api call with the operator token, answering the JSON document or
// throwing what went wrong as a value the exit-code mapping understands (exit-codes.ts).
import type { Problem } from '@tidemark/contracts';
import { pathWithQuery, type ApiRequest } from './requests';

/** ops-api answered with an error status; `problem` is its problem+json (or one made from a non-JSON answer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** The document exactly as received, when it was JSON (printed with `--json`). */
    readonly document: unknown,
  ) {
    super(`${problem.title} (${status})`);
    this.name = 'ApiError';
  }
}

/** The service (ops-api, gateway, journal-service) could not be reached (connection refused, DNS, timeout) or did not answer like ops-api. */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly service = 'ops-api',
  ) {
    super(`cannot reach ${service} at ${url}: ${reason}`);
    this.name = 'UnreachableError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  /** Operator token (role ops or admin); absent: the request goes without one and ops-api answers 401. */
  token?: string;
  timeoutMs: number;
  fetch: typeof fetch;
  /** The service at baseUrl, as errors name it (default ops-api). */
  service?: string;
}

/** Why a fetch failed, in a few words: the innermost cause (`connect ECONNREFUSED 127.0.0.1:3005`). */
function failureReason(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  let inner: unknown = e;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  if (inner instanceof AggregateError && inner.errors.length > 0) return (inner.errors[0] as Error).message;
  const innerError = inner as Error & { code?: string };
  return innerError.message || innerError.code || String(inner);
}

export class OpsClient {
  constructor(private readonly o: ClientOptions) {}

  get baseUrl(): string {
    return this.o.baseUrl;
  }

  get service(): string {
    return this.o.service ?? 'ops-api';
  }

  /** Sends the request; answers the parsed JSON of a 2xx, throws ApiError for 4xx/5xx, UnreachableError when there is no usable answer. */
  async send<T = unknown>(request: ApiRequest): Promise<T> {
    return (await this.exchange<T>(request)).document;
  }

  /** As `send`, with the status of the answer (a publish tells created, 201, from already published, 200). */
  async exchange<T = unknown>(request: ApiRequest): Promise<{ status: number; document: T }> {
    const url = `${this.o.baseUrl}${pathWithQuery(request)}`;
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.o.fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(this.o.baseUrl, failureReason(error, this.o.timeoutMs), this.service);
    }
    let document: unknown;
    let parsed = false;
    try {
      document = JSON.parse(text) as unknown;
      parsed = true;
    } catch {
      document = undefined;
    }
    if (response.ok) {
      if (!parsed) throw new UnreachableError(this.o.baseUrl, `${request.method} ${request.path} answered ${response.status} without JSON (is this ${this.service}?)`, this.service);
      return { status: response.status, document: document as T };
    }
    throw new ApiError(response.status, asProblem(response.status, response.statusText, document, text), parsed ? document : undefined);
  }
}

/** The problem document of an error answer; a non-problem answer becomes one with its status and text. */
export function asProblem(status: number, statusText: string, document: unknown, text: string): Problem {
  if (document && typeof document === 'object' && !Array.isArray(document)) {
    const d = document as Partial<Problem> & { message?: unknown };
    if (typeof d.title === 'string') return { ...d, title: d.title, type: typeof d.type === 'string' ? d.type : 'about:blank', status: typeof d.status === 'number' ? d.status : status };
    if (typeof d.message === 'string') return { type: 'about:blank', title: statusText || `HTTP ${status}`, status, detail: d.message };
  }
  const snippet = text.trim().slice(0, 300);
  return { type: 'about:blank', title: statusText || `HTTP ${status}`, status, ...(snippet ? { detail: snippet } : {}) };
}
