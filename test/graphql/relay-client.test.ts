/**
 * A Relay client against the server (issue 11, item 1): relay-compiler compiles the page in ./relay-app (a query
 * spreading a paginated fragment, OrderCard → OrderItemRow → MenuItemLabel, and a mutation spreading OrderCard) into
 * a temporary directory against schema.graphql, and relay-runtime sends exactly the compiled text, normalizes the
 * answers into its store and reads every fragment back. The depth limit once counted each fragment spread as two
 * levels and refused this ordinary 6-field-deep page as 14 deep.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  type ConcreteRequest,
  commitMutation,
  createOperationDescriptor,
  Environment,
  fetchQuery,
  getSelector,
  Network,
  type ReaderFragment,
  RecordSource,
  Store,
} from 'relay-runtime';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '../../src/domain/auth.ts';
import { backend, DEMO, startTestService, type TestService } from '../support/harness.ts';
import { orderIn } from '../support/orders.ts';

const RELAY_COMPILER: string = createRequire(import.meta.url)('relay-compiler');
const APP_DIR = path.join(import.meta.dirname, 'relay-app');
const SCHEMA = path.join(import.meta.dirname, '../../schema.graphql');

let service: TestService;
let workDir: string;
/** The compiled artifacts by name (`OrdersPageQuery`, `OrderCard_order`, …). */
const artifacts = new Map<string, unknown>();

/** Compiles ./relay-app with relay-compiler into a fresh directory and loads what it wrote. */
async function compileRelayApp(): Promise<void> {
  workDir = await mkdtemp(path.join(tmpdir(), 'quickeats-relay-'));
  await cp(APP_DIR, path.join(workDir, 'src'), { recursive: true });
  await cp(SCHEMA, path.join(workDir, 'schema.graphql'));
  await mkdir(path.join(workDir, 'src/__generated__'));
  const config = {
    src: './src',
    schema: './schema.graphql',
    language: 'typescript',
    eagerEsModules: true,
    artifactDirectory: './src/__generated__',
  };
  await writeFile(path.join(workDir, 'relay.config.json'), JSON.stringify(config));
  await promisify(execFile)(RELAY_COMPILER, [], { cwd: workDir });
  for (const name of [
    'OrdersPageQuery',
    'OrdersPagePaginationQuery',
    'OrdersPage_orders',
    'OrderCard_order',
    'OrderItemRow_item',
    'MenuItemLabel_menuItem',
    'AcceptOrderButtonMutation',
  ]) {
    const module = await import(path.join(workDir, 'src/__generated__', `${name}.graphql.ts`));
    artifacts.set(name, module.default);
  }
}

const request = (name: string) => artifacts.get(name) as ConcreteRequest;
const fragment = (name: string) => artifacts.get(name) as ReaderFragment;

/** A Relay environment whose network posts the compiled operation text to /graphql as `actor`. */
async function relayEnvironment(actor: Actor): Promise<Environment> {
  const authorization = `Bearer ${await service.token(actor)}`;
  const network = Network.create(async (params, variables) => {
    const response = await service.app.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization },
      body: JSON.stringify({ query: params.text, variables }),
    });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`${response.status} ${JSON.stringify(body)}`);
    return body;
  });
  return new Environment({ network, store: new Store(new RecordSource()) });
}

/** What a component using `useFragment(name, ref)` would render; fails when the store lacks any of its fields. */
function readFragment(environment: Environment, name: string, ref: unknown): any {
  const snapshot = environment.lookup(getSelector(fragment(name), ref) as never);
  expect(snapshot.isMissingData, name).toBe(false);
  return snapshot.data;
}

/** The order cards of the page as rendered: OrderCard with its items' OrderItemRow and MenuItemLabel read through. */
function renderOrdersPage(environment: Environment, variables: Record<string, unknown>) {
  const page = environment.lookup(createOperationDescriptor(request('OrdersPageQuery'), variables).fragment);
  expect(page.isMissingData).toBe(false);
  const pageData = page.data as any;
  const orders = readFragment(environment, 'OrdersPage_orders', pageData).orders;
  const cards = orders.edges.map((edge: any) => {
    const card = readFragment(environment, 'OrderCard_order', edge.node);
    const items = card.items.map((item: any) => {
      const row = readFragment(environment, 'OrderItemRow_item', item);
      return { ...row, menuItem: readFragment(environment, 'MenuItemLabel_menuItem', row.menuItem) };
    });
    return { id: edge.node.id as string, ...card, items };
  });
  return { viewer: pageData.viewer, cards, pageInfo: orders.pageInfo };
}

