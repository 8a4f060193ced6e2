import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { EntityRef, compileValidator, journalSubject, type JournalRecord } from '@tidemark/contracts';
import { STREAMS, type JetStreamConnection } from '@tidemark/messaging';
import { ProblemError } from '@tidemark/platform';
import { CONNECTION } from '../topology/topology.controller';

export const HISTORY_OPTIONS = Symbol('HISTORY_OPTIONS');
export interface HistoryOptions {
  partitions: number;
  maxEvents: number;
  defaultWorkspace: string;
}

const validateEntity = compileValidator(EntityRef);
const WORKSPACE = /^[A-Za-z0-9_-]{1,64}$/;

@RequireAuth('operator')
@Controller('v1')
export class HistoryController {
  constructor(
    @Inject(CONNECTION) private readonly connection: () => JetStreamConnection,
    @Inject(HISTORY_OPTIONS) private readonly options: HistoryOptions,
  ) {}

  /** One entity's journal history, oldest first: its subject is one filter on the journal. */
  @Get('history/:type/:id')
  async history(@Param('type') type: string, @Param('id') id: string, @Query('workspace') workspaceText: string | undefined, @Query('limit') limitText?: string): Promise<unknown> {
    const workspace = workspaceText ?? 'default';
    const entity = validateEntity({ type, id });
    const errors = entity.ok ? [] : entity.errors.map((e) => ({ ...e, pointer: `path:${e.pointer.replace(/^\//, '')}` }));
    if (!WORKSPACE.test(workspace)) errors.push({ pointer: 'query:workspace', detail: 'must be 1–64 letters, digits, _ or -' });
    const limit = limitText === undefined ? this.options.maxEvents : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > this.options.maxEvents) errors.push({ pointer: 'query:limit', detail: `must be an integer from 1 to ${this.options.maxEvents}` });
    if (errors.length > 0 || !entity.ok) throw ProblemError.validation(errors);
    const subject = journalSubject(workspace, entity.value, this.options.partitions);
    const { js, jsm } = this.connection();
    // An ephemeral, unacknowledged consumer over one subject (single filter: works on every server version).
    const info = await jsm.consumers.add(STREAMS.journal, {
      filter_subject: subject,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(30_000),
      mem_storage: true,
    });
    const entries: { seq: number; record: JournalRecord }[] = [];
    try {
      const consumer = await js.consumers.get(STREAMS.journal, info.name);
      let remaining = Math.min(info.num_pending, limit);
      while (remaining > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(remaining, 256), expires: 2000 });
        let got = 0;
        for await (const msg of batch) {
          entries.push({ seq: msg.seq, record: msg.json<JournalRecord>() });
          got++;
        }
        if (got === 0) break;
        remaining -= got;
      }
    } finally {
      await jsm.consumers.delete(STREAMS.journal, info.name).catch(() => undefined);
    }
    return { workspace, entity: entity.value, subject, events: entries };
  }
}
