export * from './events/device-event';
export * from './events/subjects';
export * from './events/validate';
export * from './http/problem';
export * from './http/push';
export * from './canonical-json';
export * from './http/openapi';
export * from './http/ledger';
