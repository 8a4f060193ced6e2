import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject } from '@nestjs/common';
import type { JetStreamConnection } from '@tidemark/messaging';
import type { DataSource } from '@tidemark/persistence';
import type { StreamsView } from '@tidemark/contracts';
import { OPS_VIEWS, type OpsViews } from './views';

export const OPS_DEPS = Symbol('OPS_DEPS');
export interface OpsDeps {
  connection: () => JetStreamConnection;
  ds: DataSource;
}

@RequireAuth('operator')
@Controller('v1')
export class StreamsController {
  constructor(
    @Inject(OPS_DEPS) private readonly deps: OpsDeps,
    @Inject(OPS_VIEWS) private readonly views: OpsViews,
  ) {}

  /**
   * Every stream (messages, bytes, first and last sequence and time) and its consumers (pending,
   * ack-pending, redeliveries, ack floor, waiting pulls, and the lag: backlog and the age of its oldest
   * message), and per merge partition the projection checkpoint in Postgres and what is behind it.
   */
  @Get('streams')
  async streams(): Promise<StreamsView> {
    return this.views.observer.observe(); // NATS or Postgres down: 503 with Retry-After, from the problem filter
  }

  /** Projection checkpoints and parked messages, as Postgres has them. */
  @Get('projection')
  async projection(): Promise<unknown> {
    const checkpoints = await this.deps.ds.query('SELECT consumer, stream_seq::text AS "streamSeq", updated_at AS "updatedAt" FROM consumer_checkpoints ORDER BY consumer');
    const parked = await this.deps.ds.query(
      `SELECT consumer, stream_seq::text AS "streamSeq", event_id AS "eventId", workspace, subject, reason, attempts, status, parked_at AS "parkedAt"
         FROM parked_events ORDER BY parked_at DESC LIMIT 100`,
    );
    return { checkpoints, parked };
  }
}
