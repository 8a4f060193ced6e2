import { describe, it } from 'node:test';
import { JOB_V1, QUEUE_NAME_MAX, schemaRegistryOf, type EntityTypeSchema } from '../index';
import { BASE_WALL, eventsFor, set } from '../testing/events';
import { journal, projectionSpec } from '../testing/projection-spec';

/** A job type whose queue is its `queue` field. */
const RENDER: EntityTypeSchema = { ...JOB_V1, type: 'render', queueBy: 'queue', fields: { ...JOB_V1.fields, queue: { policy: 'lww', valueType: 'string' } } };
const spec = projectionSpec(schemaRegistryOf([RENDER, JOB_V1]));
const at = (seconds: number) => new Date(BASE_WALL + seconds * 1000).toISOString();

describe('planBatch: job columns for per-queue figures', () => {
  it('given a job queued in "gpu", when it runs, then its row holds the queue, the state, the attempt and when it entered that state', () => {
    const j = journal();
    const e = eventsFor('render');
    spec
      .given([j.record(e({ op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { queue: set('gpu') }, hlc: 1000 }))])
      .when(j.record(e({ op: 'transition', job: { to: 'running', attempt: 1 }, baseVersion: 1, hlc: 5000 })))
      .then({ entities: [{ jobQueue: 'gpu', jobState: 'running', jobAttempt: 1, jobSince: at(5) }] });
  });

  it('given a running job, when a field changes without a transition, then its state keeps the time of the transition', () => {
    const j = journal();
    const e = eventsFor('render');
    spec
      .given([j.record(e({ op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { queue: set('gpu') }, hlc: 1000 }))])
      .when(j.record(e({ fields: { progress: set(0.5), queue: set('cpu') }, baseVersion: 1, hlc: 9000 })))
      .then({ entities: [{ jobQueue: 'cpu', jobState: 'queued', jobSince: at(1) }] });
  });

  it('given a job type declaring no queue, or a queue field never set, then the job is in no named queue', () => {
    const j = journal();
    spec
      .given()
      .when(
        j.record(eventsFor('job')({ op: 'transition', job: { to: 'queued', attempt: 1 } })),
        j.record(eventsFor('render')({ deviceSeq: 2, eventId: '00000000-0000-4000-8000-0000000000ff', op: 'transition', job: { to: 'queued', attempt: 1 } })),
      )
      .then({
        entities: [
          { entityType: 'job', jobQueue: null, jobState: 'queued' },
          { entityType: 'render', jobQueue: null, jobState: 'queued' },
        ],
      });
  });

  it('given a queue name longer than the bound, then it is cut to QUEUE_NAME_MAX', () => {
    const j = journal();
    spec
      .given()
      .when(j.record(eventsFor('render')({ op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { queue: set('q'.repeat(QUEUE_NAME_MAX + 10)) } })))
      .then({ entities: [{ jobQueue: 'q'.repeat(QUEUE_NAME_MAX) }] });
  });

  it('given a queued job, when it is deleted, or for an entity that is not a job, then the row has no job columns', () => {
    const j = journal();
    const e = eventsFor('render');
    spec
      .given([j.record(e({ op: 'transition', job: { to: 'queued', attempt: 1 }, fields: { queue: set('gpu') } }))])
      .when(j.record(e({ op: 'delete', baseVersion: 1 })))
      .then({ entities: [{ deleted: true, jobQueue: null, jobState: null, jobAttempt: null, jobSince: null }] });
    spec
      .given()
      .when(j.record(eventsFor('render', 'r-2')({ eventId: '00000000-0000-4000-8000-0000000000aa', fields: { queue: set('gpu') } })))
      .then({ entities: [{ jobQueue: null, jobState: null }] });
  });
});
