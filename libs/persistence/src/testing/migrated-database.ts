import { testDatabase, type TestDatabase } from '@tidemark/testing';
import { createDataSource, migrateWithLock } from '../data-source';
import type { DataSource } from 'typeorm';

/** A throwaway database on the test Postgres with every migration applied, and a data source on it (tests only). */
export async function migratedDatabase(name: string): Promise<{ db: TestDatabase; ds: DataSource }> {
  const db = await testDatabase(name);
  const ds = createDataSource({ url: db.url });
  await ds.initialize();
  await migrateWithLock(ds);
  return { db, ds };
}
