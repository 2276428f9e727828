import { EventEmitter } from 'node:events';
import { PGlite } from '@electric-sql/pglite';
import { run, runMigrations } from 'graphile-worker';

function shim(pglite: PGlite): any {
  const textParsers = { 20: (v: string) => v };
  const query = async (config: any, values?: unknown[]) => {
    const text = typeof config === 'string' ? config : config.text;
    const params = values ?? (typeof config === 'string' ? undefined : config.values);
    if (!params?.length) {
      const results = await pglite.exec(text, { parsers: textParsers } as any);
      const last = results[results.length - 1];
      return { rows: last?.rows ?? [], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
    }
    const r = await pglite.query(text, params, { parsers: textParsers } as any);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  };
  const pool: any = new EventEmitter();
  pool.options = { max: 10 };
  pool.query = query;
  pool.end = async () => {};
  pool.connect = async () => {
    const client: any = new EventEmitter();
    const unsubs: (() => Promise<void>)[] = [];
    client.query = async (config: any, values?: unknown[]) => {
      const text = typeof config === 'string' ? config : config.text;
      const listen = [...text.matchAll(/^\s*LISTEN\s+"([^"]+)"/gim)];
      if (/^\s*LISTEN/i.test(text)) {
        for (const m of text.matchAll(/LISTEN\s+"([^"]+)"/gi)) {
          unsubs.push(await pglite.listen(m[1], (payload) => client.emit('notification', { channel: m[1], payload })));
        }
        return { rows: [], rowCount: 0 };
      }
      if (/^\s*UNLISTEN/i.test(text)) { for (const u of unsubs.splice(0)) await u(); return { rows: [], rowCount: 0 }; }
      void listen;
      return query(config, values);
    };
    client.release = () => {};
    return client;
  };
  return pool;
}

const pglite = await PGlite.create('memory://');
const pgPool = shim(pglite);
const t0 = Date.now();
await runMigrations({ pgPool });
console.log('migrated in', Date.now() - t0);
const runner = await run({ pgPool, concurrency: 2, pollInterval: 500, noHandleSignals: true, taskList: {
  hello: async (payload, helpers) => { console.log('ran hello', payload, 'attempt', helpers.job.attempts); if (helpers.job.attempts < 2) throw new Error('fail once'); },
}});
await pglite.query(`create table t(id int)`);
const r = await pglite.query(`WITH a AS (INSERT INTO t VALUES (1) RETURNING id) SELECT graphile_worker.add_job('hello', json_build_object('id', a.id), max_attempts := 5) FROM a`);
console.log('enqueued', JSON.stringify(r.rows, (k, v) => typeof v === 'bigint' ? v.toString() : v));
await new Promise((r) => setTimeout(r, 6000));
await runner.stop();
console.log((await pglite.query('select count(*) from graphile_worker.jobs')).rows);
