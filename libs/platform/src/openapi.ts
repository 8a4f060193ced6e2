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

/**
 * The controller serving a service's AsyncAPI document (the messages it describes on NATS) at
 * `GET /v1/asyncapi.json`, open to anyone like the OpenAPI document.
 */
export function asyncApiController(document: Record<string, unknown>): Type<unknown> {
  @PublicRoute()
  @Controller('v1')
  class AsyncApiController {
    @Get('asyncapi.json')
    @Header('cache-control', 'no-cache')
    asyncapi(): Record<string, unknown> {
      return document;
    }
  }
  return AsyncApiController;
}

/** A route the HTTP server registered: its method and Fastify path (`:name` parameters, `*` wildcards). */
export interface RegisteredRoute {
  method: string;
  url: string;
}
