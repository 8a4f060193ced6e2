import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { MessageBatch } from '@tidemark/messaging';
import type { Projector } from './projection/projector';

export const PROJECTOR = Symbol('PROJECTOR');
export const JOURNAL_BATCH = 'journal.batch';

/** Binds journal batches from the durable consumers to the projector. */
@Controller()
export class JournalController {
  constructor(@Inject(PROJECTOR) private readonly projector: Projector) {}

  @EventPattern(JOURNAL_BATCH)
  async handle(@Payload() batch: MessageBatch): Promise<void> {
    await this.projector.handle(batch);
  }
}
