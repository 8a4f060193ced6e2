/** Identifier patterns of the event envelope, as plain strings (the TypeBox schemas in `device-event.ts` use them). */

/** Subject-safe identifier (device ids, entity ids): no '.', '*', '>' or whitespace, so it can stand in a NATS subject token. */
export const ID_TOKEN_PATTERN = '^[A-Za-z0-9_:-]{1,128}$';
/** Entity type names. */
export const TYPE_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';
/** Field names. */
export const FIELD_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,63}$';
