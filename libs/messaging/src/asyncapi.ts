import {
  ASSETS_SUBJECT_ROOT,
  ASSET_STATUSES,
  COMMITTED_NOTICE_ROOT,
  MERGED_SUBJECT_ROOT,
  MESSAGE_PAYLOADS,
  MESSAGE_SCHEMA_VERSIONS,
  MSG_ID_HEADER,
  REVIEW_SUBJECT_ROOT,
  SCHEMA_VERSION_HEADER,
  type PublishedMessage,
} from '@tidemark/contracts';
import { STREAMS, type Topology } from './topology';

/**
 * The AsyncAPI 3.0 document of what tidemark publishes for integrators, built from the published payload
 * schemas (`@tidemark/contracts`) and the declared topology: one channel per subject pattern (its tokens as
 * parameters), the JetStream stream holding it with its retention and dedupe window, one `receive` operation
 * per channel, and each message's headers (the dedupe id, the schema version). journal-service serves it at
 * `GET /v1/asyncapi.json`; `node tools/asyncapi.mjs` writes it to docs/asyncapi.json.
 */

type ParamName = 'workspace' | 'entityType' | 'entityId' | 'sha256' | 'status';

const PARAMETERS: Record<ParamName, Record<string, unknown>> = {
  workspace: { description: 'the workspace (letters, digits, _ or -)', examples: ['default'] },
  entityType: { description: 'the entity type (lower-case name of a published schema)', examples: ['annotation'] },
  entityId: { description: 'the entity id (letters, digits, _ : -)', examples: ['img-42'] },
  sha256: { description: 'the asset’s sha256, 64 lower-case hex digits', examples: ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'] },
  status: { description: 'the lifecycle status the asset entered', enum: [...ASSET_STATUSES] },
};

interface Example {
  name: string;
  summary: string;
  headers: Record<string, string>;
  payload: unknown;
}

interface MessageDoc {
  message: PublishedMessage;
  name: string;
  title: string;
  /** How the message id (`Nats-Msg-Id`) is formed, for JetStream channels. */
  msgId?: string;
  examples: Example[];
}

interface ChannelDoc {
  id: string;
  /** The stream holding the channel's messages; absent for core NATS. */
  stream?: string;
  address: string;
  title: string;
  description: string;
  /** Headers beyond the message id and the schema version. */
  headers?: Record<string, { description: string; required: boolean }>;
  messages: MessageDoc[];
}

const EVENT_ID = '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69';
const OTHER_EVENT_ID = '7a1c2e9d-3b4f-4c5a-8d6e-1f2a3b4c5d6e';
const REPLAY_ID = '5b1c2d3e-0000-4000-8000-000000000001';
const UPLOAD_ID = '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';
const ENTITY = { type: 'annotation', id: 'img-42' };
const version = (message: PublishedMessage) => String(MESSAGE_SCHEMA_VERSIONS[message]);
const versioned = (message: PublishedMessage, msgId: string, extra: Record<string, string> = {}) => ({ [MSG_ID_HEADER]: msgId, [SCHEMA_VERSION_HEADER]: version(message), ...extra });
const FIELD_CONFLICT = {
  id: `${OTHER_EVENT_ID}:label`,
  kind: 'field',
  rule: 'review:concurrent-edit',
  field: 'label',
  base: { kind: 'absent' },
  ours: { eventId: EVENT_ID, deviceId: 'tablet-a', hlc: { wall: 1764062153123, counter: 0 }, version: 2, value: 'cat' },
  theirs: { eventId: OTHER_EVENT_ID, deviceId: 'laptop-b', hlc: { wall: 1764062154000, counter: 0 }, value: 'dog', baseVersion: 0 },
  openedAt: 3,
  entity: ENTITY,
  workspace: 'default',
  acceptedAt: '2026-12-01T09:00:00.000Z',
  streamSeq: 19,
};

const CHANNELS: ChannelDoc[] = [
  {
    id: 'mergedChange',
    stream: STREAMS.merged,
    address: `${MERGED_SUBJECT_ROOT}.{workspace}.{entityType}.{entityId}`,
    title: 'Applied changes',
    description:
      'One message per accepted event (outcome applied, merged or conflicted), published from merge-service’s outbox after the projection commit, in journal order per entity; and, when an operator’s replay is swapped in, one message per entity whose view changed (outcome replayed). One entity’s changes are one subject filter.',
    messages: [
      {
        message: 'mergedChange',
        name: 'MergedChange',
        title: 'An applied change',
        msgId: '`merged-<workspace>-<eventId>` for an accepted event, `replayed-<replayId>-<workspace>-<entityType>-<entityId>` for a replay’s',
        examples: [
          {
            name: 'labelSet',
            summary: 'a device set the label of an annotation',
            headers: versioned('mergedChange', `merged-default-${EVENT_ID}`),
            payload: {
              workspace: 'default',
              entity: ENTITY,
              version: 1,
              deleted: false,
              view: { version: 1, deleted: false, values: { label: 'cat' }, inConflict: [] },
              eventId: EVENT_ID,
              deviceId: 'laptop-1',
              streamSeq: 17,
              outcome: 'applied',
              decisions: [{ field: 'label', policy: 'review', rule: 'review:first-write', outcome: 'applied' }],
            },
          },
          {
            name: 'replayed',
            summary: 'a replay under a new policy revision changed the entity’s view',
            headers: versioned('mergedChange', `replayed-${REPLAY_ID}-default-annotation-img-42`),
            payload: {
              workspace: 'default',
              entity: ENTITY,
              version: 3,
              deleted: false,
              view: { version: 3, deleted: false, values: { label: 'cat', confidence: 0.4 }, inConflict: [] },
              eventId: EVENT_ID,
              deviceId: `replay:${REPLAY_ID}`,
              streamSeq: 21,
              outcome: 'replayed',
              replayId: REPLAY_ID,
              decisions: [],
            },
          },
        ],
      },
    ],
  },
  {
    id: 'conflictOpened',
    stream: STREAMS.review,
    address: `${REVIEW_SUBJECT_ROOT}.{workspace}.opened.{entityType}.{entityId}`,
    title: 'Conflicts opened',
    description:
      'A conflict an accepted event opened (two devices edited a `review` field concurrently, or an edit had not seen a delete), with base / ours / theirs and both causal stamps; or one a replay opened when it was swapped in (with `replayId`). Published from the outbox after the commit.',
    messages: [
      {
        message: 'conflictOpened',
        name: 'ConflictOpened',
        title: 'A conflict opened',
        msgId: '`conflict-opened-<workspace>-<conflictId>`, or `replay-<replayId>-conflict-opened-<conflictId>`',
        examples: [
          {
            name: 'labelConflict',
            summary: 'two devices set the label from the same base',
            headers: versioned('conflictOpened', `conflict-opened-default-${FIELD_CONFLICT.id}`),
            payload: { kind: 'conflict.opened', conflict: FIELD_CONFLICT },
          },
        ],
      },
    ],
  },
  {
    id: 'conflictResolved',
    stream: STREAMS.review,
    address: `${REVIEW_SUBJECT_ROOT}.{workspace}.resolved.{entityType}.{entityId}`,
    title: 'Conflicts resolved or withdrawn',
    description:
      'A conflict closed by a journaled resolve event (ours, theirs or a new value), or withdrawn because a replay, swapped in, no longer has it (`kind` tells them apart). Published from the outbox after the commit.',
    messages: [
      {
        message: 'conflictResolved',
        name: 'ConflictResolved',
        title: 'A conflict resolved',
        msgId: '`conflict-resolved-<workspace>-<conflictId>`',
        examples: [
          {
            name: 'labelResolved',
            summary: 'a reviewer picked a value',
            headers: versioned('conflictResolved', `conflict-resolved-default-${FIELD_CONFLICT.id}`),
            payload: { kind: 'conflict.resolved', conflictId: FIELD_CONFLICT.id, workspace: 'default', entity: ENTITY, eventId: '8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f', version: 4 },
          },
        ],
      },
      {
        message: 'conflictWithdrawn',
        name: 'ConflictWithdrawn',
        title: 'A conflict withdrawn by a replay',
        msgId: '`replay-<replayId>-conflict-withdrawn-<conflictId>`',
        examples: [
          {
            name: 'withdrawn',
            summary: 'the rebuild under a new revision merges the field instead',
            headers: versioned('conflictWithdrawn', `replay-${REPLAY_ID}-conflict-withdrawn-${FIELD_CONFLICT.id}`),
            payload: { kind: 'conflict.withdrawn', conflictId: FIELD_CONFLICT.id, workspace: 'default', entity: ENTITY, replayId: REPLAY_ID },
          },
        ],
      },
    ],
  },
  {
    id: 'assetTransition',
    stream: STREAMS.assets,
    address: `${ASSETS_SUBJECT_ROOT}.{workspace}.{status}.{sha256}`,
    title: 'Asset lifecycle transitions',
    description:
      'One message per lifecycle transition of an upload (pending → uploading → verified, or collected) or of the stored asset (referenced, orphaned, collected), published from asset-service’s outbox after the commit. One asset’s history is `tm.assets.<workspace>.*.<sha256>`.',
    headers: {
      'tm-workspace': { description: 'the workspace', required: true },
      'tm-upload': { description: 'the upload, on an upload’s transitions', required: false },
    },
    messages: [
      {
        message: 'assetTransition',
        name: 'AssetTransition',
        title: 'An asset lifecycle transition',
        msgId: '`upload:<uploadId>:<status>` for an upload’s transitions, `asset:<workspace>:<sha256>:<generation>:<status>` for the stored asset’s',
        examples: [
          {
            name: 'verified',
            summary: 'an upload’s bytes matched its sha256',
            headers: versioned('assetTransition', `upload:${UPLOAD_ID}:verified`, { 'tm-workspace': 'default', 'tm-upload': UPLOAD_ID }),
            payload: {
              v: 1,
              workspace: 'default',
              sha256: SHA,
              uploadId: UPLOAD_ID,
              from: 'uploading',
              status: 'verified',
              size: 307200,
              contentType: 'image/jpeg',
              fileClass: 'image',
              references: 0,
              at: '2026-12-01T09:00:05.000Z',
            },
          },
        ],
      },
    ],
  },
  {
    id: 'committedNotice',
    address: `${COMMITTED_NOTICE_ROOT}.{workspace}`,
    title: 'Commit notices (core NATS)',
    description:
      'Published by merge-service right after a projection commit added to the workspace’s change log, on core NATS (not JetStream: no stream, no replay, at most once). A wake-up signal naming the scope keys the commit touched, so a gateway wakes only the readers whose read scopes meet them: a lost notice costs latency, never a change.',
    messages: [
      {
        message: 'committedNotice',
        name: 'CommittedNotice',
        title: 'A commit notice',
        examples: [
          {
            name: 'committed',
            summary: 'workspace default committed changes of two keys',
            headers: { [SCHEMA_VERSION_HEADER]: version('committedNotice') },
            payload: { keys: ['annotation', 'task\u001fp-17'] },
          },
        ],
      },
    ],
  },
];

/** TypeBox schemas are JSON Schema plus symbol keys; a JSON round trip leaves the JSON Schema. */
const strip = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
const NANOS_PER_SECOND = 1_000_000_000;

function streamFacts(topology: Topology, name: string): Record<string, unknown> {
  const stream = topology.streams.find((s) => s.name === name);
  if (!stream) throw new Error(`the topology declares no stream ${name}`);
  const maxAge = Number(stream.max_age ?? 0);
  return {
    stream: name,
    subjects: stream.subjects,
    storage: stream.storage,
    retention: stream.retention,
    discard: stream.discard,
    replicas: stream.num_replicas,
    maxAgeSeconds: maxAge === 0 ? null : maxAge / NANOS_PER_SECOND,
    duplicateWindowSeconds: Number(stream.duplicate_window ?? 0) / NANOS_PER_SECOND,
    dedupeHeader: MSG_ID_HEADER,
  };
}

function retentionText(facts: Record<string, unknown>): string {
  const age = facts.maxAgeSeconds === null ? 'kept until removed by an operator (no age limit)' : `kept ${Number(facts.maxAgeSeconds) / 86_400} days (older messages are discarded)`;
  return `JetStream stream \`${String(facts.stream)}\` (${String(facts.storage)} storage, ${String(facts.replicas)} replica(s)): ${age}. A copy published again with the same \`${MSG_ID_HEADER}\` within ${Number(facts.duplicateWindowSeconds)} s is dropped by the stream.`;
}

function headersSchema(channel: ChannelDoc, doc: MessageDoc): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    [SCHEMA_VERSION_HEADER]: { type: 'string', const: version(doc.message), description: 'the major version of the payload schema; a new version is a breaking change' },
    traceparent: { type: 'string', description: 'W3C trace context of the commit that produced the message, when tracing is on' },
  };
  const required = [SCHEMA_VERSION_HEADER];
  if (channel.stream) {
    properties[MSG_ID_HEADER] = { type: 'string', description: `the JetStream message id, ${doc.msgId ?? ''}: the dedupe key, stable across re-publishing` };
    required.push(MSG_ID_HEADER);
  }
  for (const [name, h] of Object.entries(channel.headers ?? {})) {
    properties[name] = { type: 'string', description: h.description };
    if (h.required) required.push(name);
  }
  return { type: 'object', properties, required };
}

