/**
 * Produces new migrations (and checks for drift) without Prisma's native schema engine, which cannot be
 * downloaded on these machines: the WebAssembly build of the same engine (@prisma/schema-engine-wasm) does the
 * diff, and an in-memory PGlite stands in for the database the migrations describe.
 *
 *   npm run db:diff -- --name add_something   writes prisma/migrations/<UTC yyyymmddHHMMSS>_add_something/migration.sql
 *   npm run db:diff -- --check                prints the drift and exits 1 if migrations and schema.prisma differ
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA_PATH = path.join(ROOT, 'prisma/schema.prisma');
const MIGRATIONS_DIR = path.join(ROOT, 'prisma/migrations');

/**
 * Loads the engine without `--experimental-wasm-modules`: the package's entry point does `import * from
 * "./schema_engine_bg.wasm"`, which Node 20 (and vitest) cannot import, so we do its 4 lines by hand.
 * Once per process: the glue module caches views of the wasm memory, so a second instance would corrupt it.
 */
let engineLoaded = false;
function loadSchemaEngine(): typeof engineGlue.SchemaEngine {
  if (engineLoaded) return engineGlue.SchemaEngine;
  // Set before the first engine call: the glue reports Rust panics through this global.
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void } };
  g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m) => console.error(`schema engine panic: ${m}`) };
  const glueFile = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = glueFile.replace(/\.js$/, '.wasm');
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': engineGlue as never });
  engineGlue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  engineLoaded = true;
  return engineGlue.SchemaEngine;
}

/** Migration folders, oldest first (same order as src/infra/migrate.ts applies them). */
function migrationFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'migration.sql')))
    .map((e) => path.join(dir, e.name, 'migration.sql'))
    .sort();
}

/** The SQL that would bring a database built from prisma/migrations to schema.prisma; '' when there is none. */
export async function diffMigrationsAgainstSchema({ schemaPath = SCHEMA_PATH, migrationsDir = MIGRATIONS_DIR } = {}): Promise<string> {
  const db = new PGlite(); // in memory
  try {
    // Applied as whole scripts, like the app's runner does, rather than letting the engine replay them.
    for (const file of migrationFiles(migrationsDir)) await db.exec(fs.readFileSync(file, 'utf8'));

    const SchemaEngine = loadSchemaEngine();
    // The engine expects the error-capturing wrapper Prisma's CLI puts around every driver adapter.
    const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(db));
    const schema = { path: schemaPath, content: fs.readFileSync(schemaPath, 'utf8') };
    const engine = await SchemaEngine.new({ datamodels: [[schema.path, schema.content]] }, () => {}, adapter);
    try {
      const { stdout } = await engine.diff({
        // "schemaDatasource" = the live database behind the schema's datasource, i.e. the adapter's PGlite.
        from: { tag: 'schemaDatasource', files: [schema], configDir: ROOT },
        to: { tag: 'schemaDatamodel', files: [schema] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      // No filtering of the hand-written SQL needed: the engine leaves CHECK constraints and partial indexes it
      // cannot express out of its diff (checked: a database with and without them both diff as empty). If a future
      // engine starts proposing to drop them, the drift test fails loudly rather than this hiding it.
      // An empty diff may come back as only the comment "-- This is an empty migration."
      return (stdout ?? '').replace(/^-- This is an empty migration\.\s*$/m, '').trim();
    } finally {
      engine.free();
    }
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { name: { type: 'string' }, check: { type: 'boolean' } } });
  if (!values.check && !values.name) throw new Error('usage: db-diff (--name <migration_name> | --check)');
  if (values.name && !/^\w+$/.test(values.name)) throw new Error('--name may only contain letters, digits and _');

  const sql = await diffMigrationsAgainstSchema();
  if (values.check) {
    if (!sql) return console.log('no changes: prisma/migrations matches prisma/schema.prisma');
    console.log(`prisma/migrations and prisma/schema.prisma differ; the missing migration is:\n\n${sql}`);
    process.exitCode = 1;
    return;
  }
  if (!sql) return console.log('no changes');
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14); // UTC yyyymmddHHMMSS
  const dir = path.join(MIGRATIONS_DIR, `${stamp}_${values.name}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'migration.sql'), `${sql}\n`);
  console.log(`wrote ${path.relative(ROOT, dir)}/migration.sql`);
}

// Only act as a CLI when run directly; the drift test imports diffMigrationsAgainstSchema.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 2;
  });
}
