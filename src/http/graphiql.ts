/**
 * GraphiQL served entirely from this project's dependencies (yoga's default page loads scripts from a CDN and stays
 * blank offline). GraphiQL 3 is the last major with a browser (UMD) bundle, which is why it is pinned there.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { GraphiQLOptions } from 'graphql-yoga';
import { Hono } from 'hono';
import type { Config } from '../config.ts';
import { secretKey, signToken } from '../domain/auth.ts';
import { DEMO_ACTORS } from '../infra/seed.ts';

const require = createRequire(import.meta.url);
/** A file inside an installed package (the UMD bundles are not in the packages' `exports`). */
const packageFile = (pkg: string, file: string) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);

const ASSETS: Record<string, { path: string; type: string }> = {
  'react.js': { path: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.js': { path: packageFile('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.js': { path: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.css': { path: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
};

export const GRAPHIQL_ASSETS_PATH = '/graphiql-assets';

const EXAMPLE_QUERY = `# Send {"Authorization": "Bearer <token>"} in the headers below (tokens are printed at start-up).
# In development they already hold customer 1's demo token: run this as it is.
query MyOrders {
  viewer { role databaseId }
  orders(first: 10) {
    edges {
      node {
        id databaseId status version totalAmount availableActions
        restaurant { name }
        rider { name }
        items { name quantity lineTotal }
      }
    }
  }
}
`;

/** GraphiQL's headers: outside production, customer 1's demo token, so a newcomer's first click runs a query. */
export async function graphiqlHeaders(config: Pick<Config, 'isProduction' | 'seedDemoData' | 'jwtSecret'>): Promise<string> {
  const demo = !config.isProduction && config.seedDemoData;
  const token = demo ? await signToken(DEMO_ACTORS[0]!, secretKey(config.jwtSecret)) : '<paste a token printed at start-up>';
  return JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
}

/** The GraphiQL HTML page (yoga's renderGraphiQL), with `defaultHeaders` in its headers editor. */
export function renderGraphiQL({ defaultHeaders }: GraphiQLOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>QuickEats GraphiQL</title>
  <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}/graphiql.css">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="${GRAPHIQL_ASSETS_PATH}/react.js"></script>
  <script src="${GRAPHIQL_ASSETS_PATH}/react-dom.js"></script>
  <script src="${GRAPHIQL_ASSETS_PATH}/graphiql.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: location.pathname });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultQuery: ${JSON.stringify(EXAMPLE_QUERY)},
        defaultHeaders: ${JSON.stringify(defaultHeaders)},
        headerEditorEnabled: true,
        shouldPersistHeaders: true,
        isHeadersEditorEnabled: true,
      }),
    );
  </script>
</body>
</html>`;
}

/** Routes for GraphiQL's static assets, read once at start-up. */
export function graphiqlAssets() {
  const app = new Hono();
  const files = new Map(Object.entries(ASSETS).map(([name, asset]) => [name, { body: fs.readFileSync(asset.path), type: asset.type }]));
  app.get('/:file', (c) => {
    const file = files.get(c.req.param('file'));
    if (!file) return c.notFound();
    return c.body(file.body, 200, { 'content-type': `${file.type}; charset=utf-8`, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}
