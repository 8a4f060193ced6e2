/**
 * The asset lifecycle as a decider: `decide(state, command)` says what happens (events) or why it cannot
 * (a coded error, never an exception); `evolve(state, event)` applies one event. Pure: time arrives in the
 * commands as ISO 8601 strings.
 *
 * ```
 *            receive           verify ok                reference            unreference (last)
 * pending ──────────▶ uploading ─────────▶ verified ─────────────▶ referenced ──────────────────▶ orphaned
 *    │                   │  │                  │  ▲                   ▲                          │   │
 *    │  expire/terminate │  │ verify mismatch  │  └──── revive ───────┼──────────────────────────┘   │
 *    └───────────────────┴──┴──────────────────┼─▶ collected ◀────────┼──── collect (after grace) ───┘
 *                                              └─ orphan (unreferenced too long, when configured) ─▶ orphaned
 * ```
 *
 * One machine serves two records: an upload walks pending → uploading → verified (or collected when it
 * expires, is terminated or fails its sha256); the asset it produced starts verified and walks on to
 * referenced / orphaned → collected. A dedupe hit creates an upload that is verified at once.
 */

export const LIFECYCLE_STATUSES = ['pending', 'uploading', 'verified', 'referenced', 'orphaned', 'collected'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];

export const COLLECT_REASONS = ['expired', 'terminated', 'sha256-mismatch', 'orphan-grace'] as const;
export type CollectReason = (typeof COLLECT_REASONS)[number];

export interface Lifecycle {
  status: LifecycleStatus;
  /** Declared length in bytes; `undefined` while the length is deferred (tus creation-defer-length). */
  size: number | undefined;
  /** Bytes received and kept. */
  offset: number;
  /** Live references to the asset (records that point at it). */
  references: number;
  /** When the status last changed (ISO 8601). */
  since: string;
  /** Why it was collected. */
  reason?: CollectReason;
  /** Verified because the workspace already held the bytes (no body was needed). */
  deduplicated?: boolean;
}

export type LifecycleCommand =
  /** A new upload; `stored`: the workspace already holds these bytes (content-addressed dedupe). */
  | { type: 'create'; size: number | undefined; stored: boolean; at: string }
  /** The length of a deferred-length upload becomes known. */
  | { type: 'declare-length'; size: number; at: string }
  /** Bytes appended at the current offset. */
  | { type: 'receive'; bytes: number; at: string }
  /** The whole-file sha256 was computed: compare it with the declared one. */
  | { type: 'verify'; declaredSha256: string; actualSha256: string; at: string }
  | { type: 'expire'; at: string }
  | { type: 'terminate'; at: string }
  | { type: 'reference'; at: string }
  | { type: 'unreference'; at: string }
  /** Unreferenced for longer than the configured time: nothing points at it any more. */
  | { type: 'orphan'; at: string }
  /** The same bytes were uploaded again while orphaned: the asset is wanted again. */
  | { type: 'revive'; at: string }
  /** Orphaned for longer than the grace period: the blob is deleted. */
  | { type: 'collect'; at: string };

export type LifecycleEvent =
  | { type: 'created'; size: number | undefined; at: string }
  | { type: 'length-declared'; size: number; at: string }
  | { type: 'received'; bytes: number; at: string }
  | { type: 'verified'; deduplicated: boolean; at: string }
  | { type: 'referenced'; references: number; at: string }
  | { type: 'unreferenced'; references: number; at: string }
  | { type: 'orphaned'; at: string }
  | { type: 'revived'; at: string }
  | { type: 'collected'; reason: CollectReason; at: string };

export const LIFECYCLE_ERRORS = ['already-exists', 'not-found', 'invalid-transition', 'exceeds-length', 'invalid-length', 'incomplete', 'already-complete', 'gone', 'not-referenced'] as const;
export type LifecycleErrorCode = (typeof LIFECYCLE_ERRORS)[number];

export type Decision = { ok: true; events: LifecycleEvent[] } | { ok: false; code: LifecycleErrorCode; detail: string };

