import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// PGlite takes seconds to start on a 2-core machine: each test file opens one database and shares it across its
// tests (reset between them), and files run two at a time.
export default defineConfig({
  resolve: {
    // One copy of graphql, as under Node: Pothos and yoga load its CJS build, and Vite would otherwise hand our own
    // source the ESM build, so schema objects would cross two realms (printSchema/lexicographicSortSchema throw).
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
