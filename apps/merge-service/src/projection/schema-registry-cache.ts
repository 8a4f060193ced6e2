import { createSchemaRegistry, findSchema, registryKeepingOlder, validateEntityTypeSchema, type EntityTypeSchema, type SchemaRegistry } from '@tidemark/merge';
import { SchemaRepository, type DataSource, type SchemaRecord } from '@tidemark/persistence';
import type { Logger } from '@tidemark/telemetry';

export interface SchemaRegistryCacheOptions {
  /** How often the registry is reloaded from `entity_schemas`. */
  refreshMs: number;
  logger: Logger;
}

const EMPTY: SchemaRegistry = (() => {
  const empty = createSchemaRegistry([]);
  if (!empty.ok) throw new Error('an empty schema registry is valid');
  return empty.value;
})();

/**
 * The schema registry merge-service merges with: every row of `entity_schemas` (published through
 * journal-service), reloaded every `refreshMs`. A row that is not a valid schema, or that contradicts a
 * version of its type already accepted, is logged and left out; it never stops the service.
 *
 * `current()` is what the merge function reads (synchronously, inside the batch). Before a batch, the
 * projector calls `ensure(type, version)` for each schema its events name, so an event written against a
 * version published a moment ago is merged by it instead of being rejected as unknown.
 */
export class SchemaRegistryCache {
  private registry: SchemaRegistry = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<SchemaRegistry> | undefined;
  private queued: Promise<SchemaRegistry> | undefined;
  /** Rows already reported as skipped (by type, version and reason), so a refresh does not repeat them. */
  private readonly reported = new Set<string>();

  private readonly repository: SchemaRepository;

  constructor(
    ds: DataSource,
    private readonly options: SchemaRegistryCacheOptions,
  ) {
    this.repository = SchemaRepository.of(ds);
  }

  /** The registry as last loaded (empty before the first load). */
  current(): SchemaRegistry {
    return this.registry;
  }

  /**
   * Whether the registry knows `type` at `version`; when it does not, reloads once (a load that starts
   * after this call) and answers again. Rejects when Postgres cannot be read, so a batch that needs a
   * schema is retried rather than its events rejected for want of one.
   */
  async ensure(type: string, version: number): Promise<boolean> {
    if (findSchema(this.registry, type, version).ok) return true;
    return findSchema(await this.refresh(), type, version).ok;
  }

  /**
   * Reloads from Postgres and resolves with the new registry. A call made while a load is running gets
   * the next load (that one may have read before the caller's row was committed), shared with every
   * other call made meanwhile: at most one load runs and one waits.
   */
  refresh(): Promise<SchemaRegistry> {
    if (!this.loading) {
      this.loading = this.load().finally(() => (this.loading = undefined));
      return this.loading;
    }
    this.queued ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.refresh();
      });
    return this.queued;
  }

  /** Loads now (so the first batch has the registry), then every `refreshMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.logger.warn({ err: error }, 'schema registry refresh failed; keeping the last one'));
    }, this.options.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.loading, this.queued]);
  }

  private async load(): Promise<SchemaRegistry> {
    const rows = await this.repository.all();
    const registry = this.assemble(rows);
    const before = new Set(this.registry.schemas.map((s) => `${s.type}@${s.version}`));
    const added = registry.schemas.map((s) => `${s.type}@${s.version}`).filter((key) => !before.has(key));
    if (added.length > 0) this.options.logger.info({ added, schemas: registry.schemas.length }, 'schema registry loaded');
    this.registry = registry;
    return registry;
  }

  /** Valid rows, each accepted only if it agrees with the versions of its type accepted before it. */
  private assemble(rows: readonly SchemaRecord[]): SchemaRegistry {
    const valid: EntityTypeSchema[] = [];
    for (const row of rows) {
      const errors = validateEntityTypeSchema(row.definition);
      const definition = row.definition as EntityTypeSchema;
      if (errors.length === 0 && (definition.type !== row.type || definition.version !== row.version)) {
        errors.push({ pointer: '/', detail: `the row is ${row.type} v${row.version} but its definition is ${definition.type} v${definition.version}` });
      }
      if (errors.length > 0) this.skip(row, errors.map((e) => `${e.pointer} ${e.detail}`).join('; '));
      else valid.push(definition);
    }
    // Some versions may contradict each other: the older are kept, in version order, and the newer reported.
    return registryKeepingOlder(valid, (schema, reason) => this.skip(schema, reason));
  }

  private skip(row: { type: string; version: number }, reason: string): void {
    const key = `${row.type}@${row.version}:${reason}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.options.logger.error({ type: row.type, version: row.version, reason }, 'entity_schemas row skipped: not a usable schema');
  }
}
