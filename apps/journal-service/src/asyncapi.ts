import { asyncApiDocument, journalTopology, type TopologyOptions } from '@tidemark/messaging';

/**
 * The AsyncAPI 3.0 document of the messages tidemark publishes (MERGED, REVIEW, ASSETS, commit notices),
 * built from the published payload schemas and the topology this journal-service declares. Served at
 * `GET /v1/asyncapi.json`; `node tools/asyncapi.mjs` writes it, with the default configuration, to docs/asyncapi.json.
 */
export function journalAsyncApi(options: TopologyOptions): Record<string, unknown> {
  return asyncApiDocument(journalTopology(options));
}
