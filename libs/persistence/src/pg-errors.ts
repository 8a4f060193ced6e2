/**
 * Postgres errors that say the data itself is wrong, so the same statement with the same input fails the
 * same way however often it is retried (SQLSTATE, https://www.postgresql.org/docs/current/errcodes-appendix.html):
 * - class 22, data exception: `22P05` untranslatable character (a `\u0000` or lone-surrogate escape in jsonb),
 *   `22P02` invalid text representation (`invalid input syntax for type json`), `22021` character not in
 *   repertoire (NUL in text), `22003` numeric value out of range, `22001` string too long …;
 * - class 23, integrity constraint violation, where no concurrent writer can cause it: `23502` not null,
 *   `23514` check (a unique or exclusion violation may come from a concurrent writer, so it is not listed);
 * - class 54, program limit exceeded (`54000` e.g. an index row too large).
 * TypeORM's wrapper (`driverError`) is looked through. Connection failures, serialization failures and
 * deadlocks (classes 08, 40, 53, 57) are not deterministic.
 */
export function isDeterministicDataError(error: unknown): boolean {
  const e = (error as { driverError?: unknown } | undefined)?.driverError ?? error;
  const code = (e as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return code.startsWith('22') || code === '23502' || code === '23514' || code.startsWith('54');
}
