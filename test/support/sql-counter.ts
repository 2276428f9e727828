/** Counts the SQL statements Prisma sends while `work` runs (the N+1 proof). */
import type { Database } from '../../src/infra/db.ts';

export async function countStatements<T>(db: Database, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const stop = db.onStatement((sql) => statements.push(sql));
  try {
    const result = await work();
    return { result, statements };
  } finally {
    stop();
  }
}
