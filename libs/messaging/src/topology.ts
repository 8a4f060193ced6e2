import { AckPolicy, DeliverPolicy, DiscardPolicy, ReplayPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ASSETS_SUBJECT_ROOT, JOURNAL_SUBJECT_ROOT, MERGED_SUBJECT_ROOT, REVIEW_SUBJECT_ROOT, journalPartitionFilter, partitionToken } from '@tidemark/contracts';
import { isNotFound } from './nats-errors';

export const STREAMS = { journal: 'JOURNAL', merged: 'MERGED', review: 'REVIEW', assets: 'ASSETS' } as const;

export interface TopologyOptions {
  partitions: number;
  duplicateWindowMs: number;
  replicas: number;
}

export interface ConsumerDeclaration {
  stream: string;
  config: Partial<ConsumerConfig> & { durable_name: string };
}

export interface Topology {
  streams: (Partial<StreamConfig> & { name: string; subjects: string[] })[];
  consumers: ConsumerDeclaration[];
}

const DAY_MS = 86_400_000;

/** The durable consumer that projects one journal partition. */
export function mergeConsumerName(partition: number, prefix = 'merge'): string {
  return `${prefix}-${partitionToken(partition)}`;
}

/** A projector's durable consumer on one partition; `prefix` names a second projection (a rebuild). */
export function mergeConsumerConfig(partition: number, startAfterSeq = 0, prefix = 'merge'): ConsumerDeclaration['config'] {
  return {
    durable_name: mergeConsumerName(partition, prefix),
    description: `projects journal partition ${partitionToken(partition)} into Postgres`,
    filter_subject: journalPartitionFilter(partition),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    // Parking is decided by merge-service (with its reason, in Postgres); the server never drops a message.
    max_deliver: -1,
    max_ack_pending: 2000,
    replay_policy: ReplayPolicy.Instant,
    ...(startAfterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAfterSeq + 1 } : { deliver_policy: DeliverPolicy.All }),
  };
}

/**
 * The journal topology, declared in code. `JOURNAL` keeps history forever and refuses deletes and
 * purges; the other streams are outputs that can be rebuilt from Postgres and so age out.
 */
export function journalTopology(options: TopologyOptions): Topology {
  const common = { storage: StorageType.File, num_replicas: options.replicas, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old } as const;
  const streams: Topology['streams'] = [
    {
      ...common,
      name: STREAMS.journal,
      description: 'device events: the durable journal every projection is rebuilt from',
      subjects: [`${JOURNAL_SUBJECT_ROOT}.>`],
      duplicate_window: nanos(options.duplicateWindowMs),
      max_age: 0,
      deny_delete: true,
      deny_purge: true,
      allow_direct: true,
    },
    {
      ...common,
      name: STREAMS.merged,
      description: 'applied changes for integrators (from the outbox)',
      subjects: [`${MERGED_SUBJECT_ROOT}.>`],
      duplicate_window: nanos(options.duplicateWindowMs),
      max_age: nanos(30 * DAY_MS),
    },
    { ...common, name: STREAMS.review, description: 'conflicts opened and resolved', subjects: [`${REVIEW_SUBJECT_ROOT}.>`], duplicate_window: nanos(options.duplicateWindowMs), max_age: 0 },
    {
      ...common,
      name: STREAMS.assets,
      description: 'asset lifecycle transitions',
      subjects: [`${ASSETS_SUBJECT_ROOT}.>`],
      duplicate_window: nanos(options.duplicateWindowMs),
      max_age: nanos(30 * DAY_MS),
    },
  ];
  const consumers = Array.from({ length: options.partitions }, (_, p) => ({ stream: STREAMS.journal, config: mergeConsumerConfig(p) }));
  return { streams, consumers };
}

export interface TopologyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
}

const MUTABLE_STREAM_FIELDS = ['description', 'subjects', 'max_age', 'duplicate_window', 'num_replicas', 'deny_delete', 'deny_purge', 'allow_direct', 'discard'] as const;
const MUTABLE_CONSUMER_FIELDS = ['description', 'ack_wait', 'max_deliver', 'max_ack_pending'] as const;

function differs<T extends object>(want: T, have: T, fields: readonly string[]): boolean {
  return fields.some((f) => f in want && JSON.stringify((want as Record<string, unknown>)[f]) !== JSON.stringify((have as Record<string, unknown>)[f]));
}

/**
 * Applies a topology idempotently: creates what is missing, updates what may change in place, and
 * leaves the rest. Existing consumers keep their position (a consumer's start is only used at creation).
 */
export async function applyTopology(jsm: JetStreamManager, topology: Topology): Promise<TopologyReport> {
  const report: TopologyReport = { created: [], updated: [], unchanged: [] };
  for (const stream of topology.streams) {
    const info = await jsm.streams.info(stream.name).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info) {
      await jsm.streams.add(stream);
      report.created.push(`stream ${stream.name}`);
    } else if (differs<Partial<StreamConfig>>(stream, info.config, MUTABLE_STREAM_FIELDS)) {
      await jsm.streams.update(stream.name, { ...info.config, ...stream });
      report.updated.push(`stream ${stream.name}`);
    } else report.unchanged.push(`stream ${stream.name}`);
  }
  for (const { stream, config } of topology.consumers) {
    const info = await jsm.consumers.info(stream, config.durable_name).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const label = `consumer ${stream}/${config.durable_name}`;
    if (!info) {
      await jsm.consumers.add(stream, config);
      report.created.push(label);
    } else if (differs<Partial<ConsumerConfig>>(config, info.config, MUTABLE_CONSUMER_FIELDS)) {
      const update = Object.fromEntries(MUTABLE_CONSUMER_FIELDS.filter((f) => f in config).map((f) => [f, config[f]]));
      await jsm.consumers.update(stream, config.durable_name, update);
      report.updated.push(label);
    } else report.unchanged.push(label);
  }
  return report;
}
