import { randomUUID } from 'node:crypto';
import { decide, dueCommand, replay } from '@tidemark/assets';
import { inTransaction } from '@tidemark/persistence';
import { counter, type Logger } from '@tidemark/telemetry';
import { assetLifecycle, assetMessages, uploadLifecycle, uploadMessages, type Ledger } from '../ledger/ledger';
import type { BlobStore } from '../storage/blob-store';

const collected = counter('tidemark_asset_collected_total', 'lifecycle transitions made by the collector', ['kind']);

export interface CollectorDeps {
  ledger: Ledger;
  store: BlobStore;
  intervalMs: number;
  orphanUnreferencedMs: number;
  orphanGraceMs: number;
  expiryMs: number;
  lockTtlMs: number;
  /** A multipart upload no open upload holds is aborted once it is this old (ASSET_STRAY_MULTIPART_AGE_MS). */
  strayMultipartAgeMs: number;
  instance: string;
  logger: Logger;
  now: () => Date;
  published: () => void;
  /** Aborts an upload's multipart upload and removes its staged tails. */
  discard: (upload: { id: string; objectKey: string; s3UploadId: string | null }) => Promise<void>;
}

export interface CollectorRun {
  expired: number;
  orphaned: number;
  collected: number;
  /** Multipart uploads aborted because the ledger held none of them open. */
  strays: number;
}

/**
 * The time-driven part of the lifecycle, run every `intervalMs` by every replica (claims and advisory
 * locks keep them apart): abandoned uploads expire (their S3 multipart upload is aborted and staged tails
 * removed), unreferenced assets are orphaned when configured, and orphans past their grace lose their blob.
 */
export class Collector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: CollectorDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running || this.stopped) return;
      this.running = this.runOnce()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'asset collector run failed; will retry'))
        .finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async runOnce(): Promise<CollectorRun> {
    const run: CollectorRun = { expired: 0, orphaned: 0, collected: 0, strays: 0 };
    for (const id of await this.deps.ledger.expiredUploads(100)) {
      if (this.stopped) break;
      if (await this.expire(id)) run.expired++;
    }
    for (const asset of await this.deps.ledger.assetsDue(this.deps.orphanUnreferencedMs, this.deps.orphanGraceMs, 100)) {
      if (this.stopped) break;
      const done = await this.advance(asset.workspace, asset.sha256);
      if (done === 'orphan') run.orphaned++;
      if (done === 'collect') run.collected++;
    }
    if (!this.stopped) run.strays = await this.sweepStrays();
    if (run.expired + run.orphaned + run.collected + run.strays > 0) this.deps.logger.info(run, 'asset collector');
    return run;
  }

  private async expire(id: string): Promise<boolean> {
    const { ledger } = this.deps;
    const owner = `${this.deps.instance}:collector:${randomUUID()}`;
    const upload = await ledger.claim(id, owner, this.deps.lockTtlMs);
    if (!upload) return false;
    try {
      const now = this.deps.now().toISOString();
      const before = uploadLifecycle(upload);
      const command = dueCommand(before, now, { expiresAt: upload.expiresAt.toISOString(), orphanUnreferencedAfterMs: 0, orphanGraceMs: 0 });
      if (command?.type !== 'expire') return false;
      const decision = decide(before, command);
      if (!decision.ok) return false;
      await this.deps.discard(upload);
      const after = replay(before, decision.events)!;
      await inTransaction(ledger.ds, async (q) => {
        await ledger.finishUpload(q, { id, owner }, after.status, new Date(after.since), { reason: after.reason ?? null });
        await ledger.insertOutbox(q, uploadMessages({ workspace: upload.workspace, sha256: upload.sha256, contentType: upload.contentType, fileClass: upload.fileClass }, id, before, decision.events));
      });
      this.deps.published();
      collected.inc({ kind: 'expired-upload' });
      return true;
    } finally {
      await ledger.release(id, owner).catch(() => undefined);
    }
  }

  /**
   * Aborts every multipart upload in the bucket that no open upload of the ledger holds — one started by a
   * request that crashed before recording it, or one a failed request could not abort — so no parts leak,
   * whatever the path. Only uploads older than `strayMultipartAgeMs` (by the store's clock) are touched: one
   * being started right now is recorded moments after S3 answers. The store is listed before the ledger is
   * read, so an upload recorded in between is never mistaken for a stray.
   */
  private async sweepStrays(): Promise<number> {
    const cutoff = this.deps.now().getTime() - this.deps.strayMultipartAgeMs;
    const old = (await this.deps.store.listMultipartUnder('')).filter((open) => open.initiated.getTime() <= cutoff);
    const held = await this.deps.ledger.heldMultipartIds(old.map((open) => open.uploadId));
    let aborted = 0;
    for (const open of old) {
      if (this.stopped) break;
      if (held.has(open.uploadId)) continue;
      await this.deps.store.abortMultipart(open.key, open.uploadId);
      this.deps.logger.warn({ key: open.key, s3UploadId: open.uploadId, initiated: open.initiated }, 'aborted a multipart upload no open upload holds');
      collected.inc({ kind: 'stray-multipart' });
      aborted++;
    }
    return aborted;
  }

  private async advance(workspace: string, sha256: string): Promise<'orphan' | 'collect' | undefined> {
    const { ledger, store } = this.deps;
    const done = await inTransaction(ledger.ds, async (q) => {
      await ledger.lockAsset(q, workspace, sha256);
      const asset = await ledger.findAsset(q, workspace, sha256);
      if (!asset) return undefined;
      const before = assetLifecycle(asset);
      const command = dueCommand(before, this.deps.now().toISOString(), { orphanUnreferencedAfterMs: this.deps.orphanUnreferencedMs, orphanGraceMs: this.deps.orphanGraceMs });
      if (command?.type !== 'orphan' && command?.type !== 'collect') return undefined;
      const decision = decide(before, command);
      if (!decision.ok) return undefined;
      if (command.type === 'collect') {
        await store.remove(asset.objectKey);
        await ledger.clearReferences(q, workspace, sha256);
      }
      const { messages, generation } = assetMessages(asset, asset.generation, before, decision.events);
      await ledger.updateAsset(q, asset, replay(before, decision.events)!, generation);
      await ledger.insertOutbox(q, messages);
      return command.type;
    });
    if (done) {
      this.deps.published();
      collected.inc({ kind: done === 'orphan' ? 'orphaned-asset' : 'collected-asset' });
    }
    return done;
  }
}
