import { execFileSync } from 'node:child_process';

/**
 * Lines of `ps -eo pid,args` whose command line mentions `text` (a data directory, say). Used by the
 * tests to prove that stopping leaves no process behind.
 */
export function processesMentioning(text: string): string[] {
  const output = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return output
    .split('\n')
    .filter((line) => line.includes(text) && !/^\s*\d+\s+Z/.test(line))
    .map((line) => line.trim());
}
