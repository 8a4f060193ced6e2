import { RequireAuth } from '@tidemark/auth';
import { Controller, Get, Inject } from '@nestjs/common';
import type { JetStreamConnection, Topology, TopologyReport } from '@tidemark/messaging';

export const TOPOLOGY = Symbol('TOPOLOGY');
export const CONNECTION = Symbol('CONNECTION');

export interface TopologyState {
  declared: Topology;
  lastApplied?: TopologyReport;
}

@RequireAuth('operator')
@Controller('v1')
export class TopologyController {
  constructor(
    @Inject(TOPOLOGY) private readonly state: TopologyState,
    @Inject(CONNECTION) private readonly connection: () => JetStreamConnection,
  ) {}

  /** The declared topology, what the last apply did, and the live state of every declared stream. */
  @Get('topology')
  async topology(): Promise<unknown> {
    const jsm = this.connection().jsm;
    const streams = await Promise.all(
      this.state.declared.streams.map(async (s) => {
        const info = await jsm.streams.info(s.name);
        return {
          name: s.name,
          subjects: info.config.subjects,
          storage: info.config.storage,
          replicas: info.config.num_replicas,
          messages: info.state.messages,
          bytes: info.state.bytes,
          firstSeq: info.state.first_seq,
          lastSeq: info.state.last_seq,
        };
      }),
    );
    return {
      streams,
      consumers: this.state.declared.consumers.map((c) => ({ stream: c.stream, durable: c.config.durable_name, filter: c.config.filter_subject })),
      lastApplied: this.state.lastApplied,
    };
  }
}
