export { connectJetStream, natsCheck, type JetStreamConnection, type ConnectOptions } from './connection';
export { journalTopology, applyTopology, mergeConsumerName, mergeConsumerConfig, isNotFound, STREAMS, type Topology, type TopologyOptions, type TopologyReport, type ConsumerDeclaration } from './topology';
export { publishIdempotent, buildHeaders, natsCarrier, type IdempotentPublish } from './publish';
export { DurableBatchConsumer, type MessageBatch, type BatchHandler, type BatchConsumerOptions } from './batch-consumer';
export { readRange, type RangeOptions } from './range-reader';
export { JetStreamPullTransport, type PullBinding, type JetStreamTransportOptions } from './nest-transport';
export type { JsMsg, PubAck, JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
export type { NatsConnection, Subscription } from '@nats-io/transport-node';
export { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
