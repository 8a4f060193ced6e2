import { Controller, Get, Inject } from '@nestjs/common';
import type { JetStreamConnection } from '@tidemark/messaging';
import type { DataSource } from '@tidemark/persistence';

export const OPS_DEPS = Symbol('OPS_DEPS');
export interface OpsDeps {
  connection: () => JetStreamConnection;
  ds: DataSource;
}

@Controller('v1')
export class StreamsController {
  constructor(@Inject(OPS_DEPS) private readonly deps: OpsDeps) {}

  /** Every stream and its consumers: messages, sequences, pending, ack-pending, redeliveries, ack floor. */
  @Get('streams')
  async streams(): Promise<unknown> {
    const jsm = this.deps.connection().jsm;
    const streams = [];
    for await (const info of jsm.streams.list()) {
      const consumers = [];
      for await (const c of jsm.consumers.list(info.config.name)) {
        consumers.push({
          name: c.name,
          filter: c.config.filter_subject,
          pending: c.num_pending,
          ackPending: c.num_ack_pending,
          redelivered: c.num_redelivered,
          waiting: c.num_waiting,
          ackFloor: c.ack_floor.stream_seq,
          delivered: c.delivered.stream_seq,
          lastActive: c.ack_floor.last_active ?? null,
        });
      }
      streams.push({ name: info.config.name, messages: info.state.messages, bytes: info.state.bytes, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, consumers: consumers.sort((a, b) => a.name.localeCompare(b.name)) });
    }
    return { streams: streams.sort((a, b) => a.name.localeCompare(b.name)) };
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