const accept = (...events: LifecycleEvent[]): Decision => ({ ok: true, events });
const refuse = (code: LifecycleErrorCode, detail: string): Decision => ({ ok: false, code, detail });
const isOpen = (s: Lifecycle) => s.status === 'pending' || s.status === 'uploading';
const isStored = (s: Lifecycle) => s.status === 'verified' || s.status === 'referenced' || s.status === 'orphaned';
const wrongStatus = (state: Lifecycle, command: LifecycleCommand['type']): Decision =>
  state.status === 'collected'
    ? refuse('gone', `${command}: already collected (${state.reason ?? 'unknown reason'})`)
    : refuse('invalid-transition', `${command} is not possible while ${state.status}`);

/** What a command does to the lifecycle: the events to record, or why it is refused. */
export function decide(state: Lifecycle | undefined, command: LifecycleCommand): Decision {
  if (command.type === 'create') {
    if (state) return refuse('already-exists', 'create: the lifecycle already exists');
    if (command.size !== undefined && (!Number.isSafeInteger(command.size) || command.size < 0)) return refuse('invalid-length', `create: size must be a non-negative integer, got ${command.size}`);
    const created: LifecycleEvent = { type: 'created', size: command.size, at: command.at };
    return command.stored ? accept(created, { type: 'verified', deduplicated: true, at: command.at }) : accept(created);
  }
  if (!state) return refuse('not-found', `${command.type}: no such lifecycle`);
  switch (command.type) {
    case 'declare-length':
      if (!isOpen(state)) return wrongStatus(state, command.type);
      if (state.size !== undefined) return state.size === command.size ? accept() : refuse('invalid-length', `declare-length: the length is already ${state.size}`);
      if (!Number.isSafeInteger(command.size) || command.size < state.offset) return refuse('invalid-length', `declare-length: ${command.size} is below the ${state.offset} bytes already received`);
      return accept({ type: 'length-declared', size: command.size, at: command.at });
    case 'receive':
      if (!isOpen(state)) return wrongStatus(state, command.type);
      if (!Number.isSafeInteger(command.bytes) || command.bytes < 0) return refuse('invalid-length', `receive: bytes must be a non-negative integer, got ${command.bytes}`);
      if (state.size !== undefined && state.offset + command.bytes > state.size)
        return refuse('exceeds-length', `receive: ${state.offset} + ${command.bytes} bytes exceed the declared length ${state.size}`);
      return command.bytes === 0 ? accept() : accept({ type: 'received', bytes: command.bytes, at: command.at });
    case 'verify':
      if (!isOpen(state)) return wrongStatus(state, command.type);
      if (state.size === undefined || state.offset !== state.size) return refuse('incomplete', `verify: ${state.offset} of ${state.size ?? 'an unknown number of'} bytes received`);
      return command.actualSha256 === command.declaredSha256
        ? accept({ type: 'verified', deduplicated: false, at: command.at })
        : accept({ type: 'collected', reason: 'sha256-mismatch', at: command.at });
    case 'expire':
      return isOpen(state) ? accept({ type: 'collected', reason: 'expired', at: command.at }) : wrongStatus(state, command.type);
    case 'terminate':
      if (isOpen(state)) return accept({ type: 'collected', reason: 'terminated', at: command.at });
      if (isStored(state)) return refuse('already-complete', 'terminate: the upload is complete; its asset is kept');
      return wrongStatus(state, command.type);
    case 'reference':
      return isStored(state) ? accept({ type: 'referenced', references: state.references + 1, at: command.at }) : wrongStatus(state, command.type);
    case 'unreference':
      if (state.status !== 'referenced' || state.references < 1)
        return state.status === 'collected' ? wrongStatus(state, command.type) : refuse('not-referenced', `unreference: nothing references it (${state.status})`);
      return state.references === 1
        ? accept({ type: 'unreferenced', references: 0, at: command.at }, { type: 'orphaned', at: command.at })
        : accept({ type: 'unreferenced', references: state.references - 1, at: command.at });
    case 'orphan':
      return state.status === 'verified' && state.references === 0 ? accept({ type: 'orphaned', at: command.at }) : wrongStatus(state, command.type);
    case 'revive':
      if (state.status === 'orphaned') return accept({ type: 'revived', at: command.at });
      return state.status === 'verified' || state.status === 'referenced' ? accept() : wrongStatus(state, command.type);
    case 'collect':
      return state.status === 'orphaned' ? accept({ type: 'collected', reason: 'orphan-grace', at: command.at }) : wrongStatus(state, command.type);
    default: {
      const never: never = command;
      throw new Error(`unknown lifecycle command ${JSON.stringify(never)}`);
    }
  }
}

