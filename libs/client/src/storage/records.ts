import { StorageFormatError } from '../errors';

/**
 * A JSON record the client stored under `key`, or undefined when there is none. A value that is not JSON was not
 * written by this client: {@link StorageFormatError} names the key.
 */
export function parseRecord<T>(text: string | undefined, key: string): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new StorageFormatError(`storage record ${key} is not JSON (${(error as Error).message}); it was not written by this client`, { cause: error });
  }
}
