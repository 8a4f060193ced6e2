import { PublicRoute } from '@tidemark/platform';
import { Controller, Get } from '@nestjs/common';
import { GATEWAY_ROUTES, LEDGER_ROUTES, SYNC_ROUTES, openApiDocument } from '@tidemark/contracts';

const document = openApiDocument('tidemark gateway', '1', [...GATEWAY_ROUTES, ...SYNC_ROUTES, ...LEDGER_ROUTES]);

/** The OpenAPI 3.1 document, built from the same schemas the gateway validates with. */
@PublicRoute()
@Controller('v1')
export class OpenApiController {
  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return document;
  }
}