/** Applies one event. `undefined` state only accepts `created`. */
export function evolve(state: Lifecycle | undefined, event: LifecycleEvent): Lifecycle {
  if (event.type === 'created') return { status: 'pending', size: event.size, offset: 0, references: 0, since: event.at };
  if (!state) throw new Error(`lifecycle event ${event.type} before created`);
  switch (event.type) {
    case 'length-declared':
      return { ...state, size: event.size };
    case 'received':
      return { ...state, status: 'uploading', offset: state.offset + event.bytes, since: state.status === 'uploading' ? state.since : event.at };
    case 'verified':
      return { ...state, status: 'verified', offset: state.size ?? state.offset, since: event.at, ...(event.deduplicated ? { deduplicated: true } : {}) };
    case 'referenced':
      return { ...state, status: 'referenced', references: event.references, since: state.status === 'referenced' ? state.since : event.at };
    case 'unreferenced':
      return { ...state, references: event.references };
    case 'orphaned':
      return { ...state, status: 'orphaned', references: 0, since: event.at };
    case 'revived':
      return { ...state, status: 'verified', since: event.at };
    case 'collected':
      return { ...state, status: 'collected', reason: event.reason, since: event.at };
    default: {
      const never: never = event;
      throw new Error(`unknown lifecycle event ${JSON.stringify(never)}`);
    }
  }
}

/** Folds events over a state. */
export function replay(state: Lifecycle | undefined, events: readonly LifecycleEvent[]): Lifecycle | undefined {
  return events.reduce<Lifecycle | undefined>((s, e) => evolve(s, e), state);
}

/** A change of status caused by one event: what the ASSETS stream reports. */
export interface StatusChange {
  from: LifecycleStatus | undefined;
  to: LifecycleStatus;
  event: LifecycleEvent;
  state: Lifecycle;
}

/** The status changes a list of events makes, in order (events that keep the status are left out). */
export function statusChanges(state: Lifecycle | undefined, events: readonly LifecycleEvent[]): StatusChange[] {
  const changes: StatusChange[] = [];
  let current = state;
  for (const event of events) {
    const next = evolve(current, event);
    if (next.status !== current?.status) changes.push({ from: current?.status, to: next.status, event, state: next });
    current = next;
  }
  return changes;
}

export interface LifecycleTimers {
  /** An open upload's expiry (ISO 8601): after it, the upload is abandoned. */
  expiresAt?: string;
  /** Unreferenced verified assets become orphaned after this long; 0: never by time alone. */
  orphanUnreferencedAfterMs: number;
  /** Orphaned assets are collected after this long. */
  orphanGraceMs: number;
}

/** The time-driven command due for a lifecycle at `now`, if any (what the collector runs). */
export function dueCommand(state: Lifecycle, now: string, timers: LifecycleTimers): LifecycleCommand | undefined {
  const t = Date.parse(now);
  const since = Date.parse(state.since);
  switch (state.status) {
    case 'pending':
    case 'uploading':
      return timers.expiresAt !== undefined && Date.parse(timers.expiresAt) <= t ? { type: 'expire', at: now } : undefined;
    case 'verified':
      return timers.orphanUnreferencedAfterMs > 0 && state.references === 0 && since + timers.orphanUnreferencedAfterMs <= t ? { type: 'orphan', at: now } : undefined;
    case 'orphaned':
      return since + timers.orphanGraceMs <= t ? { type: 'collect', at: now } : undefined;
    case 'referenced':
    case 'collected':
      return undefined;
    default: {
      const never: never = state.status;
      throw new Error(`unknown lifecycle status ${String(never)}`);
    }
  }
}
