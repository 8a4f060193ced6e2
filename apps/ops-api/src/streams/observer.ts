import type { ProjectionPartitionView, StreamConsumerView, StreamView, StreamsView } from '@tidemark/contracts';
import { STREAMS, type JetStreamConnection, type JetStreamManager } from '@tidemark/messaging';
import { consumerBacklog, isoOrNull, lagOf, oldestPendingFrom, partitionBacklog, partitionOfFilter, totalLag, type OldestMessage } from '@tidemark/ops';
import type { ConsumerCheckpointsRepository } from '@tidemark/persistence';

type StreamInfo = Awaited<ReturnType<JetStreamManager['streams']['info']>>;
type ConsumerInfo = Awaited<ReturnType<JetStreamManager['consumers']['info']>>;
type MsgRequest = Parameters<JetStreamManager['streams']['getMessage']>[1];

/** An observer's window on the system: what it reads, and its clock. */
export interface ObserverDeps {
  connection: () => JetStreamConnection;
  checkpoints: ConsumerCheckpointsRepository;
  consumerPrefix: string;
  now: () => Date;
}

/**
 * Reads the state of every stream, consumer and projection checkpoint at once, and computes lags with
 * `@tidemark/ops`. The cost of one observation is bounded: one listing of streams and their consumers,
 * one SQL query (checkpoints), and one message read per consumer or partition that has a backlog (its
 * oldest message's time; the same message is read once). Observations are shared for `reuseMs`, so a
 * burst of scrapes and views costs one.
 */
export class StreamObserver {
  private last: { at: number; value: Promise<StreamsView> } | undefined;

  constructor(
    private readonly deps: ObserverDeps,
    private readonly reuseMs = 1000,
  ) {}

  observe(): Promise<StreamsView> {
    const now = this.deps.now().getTime();
    if (this.last && now - this.last.at < this.reuseMs) return this.last.value;
    const value = this.read();
    this.last = { at: now, value };
    value.catch(() => {
      if (this.last?.value === value) this.last = undefined;
    });
    return value;
  }

  private async read(): Promise<StreamsView> {
    const { jsm } = this.deps.connection();
    const listed: { info: StreamInfo; consumers: ConsumerInfo[] }[] = [];
    for await (const info of jsm.streams.list()) {
      const consumers: ConsumerInfo[] = [];
      for await (const c of jsm.consumers.list(info.config.name)) consumers.push(c);
      listed.push({ info, consumers });
    }
    const checkpoints = await this.deps.checkpoints.all();
    const now = this.deps.now();

    const reads = new Map<string, Promise<OldestMessage | null>>();
    const oldest = (stream: string, filter: string | null, from: number | null): Promise<OldestMessage | null> => {
      if (from === null) return Promise.resolve(null);
      const key = `${stream}\u0000${filter ?? ''}\u0000${from}`;
      let read = reads.get(key);
      if (!read) {
        read = firstMessageFrom(this.deps.connection(), stream, filter, from);
        reads.set(key, read);
      }
      return read;
    };

    const streams: StreamView[] = await Promise.all(
      listed.map(async ({ info, consumers }) => ({
        name: info.config.name,
        messages: info.state.messages,
        bytes: info.state.bytes,
        firstSeq: info.state.first_seq,
        lastSeq: info.state.last_seq,
        firstAt: info.state.messages > 0 ? isoOrNull(info.state.first_ts) : null,
        lastAt: info.state.last_seq > 0 ? isoOrNull(info.state.last_ts) : null,
        consumers: (
          await Promise.all(
            consumers.map(async (c): Promise<StreamConsumerView> => {
              const position = positionOf(c);
              const filter = c.config.filter_subject ?? null;
              const lag = lagOf(now, consumerBacklog(position), await oldest(info.config.name, filter, oldestPendingFrom(position)));
              return {
                name: c.name,
                filter,
                pending: c.num_pending,
                ackPending: c.num_ack_pending,
                redelivered: c.num_redelivered,
                waiting: c.num_waiting,
                ackFloor: c.ack_floor.stream_seq,
                delivered: c.delivered.stream_seq,
                lastActive: lastActiveOf(c.ack_floor as unknown as { last_active?: unknown }),
                lag,
                oldestPendingSeconds: lag.seconds,
              };
            }),
          )
        ).sort((a, b) => a.name.localeCompare(b.name)),
      })),
    );
    streams.sort((a, b) => a.name.localeCompare(b.name));

    const byConsumer = new Map(checkpoints.map((c) => [c.consumer, c]));
    const journal = listed.find((l) => l.info.config.name === STREAMS.journal);
    const prefix = `${this.deps.consumerPrefix}-`;
    const partitions: ProjectionPartitionView[] = await Promise.all(
      (journal?.consumers ?? [])
        .filter((c) => c.name.startsWith(prefix) && partitionOfFilter(c.config.filter_subject) !== null)
        .map(async (c): Promise<ProjectionPartitionView> => {
          const checkpoint = byConsumer.get(c.name);
          const checkpointSeq = checkpoint ? Number(checkpoint.stream_seq) : 0;
          const backlog = partitionBacklog(checkpointSeq, positionOf(c));
          const filter = c.config.filter_subject ?? null;
          return {
            partition: partitionOfFilter(filter)!,
            consumer: c.name,
            checkpointSeq,
            checkpointAt: isoOrNull(checkpoint?.updated_at ?? null),
            lag: lagOf(now, backlog.messages, await oldest(STREAMS.journal, filter, backlog.from)),
            exact: backlog.exact,
          };
        }),
    );
    partitions.sort((a, b) => a.partition.localeCompare(b.partition));
    return {
      at: now.toISOString(),
      streams,
      projection: { consumerPrefix: this.deps.consumerPrefix, partitions, total: totalLag(partitions.map((p) => p.lag)) },
    };
  }
}

/** The server (2.10 and later) sends the last acknowledgement time as an RFC 3339 string; 2.9 sends nothing. */
function lastActiveOf(floor: { last_active?: unknown }): string | null {
  return typeof floor.last_active === 'string' && !Number.isNaN(Date.parse(floor.last_active)) ? isoOrNull(floor.last_active) : null;
}

function positionOf(c: ConsumerInfo) {
  return { pending: c.num_pending, ackPending: c.num_ack_pending, ackFloor: c.ack_floor.stream_seq, delivered: c.delivered.stream_seq };
}

/**
 * The first message at or after `from` on `filter` (any subject without one), with its time. The
 * stream "message get" API takes `next_by_subj` with wildcards (nats-server 2.9 and later); the client's
 * type lists only `seq` and `last_by_subj`, hence the widened request.
 */
async function firstMessageFrom(connection: JetStreamConnection, stream: string, filter: string | null, from: number): Promise<OldestMessage | null> {
  const request = { seq: from, next_by_subj: filter ?? '>' } as unknown as MsgRequest;
  const message = await connection.jsm.streams.getMessage(stream, request);
  return message ? { seq: message.seq, at: message.time } : null;
}
