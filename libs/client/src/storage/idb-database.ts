import type * as Idb from 'idb' with { 'resolution-mode': 'import' };
import type { IDBPDatabase } from 'idb' with { 'resolution-mode': 'import' };

// idb ships CommonJS (`default` condition) and ES module builds, but its types are those of the ES module, which a
// CommonJS file may not `import`; this package is CommonJS (see the README's "Packaging"), hence the require.
const { openDB } = require('idb') as typeof Idb;

/**
 * Opens (creating them when missing) the IndexedDB database `database` with these object stores, for one of the
 * SDK's IndexedDB stores. `gone` runs when the connection can no longer be used: another tab wants to delete or
 * upgrade the database (the connection steps aside), or the browser closed it (the database was deleted, or the
 * user cleared site data).
 */
export async function openStores(kind: string, name: string, database: string, version: number, stores: readonly string[], gone: () => void): Promise<IDBPDatabase> {
  if (name.length === 0 || name.length > 200) throw new RangeError(`invalid ${kind} name ${JSON.stringify(name)}: use 1–200 characters`);
  return openDB(database, version, {
    upgrade(db) {
      for (const store of stores) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
    },
    blocking: gone,
    terminated: gone,
  });
}
