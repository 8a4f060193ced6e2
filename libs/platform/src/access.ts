import { SetMetadata } from '@nestjs/common';

/** Route metadata key: the route answers without a token (health, readiness, metrics, token refresh). */
export const PUBLIC_ROUTE = 'tidemark:public';

/** Marks a controller or route as open to anyone; every other route of a service with a guard needs a token. */
export const PublicRoute = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
