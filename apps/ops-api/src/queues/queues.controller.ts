import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Type } from '@sinclair/typebox';
import { compileValidator, type QueuesView } from '@tidemark/contracts';
import { OPS_VIEWS, type OpsViews } from '../streams/views';
import { parseQuery } from '../streams/query';
import { readQueues } from './queue-view';

export const QueuesQuery = Type.Object(
  {
    workspace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    waitThresholdSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: 'a queue whose oldest queued job waited longer falls behind (default `QUEUE_WAIT_THRESHOLD_SECONDS`)' }),
    ),
    fallingBehind: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);
const validate = compileValidator(QueuesQuery);

/**
 * Job queues (the queue a job type declares with `queueBy`): per workspace and queue, jobs queued, running,
 * retrying and failed, retries, open repairs, the oldest queued job's age, and whether the queue falls behind.
 */
@RequireAuth('operator')
@Controller('v1')
export class QueuesController {
  constructor(@Inject(OPS_VIEWS) private readonly views: OpsViews) {}

  @Get('queues')
  async queues(@Query() query: Record<string, unknown>): Promise<QueuesView> {
    const q = parseQuery(validate, query, ['waitThresholdSeconds']);
    const view = await readQueues(this.views.ds, q.workspace ?? null, this.views.now(), q.waitThresholdSeconds ?? this.views.queueWaitThresholdSeconds);
    if (q.fallingBehind === undefined) return view;
    return { ...view, queues: view.queues.filter((v) => v.fallingBehind === (q.fallingBehind === 'true')) };
  }
}
