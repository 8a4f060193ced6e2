import { Controller, Get, Header, type Type } from '@nestjs/common';
import { PublicRoute } from './access';

/**
 * The controller serving a service's OpenAPI document at `GET /v1/openapi.json`, open to anyone (like
 * health and readiness): the document is built once, from the schemas the service validates with.
 */
export function openApiController(document: Record<string, unknown>): Type<unknown> {
  @PublicRoute()
  @Controller('v1')
  class OpenApiController {
    @Get('openapi.json')
    @Header('cache-control', 'no-cache')
    openapi(): Record<string, unknown> {
      return document;
    }
  }
  return OpenApiController;
}

/** A route the HTTP server registered: its method and Fastify path (`:name` parameters, `*` wildcards). */
export interface RegisteredRoute {
  method: string;
  url: string;
}
