// What the CLI's exit status means, and how an error becomes one (with what it prints on stderr).
import { CommanderError } from 'commander';
import { ApiError, UnreachableError } from './client';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The service (ops-api, gateway, journal-service) refused the call (4xx problem+json: bad request, unknown id, wrong state, no or bad token). */
  refused: 1,
  /** The command line is wrong (unknown command or option, missing or bad value). */
  usage: 2,
  /** The service could not be reached, timed out, or failed (5xx). */
  unavailable: 3,
  /** `status` found a service not ready, a part unavailable, or lag above `--max-lag` / `--max-lag-seconds`. */
  checkFailed: 4,
  /** A watched replay ended without a result: failed, cancelled or stale (a plan-only one that ended with its plan has one). */
  replayEnded: 5,
  /** The CLI itself failed (a bug): the stack goes to stderr. */
  internal: 70,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes as `--help` and the README state them. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok
  1    the service refused the call (4xx): its title, detail and each error (pointer: detail) go to stderr
  2    usage error (unknown command or option, missing or bad value, --out exists, bad context or config)
  3    cannot reach the service (ops-api, gateway, journal-service) or it failed (5xx)
  4    status: a service not ready, a part unavailable, or lag above --max-lag / --max-lag-seconds;
       queues --check: a queue falling behind
  5    a watched replay ended failed, cancelled or stale (a plan-only replay ending with its plan is ok)
  70   the CLI itself failed (a bug; the stack trace goes to stderr)
  130  interrupted (Ctrl-C)`;

/** The lines a problem+json prints on stderr: title (status), detail, then `pointer: detail` for each error. */
export function problemLines(error: ApiError): string[] {
  const p = error.problem;
  const lines = [`${p.title} (${error.status})`];
  if (p.detail) lines.push(`  ${p.detail}`);
  for (const e of p.errors ?? []) lines.push(`  ${e.pointer}: ${e.detail}`);
  return lines;
}

export interface Failure {
  code: ExitCode;
  /** Lines for stderr (each prefixed `tidemark: ` by the caller where it is the first). */
  lines: string[];
}

/** The exit code and the message of anything a command threw. */
export function failureOf(error: unknown): Failure {
  if (error instanceof CommanderError) {
    // commander has printed its own message (or the help): help asked for and --version exit 0, the rest is usage.
    return { code: error.exitCode === 0 ? EXIT.ok : EXIT.usage, lines: [] };
  }
  if (error instanceof ApiError) return { code: error.status >= 500 ? EXIT.unavailable : EXIT.refused, lines: problemLines(error) };
  if (error instanceof UnreachableError) return { code: EXIT.unavailable, lines: [error.message] };
  const e = error as Error;
  return { code: EXIT.internal, lines: [`internal error: ${e?.stack ?? String(error)}`] };
}