beforeAll(async () => {
  [service] = await Promise.all([startTestService(), compileRelayApp()]);
  await service.reset();
  for (const status of ['pending_acceptance', 'preparing', 'pending_acceptance'] as const) await orderIn(service, status);
});
afterAll(async () => {
  await service?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe(`Relay client with compiled fragments (${backend})`, () => {
  it('relay-compiler emits each spread as a fragment in the text the client sends', () => {
    const text = request('OrdersPageQuery').params.text!;
    for (const name of ['OrdersPage_orders', 'OrderCard_order', 'OrderItemRow_item', 'MenuItemLabel_menuItem']) {
      expect(text).toContain(`fragment ${name}`);
    }
    expect(request('AcceptOrderButtonMutation').params.text).toContain('...OrderCard_order');
  });

  it('runs the page query, then the next page, and renders every fragment from the store', async () => {
    const warnings = vi.spyOn(console, 'error');
    const environment = await relayEnvironment(DEMO.restaurant1);
    const variables = { first: 2, status: null };
    await fetchQuery(environment, request('OrdersPageQuery'), variables).toPromise();

    const first = renderOrdersPage(environment, variables);
    expect(first.viewer).toEqual({ role: 'RESTAURANT', databaseId: 1 });
    expect(first.cards.map((card: any) => card.databaseId)).toEqual([3, 2]);
    expect(first.cards[0]).toMatchObject({
      status: 'PENDING_ACCEPTANCE',
      version: 2,
      totalAmount: 22_000,
      availableActions: ['ACCEPT', 'REJECT'],
      restaurant: { name: expect.any(String) },
      rider: null,
      items: [{ quantity: 2, lineTotal: 22_000, menuItem: { name: 'Bibimbap', price: 11_000 } }],
    });
    expect(first.pageInfo.hasNextPage).toBe(true);

    // What usePaginationFragment's loadNext sends: the @refetchable query from the end cursor; the @connection merges.
    await fetchQuery(environment, request('OrdersPagePaginationQuery'), {
      first: 2,
      after: first.pageInfo.endCursor,
      status: null,
    }).toPromise();
    const both = renderOrdersPage(environment, variables);
    expect(both.cards.map((card: any) => card.databaseId)).toEqual([3, 2, 1]);
    expect(both.pageInfo.hasNextPage).toBe(false);
    expect(warnings).not.toHaveBeenCalled();
    warnings.mockRestore();
  });

  it('commits the compiled mutation, and the card re-renders from its result', async () => {
    const environment = await relayEnvironment(DEMO.restaurant1);
    const variables = { first: 10, status: ['PENDING_ACCEPTANCE'] };
    await fetchQuery(environment, request('OrdersPageQuery'), variables).toPromise();
    const card = renderOrdersPage(environment, variables).cards[0];
    expect(card).toMatchObject({ status: 'PENDING_ACCEPTANCE', availableActions: ['ACCEPT', 'REJECT'] });

    const response: any = await new Promise((resolve, reject) =>
      commitMutation(environment, {
        mutation: request('AcceptOrderButtonMutation') as never,
        variables: { orderId: card.id, expectedVersion: card.version, input: { idempotencyKey: randomUUID() } },
        onCompleted: (data, errors) => (errors?.length ? reject(new Error(JSON.stringify(errors))) : resolve(data)),
        onError: reject,
      }),
    );
    expect(response.acceptOrder.replayed).toBe(false);
    const rendered = readFragment(environment, 'OrderCard_order', response.acceptOrder.order);
    expect(rendered).toMatchObject({ databaseId: card.databaseId, status: 'PREPARING', version: card.version + 1 });
    // The page's own card is the same record in the store: it shows the new state without refetching.
    const again = renderOrdersPage(environment, variables).cards.find((other: any) => other.id === card.id);
    expect(again).toMatchObject({ status: 'PREPARING', availableActions: ['COMPLETE_PREPARATION'] });
  });
});
