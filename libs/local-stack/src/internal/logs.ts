import { open } from 'node:fs/promises';

/**
 * Returns the last `maxLines` lines of a log file (reading at most `maxBytes` from its end), or a note
 * saying why there is nothing to show. Never throws: it is used while building error messages.
 */
export async function readLogTail(file: string, maxLines = 40, maxBytes = 16_384): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      if (length < size) lines.shift(); // the first line is probably cut
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      return lines.length === 0 ? '(the log is empty)' : lines.slice(-maxLines).join('\n');
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `(no log: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Formats a titled log tail for inclusion in an error message. */
export async function describeLog(title: string, file: string): Promise<string> {
  return `\n--- last lines of ${title} (${file}) ---\n${await readLogTail(file)}\n--- end of ${title} ---`;
}

/** The part of a log (tail) written by the latest start: after the last `=== <time> starting …` header. */
export function latestRun(logTail: string): string {
  const index = logTail.lastIndexOf('=== ');
  return index < 0 ? logTail : logTail.slice(index);
}
