import { openApiController } from '@tidemark/platform';
import { GATEWAY_ROUTES, LEDGER_ROUTES, SYNC_ROUTES, openApiDocument } from '@tidemark/contracts';

/** The gateway's OpenAPI document: device push, pull, snapshot, the ledger, identity and the admin API. */
export const GATEWAY_OPENAPI = openApiDocument('tidemark gateway', '1', [...GATEWAY_ROUTES, ...SYNC_ROUTES, ...LEDGER_ROUTES], {
  servers: [
    { url: '/', description: 'the instance serving this document' },
    { url: 'http://127.0.0.1:3001', description: 'the gateway of a local stack (npm start)' },
  ],
});

/** `GET /v1/openapi.json`, built from the same schemas the gateway validates with. */
export const OpenApiController = openApiController(GATEWAY_OPENAPI);