export interface AsyncApiOptions {
  /** NATS servers integrators connect to (`host` is host:port). */
  servers?: Record<string, { host: string; description?: string }>;
}

/** Builds the AsyncAPI 3.0 document of the published messages over a declared topology. */
export function asyncApiDocument(topology: Topology, options: AsyncApiOptions = {}): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const servers = options.servers ?? { local: { host: '127.0.0.1:4222', description: 'the NATS server of a local stack (npm start)' } };
  for (const channel of CHANNELS) {
    const facts = channel.stream ? streamFacts(topology, channel.stream) : undefined;
    const params = [...channel.address.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as ParamName);
    for (const doc of channel.messages) {
      schemas[doc.name] = strip(MESSAGE_PAYLOADS[doc.message]);
      messages[doc.message] = {
        name: doc.name,
        title: doc.title,
        contentType: 'application/json',
        headers: headersSchema(channel, doc),
        payload: { $ref: `#/components/schemas/${doc.name}` },
        examples: doc.examples,
      };
    }
    channels[channel.id] = {
      address: channel.address,
      title: channel.title,
      description: facts ? `${channel.description}\n\n${retentionText(facts)}` : channel.description,
      ...(params.length > 0 ? { parameters: Object.fromEntries(params.map((p) => [p, PARAMETERS[p]])) } : {}),
      messages: Object.fromEntries(channel.messages.map((doc) => [doc.message, { $ref: `#/components/messages/${doc.message}` }])),
      'x-tidemark-delivery': facts ?? { stream: null, transport: 'core NATS', delivery: 'at most once' },
    };
    const operation = channel.id.charAt(0).toUpperCase() + channel.id.slice(1);
    operations[`receive${operation}`] = {
      action: 'receive',
      title: `Receive: ${channel.title.toLowerCase()}`,
      summary: facts ? `consume from stream ${String(facts.stream)} (a durable or ordered consumer filtered on the subject)` : 'subscribe on core NATS',
      channel: { $ref: `#/channels/${channel.id}` },
      messages: channel.messages.map((doc) => ({ $ref: `#/channels/${channel.id}/messages/${doc.message}` })),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'tidemark published messages',
      version: String(Math.max(...Object.values(MESSAGE_SCHEMA_VERSIONS))),
      description: [
        'What tidemark publishes for integrators on NATS: applied changes (JetStream `MERGED`), conflicts opened and resolved (`REVIEW`), asset lifecycle transitions (`ASSETS`) and commit notices (core NATS).',
        `Versioning: every message carries the header \`${SCHEMA_VERSION_HEADER}\`, the major version of its payload schema. Within a version a payload only gains fields (consumers ignore fields they do not know); removing, renaming or retyping a field is a new version (a new header value and a new schema in this document). Subjects, streams and message id forms change only with a new version.`,
        'Messages published from an outbox are at least once: deduplicate on `Nats-Msg-Id`, which is stable across re-publishing.',
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, { host: s.host, protocol: 'nats', ...(s.description ? { description: s.description } : {}) }])),
    channels,
    operations,
    components: { schemas, messages },
  };
}

/** The examples the document shows, by message (each checked against its schema by the tests). */
export const ASYNCAPI_EXAMPLES: { message: PublishedMessage; payload: unknown }[] = CHANNELS.flatMap((c) =>
  c.messages.flatMap((m) => m.examples.map((e) => ({ message: m.message, payload: e.payload }))),
);
