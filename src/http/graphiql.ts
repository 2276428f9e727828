/**
 * GraphiQL from @graphql-yoga/render-graphiql's self-contained bundle, served by this process (yoga's default page
 * loads its scripts from a CDN and stays blank offline). The bundle is a cached asset rather than inlined into every
 * page, and is pinned to 5.15, the last release whose editors are CodeMirror (later ones are Monaco, which
 * test/browser drives differently).
 */
import type { GraphiQLOptions } from 'graphql-yoga';
import { type Context, Hono } from 'hono';
import type { Config } from '../config.ts';
import { secretKey, signToken } from '../domain/auth.ts';
import { DEMO_ACTORS } from '../infra/seed.ts';

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

/** The GraphiQL page (yoga's `renderGraphiQL` option), with `defaultHeaders` in its headers editor. */
export function renderGraphiQL({ defaultHeaders }: GraphiQLOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>QuickEats GraphiQL</title>
  <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}/graphiql.css">
</head>
<body>
  <div id="root"></div>
  <script src="${GRAPHIQL_ASSETS_PATH}/graphiql.js"></script>
  <script>
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), {
      endpoint: location.pathname,
      defaultQuery: ${JSON.stringify(EXAMPLE_QUERY)},
      defaultHeaders: ${JSON.stringify(defaultHeaders)},
      shouldPersistHeaders: true,
      // Send each operation as typed, not minified (yoga's fetcher strips whitespace by default).
      print: (document) => document.definitions.map(({ loc }) => loc.source.body.slice(loc.start, loc.end)).join('\\n'),
    });
  </script>
</body>
</html>`;
}

/** Routes for the bundle's script and styles; the bundle is loaded on the first request for it. */
export function graphiqlAssets() {
  let bundle: Promise<typeof import('@graphql-yoga/render-graphiql/graphiql')> | undefined;
  const asset = (name: 'js' | 'css', type: string) => async (c: Context) => {
    bundle ??= import('@graphql-yoga/render-graphiql/graphiql');
    return c.body((await bundle)[name], 200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'public, max-age=86400' });
  };
  return new Hono().get('/graphiql.js', asset('js', 'text/javascript')).get('/graphiql.css', asset('css', 'text/css'));
}
