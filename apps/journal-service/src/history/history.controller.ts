import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { EntityRef, compileValidator, journalSubject, type JournalRecord } from '@tidemark/contracts';
import { STREAMS, readRange, type JetStreamConnection } from '@tidemark/messaging';
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
    const entries: { seq: number; record: JournalRecord }[] = [];
    for await (const chunk of readRange(this.connection().js, STREAMS.journal, { filter: subject, limit, chunk: 256 })) {
      for (const msg of chunk) entries.push({ seq: msg.seq, record: msg.json<JournalRecord>() });
    }
    return { workspace, entity: entity.value, subject, events: entries };
  }
}
