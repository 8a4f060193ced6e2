import { Controller, Get, Headers, Inject, Query, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CURSOR_PATTERN, SYNC_LIMITS, StreamQuery, compileValidator } from '@tidemark/contracts';
import { CurrentPrincipal, RequireAuth, deviceInStanding, type DevicePrincipal } from '@tidemark/auth';
import { ProblemError, compressingStream, negotiateEncoding } from '@tidemark/platform';
import { gauge } from '@tidemark/telemetry';
import { changePage } from './changes';
import { interestOf } from './change-notifier';
import { PULL_DEPS, parseSyncQuery, type PullDeps } from './pull.controller';

const validateQuery = compileValidator(StreamQuery);
const CURSOR = new RegExp(CURSOR_PATTERN);
const openStreams = gauge('tidemark_live_streams', 'open live change streams (SSE)');

/** One SSE frame; `data` is one line of JSON (JSON never holds a raw newline). */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Live changes over Server-Sent Events. The stream reads the change log from the cursor (`Last-Event-ID`
 * wins over `after`, so a reconnecting EventSource resumes by itself), sends every change with its cursor
 * as the event id, then waits for the next change notice. Because cursors become visible in order, a
 * resumed stream has no gap and no repeat. Receipts of the device above `receiptsAfter` ride along.
 */
@RequireAuth('device')
@Controller('v1')
export class StreamController implements OnModuleDestroy {
  private readonly streams = new Set<AbortController>();

  constructor(@Inject(PULL_DEPS) private readonly deps: PullDeps) {}

  onModuleDestroy(): void {
    this.deps.notifier.stop();
    for (const stream of this.streams) stream.abort();
  }

  /**
   * Why the stream must end now, if it must: the access token expired, or the device was revoked or
   * re-enrolled (checked at most once a second, as the stream goes on). The client reconnects with a
   * fresh token and `Last-Event-ID`, and the guard decides again.
   */
  private async tokenEnded(device: DevicePrincipal, standing: { checkedAt: number }): Promise<{ code: string; detail: string } | undefined> {
    if (this.deps.now().getTime() >= device.expiresAt * 1000) return { code: 'token-expired', detail: 'the access token expired; refresh it and reconnect with Last-Event-ID' };
    if (Date.now() - standing.checkedAt < 1000) return undefined;
    standing.checkedAt = Date.now();
    if (await deviceInStanding(this.deps.standing, device)) return undefined;
    return { code: 'token-revoked', detail: 'the device has been revoked or re-enrolled; this token no longer works' };
  }

  @Get('changes/stream')
  async stream(
    @Query() query: Record<string, string>,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() device: DevicePrincipal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const q = parseSyncQuery(validateQuery, query);
    if (lastEventId !== undefined && !CURSOR.test(lastEventId)) throw ProblemError.validation([{ pointer: 'header:last-event-id', detail: 'must be a cursor from this stream (1–18 digits)' }]);
    let cursor = lastEventId ?? q.after ?? '0';
    let receiptMark = q.receiptsAfter;
    const sentReceipts = new Set<number>();
    let highestSent = q.receiptsAfter ?? 0;
    const abort = new AbortController();
    this.streams.add(abort);
    openStreams.inc();
    reply.raw.on('close', () => abort.abort());
    reply.hijack();
    const raw = reply.raw;
    // The hijacked answer keeps the headers hooks set (CORS for a browser on another origin).
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
    // Compressed when the client takes it (EventSource and fetch decode it); each batch of frames is flushed
    // before the stream waits, so a change still reaches the client at once.
    const encoding = negotiateEncoding(request.headers['accept-encoding']);
    const encoder = encoding ? compressingStream(encoding) : undefined;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      vary: 'Accept-Encoding',
      ...(encoding ? { 'content-encoding': encoding } : {}),
    });
    if (encoder) {
      encoder.stream.pipe(raw);
      encoder.stream.on('error', () => raw.destroy());
    }
    const sink = encoder?.stream ?? raw;
    const flush = (): void => encoder?.flush();
    sink.write(`retry: 2000\n: tidemark live changes after ${cursor}\n\n`);
    flush();
    // A client gone mid-write never drains: stop on abort, and leave no listener behind either way.
    const write = async (chunk: string): Promise<void> => {
      if (abort.signal.aborted || raw.destroyed) throw new Error('the client went away');
      if (sink.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          sink.off('drain', done);
          raw.off('close', done);
          abort.signal.removeEventListener('abort', done);
          resolve();
        };
        sink.once('drain', done);
        raw.once('close', done);
        abort.signal.addEventListener('abort', done);
      });
    };
    let lastWrite = Date.now();
    const standing = { checkedAt: Date.now() }; // the guard checked it for this request
    let first = true;
    try {
      while (!abort.signal.aborted) {
        const mark = this.deps.notifier.mark(device.workspace);
        const filter = await this.deps.readFilter(device.workspace, device.deviceId);
        const page = await changePage(this.deps.reads, device.workspace, cursor, SYNC_LIMITS.streamPageSize, filter);
        const byEvent = new Map<string, typeof page.conflicts>();
        for (const c of page.conflicts) for (const id of [c.opened.eventId, c.resolved?.eventId]) if (id) byEvent.set(id, [...(byEvent.get(id) ?? []), c]);
        for (const change of page.changes) {
          for (const conflict of byEvent.get(change.eventId) ?? []) await write(sseFrame('conflict', conflict));
          await write(sseFrame('change', change, change.cursor));
          cursor = change.cursor;
        }
        if (receiptMark !== undefined) {
          // New receipts come above the highest one sent; ones below it that commit late (a device's events span
          // partitions) are picked up from the gap region between the contiguous mark and that highest one.
          const fresh = await this.deps.reads.receipts.above(device.workspace, device.deviceId, Math.max(receiptMark, highestSent), SYNC_LIMITS.streamPageSize);
          const late = highestSent > receiptMark ? await this.deps.reads.receipts.above(device.workspace, device.deviceId, receiptMark, SYNC_LIMITS.streamPageSize, highestSent) : [];
          for (const receipt of [...late, ...fresh]) {
            if (sentReceipts.has(receipt.deviceSeq)) continue;
            sentReceipts.add(receipt.deviceSeq);
            highestSent = Math.max(highestSent, receipt.deviceSeq);
            await write(sseFrame('receipt', receipt));
          }
          // Advance the mark over the contiguous run already sent, so the set stays small.
          while (sentReceipts.has(receiptMark + 1)) {
            receiptMark += 1;
            sentReceipts.delete(receiptMark);
          }
        }
        if (page.changes.length > 0) lastWrite = Date.now();
        flush();
        if (page.changes.length > 0 || first) this.deps.activity?.read(device.workspace, device.deviceId, cursor, this.deps.now());
        first = false;
        if (page.hasMore) continue;
        if (Date.now() - lastWrite >= SYNC_LIMITS.streamKeepAliveSeconds * 1000) {
          await write(': keep-alive\n\n');
          flush();
          lastWrite = Date.now();
        }
        if (this.deps.notifier.stopped) break;
        const ended = await this.tokenEnded(device, standing);
        if (ended) {
          await write(sseFrame('error', ended));
          break;
        }
        const expiresInMs = device.expiresAt * 1000 - this.deps.now().getTime();
        await this.deps.notifier.wait(device.workspace, Date.now() + Math.min(SYNC_LIMITS.streamKeepAliveSeconds * 1000, Math.max(expiresInMs, 0)), abort.signal, mark, interestOf(filter));
      }
    } catch (error) {
      // The client learns that the stream failed and where to resume, never the internal message (it is logged).
      if (!abort.signal.aborted && !raw.destroyed) {
        this.deps.logger?.error({ err: error, workspace: device.workspace, cursor }, 'live stream failed');
        sink.write(sseFrame('error', { code: 'stream-failed', detail: `the stream failed; reconnect with Last-Event-ID ${cursor}` }));
      }
    } finally {
      this.streams.delete(abort);
      openStreams.dec();
      // Ending the encoder writes its last bytes and then ends the answer (it is piped into it).
      if (encoder && raw.destroyed) encoder.stream.destroy();
      else sink.end();
    }
  }
}
