/**
 * The order list, compiled: a query whose root fields are all `orders` connections, selecting only what maps to a
 * column or a relation (the list a client shows: scalars, items, restaurant, rider, customer, menu items, page info),
 * is answered by ONE SQL statement that builds the response JSON in PostgreSQL, as PostGraphile does. Anything else
 * (another root field, a directive, `availableActions`, `history`, `payment`, a rider's location, an argument that
 * does not coerce, no actor) returns null here and runs through the Pothos resolvers as before.
 *
 * Why: resolving ~800 field values per 50-order page in JavaScript, over Prisma's relation-join rows, cost 4× the
 * PostgreSQL CPU and 2.4× the total CPU of PostGraphile per request (docs/PERFORMANCE.md); no tuning of the resolver
 * path closes that. What stays the same: the schema (every field compiled here is checked against it at start-up),
 * validation and the abuse limits (they run before execution), authentication (no actor, no compilation), and the
 * visibility rule (order-access.ts `visibleOrdersSql`, the SQL twin of the Prisma filter, tested to agree).
 * test/graphql/compiled-orders.test.ts runs a range of documents both ways and requires identical responses.
 *
 * Hand-written because no maintained library compiles a Pothos/Prisma schema's selections to SQL (PostGraphile and
 * join-monster own their schemas). Every SQL text below is built from this file's constants and from GraphQL names
 * (which the parser restricts to [_A-Za-z0-9]); values (actor, page size, cursor, statuses) are bound parameters.
 */

import { parsePrismaCursor } from '@pothos/plugin-prisma';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Actor } from '../domain/auth.ts';
import { PAGE_SIZE } from '../domain/orders/order.queries.ts';
import { visibleOrdersSql } from '../domain/orders/order-access.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { Database } from '../infra/db.ts';
import type { GraphQLContext } from './context.ts';

/** A column expression of the row alias `row`. */
type Scalar = (row: string) => string;
/** A relation: the related type, the join condition (parent alias, related alias), and for lists their order. */
type TypeName = 'Order' | 'OrderItem' | 'MenuItem' | 'Restaurant' | 'Rider' | 'Customer';
type Relation = { type: TypeName; join: (parent: string, row: string) => string; many?: { orderBy: (row: string) => string } };
type CompiledType = { table: string; fields: Record<string, Scalar | Relation> };

const column =
  (name: string): Scalar =>
  (row) =>
    `${row}.${name}`;
/** A DateTime as graphql-scalars serializes a Date: ISO-8601 UTC with milliseconds (the columns are timestamptz(3)). */
const iso =
  (name: string): Scalar =>
  (row) =>
    `to_char(${row}.${name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** The relay plugin's global id, base64("Type:id"). */
const globalId =
  (type: string): Scalar =>
  (row) =>
    `encode(convert_to('${type}:' || ${row}.id, 'UTF8'), 'base64')`;
/** plugin-prisma's cursor of `cursor: 'id'`: base64("GPC:N:<id>"). */
const cursorOf = (row: string) => `encode(convert_to('GPC:N:' || ${row}.id, 'UTF8'), 'base64')`;
const nodeFields = (type: string) => ({ id: globalId(type), databaseId: column('id') });

const TYPES: Record<TypeName, CompiledType> = {
  Order: {
    table: 'orders',
    fields: {
      ...nodeFields('Order'),
      status: (row) => `upper(${row}.status::text)`,
      version: column('version'),
      totalAmount: column('total_amount'),
      deliveryAddress: column('delivery_address'),
      createdAt: iso('created_at'),
      updatedAt: iso('updated_at'),
      items: {
        type: 'OrderItem',
        join: (order, item) => `${item}.order_id = ${order}.id`,
        many: { orderBy: (item) => `${item}.position` },
      },
      restaurant: { type: 'Restaurant', join: (order, restaurant) => `${restaurant}.id = ${order}.restaurant_id` },
      rider: { type: 'Rider', join: (order, rider) => `${rider}.id = ${order}.rider_id` },
      customer: { type: 'Customer', join: (order, customer) => `${customer}.id = ${order}.customer_id` },
    },
  },
  OrderItem: {
    table: 'order_items',
    fields: {
      name: column('name'),
      quantity: column('quantity'),
      unitPrice: column('unit_price'),
      lineTotal: column('line_total'),
      menuItem: { type: 'MenuItem', join: (item, menuItem) => `${menuItem}.id = ${item}.menu_item_id` },
    },
  },
  MenuItem: {
    table: 'menu_items',
    fields: {
      ...nodeFields('MenuItem'),
      name: column('name'),
      price: column('price'),
      available: column('available'),
      restaurant: { type: 'Restaurant', join: (menuItem, restaurant) => `${restaurant}.id = ${menuItem}.restaurant_id` },
    },
  },
  Restaurant: { table: 'restaurants', fields: { ...nodeFields('Restaurant'), name: column('name'), address: column('address') } },
  // Rider.currentLocation has its own visibility rule: not compiled.
  Rider: { table: 'riders', fields: { ...nodeFields('Rider'), name: column('name') } },
  Customer: { table: 'customers', fields: { ...nodeFields('Customer'), name: column('name') } },
};

/** Thrown inside compilation for anything this compiler does not cover; the query then runs the ordinary way. */
class NotCompiled extends Error {}

/**
 * What an operation compiles to, per root field: `__typename`, or an `orders` connection as SQL text over its page
 * alias, with `__SIZE__` where the page size goes, in two variants (with and without `after`, which decides
 * hasPreviousPage). It depends only on the document, so it is computed once per parsed document (yoga caches those).
 */
type RootField = { key: string; typename: string } | { key: string; node: FieldNode; page: string; sql: { first: string; after: string } };
const SIZE = '__SIZE__';

const SAFE_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const literal = (name: string) => {
  if (!SAFE_NAME.test(name)) throw new NotCompiled();
  return `'${name}'`;
};

class Compiler {
  private aliases = 0;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
  }

  /** The fields of `selections` on object type `typeName`, merged by response key, as graphql-js collects them. */
  collect(typeName: string, selectionSets: readonly SelectionSetNode[], into = new Map<string, FieldNode[]>(), seen = new Set<string>()) {
    for (const selectionSet of selectionSets) {
      for (const selection of selectionSet.selections) {
        if (selection.directives?.length) throw new NotCompiled();
        if (selection.kind === Kind.FIELD) {
          const key = selection.alias?.value ?? selection.name.value;
          into.set(key, [...(into.get(key) ?? []), selection]);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          if (!selection.typeCondition || this.applies(selection.typeCondition.name.value, typeName)) {
            this.collect(typeName, [selection.selectionSet], into, seen);
          }
        } else {
          const name = selection.name.value;
          if (seen.has(name)) continue;
          seen.add(name);
          const fragment = this.fragments.get(name);
          if (!fragment || fragment.directives?.length) throw new NotCompiled();
          if (this.applies(fragment.typeCondition.name.value, typeName)) this.collect(typeName, [fragment.selectionSet], into, seen);
        }
      }
    }
    return into;
  }

  private applies(condition: string, typeName: string): boolean {
    if (condition === typeName) return true;
    const conditionType = this.schema.getType(condition);
    const objectType = this.schema.getType(typeName);
    return !!conditionType && isAbstractType(conditionType) && isObjectType(objectType) && this.schema.isSubType(conditionType, objectType);
  }

  private alias(): string {
    return `t${this.aliases++}`;
  }

  /** `json_build_object(...)` of one `typeName` row `row` with the fields `nodes` select. */
  object(typeName: TypeName, row: string, nodes: readonly FieldNode[]): string {
    const type: CompiledType = TYPES[typeName];
    const pairs: string[] = [];
    for (const [key, fields] of this.collect(typeName, subSelections(nodes))) {
      const name = fields[0]!.name.value;
      if (fields.some((field) => field.arguments?.length)) throw new NotCompiled();
      if (name === '__typename') {
        pairs.push(`${literal(key)}, ${literal(typeName)}`);
        continue;
      }
      const field = type.fields[name];
      if (!field) throw new NotCompiled();
      if (typeof field === 'function') {
        pairs.push(`${literal(key)}, ${field(row)}`);
        continue;
      }
      const related = this.alias();
      const relatedType = TYPES[field.type];
      const value = this.object(field.type, related, fields);
      pairs.push(
        field.many
          ? `${literal(key)}, (SELECT coalesce(json_agg(${value} ORDER BY ${field.many.orderBy(related)}), '[]'::json) FROM ${relatedType.table} ${related} WHERE ${field.join(row, related)})`
          : `${literal(key)}, (SELECT ${value} FROM ${relatedType.table} ${related} WHERE ${field.join(row, related)})`,
      );
    }
    return jsonObject(pairs);
  }

  /**
   * The connection object of an `orders` field over the page rows `page` (numbered by `n` from 1, one row more than
   * the page when there is a next page): `edges`, `pageInfo`, `__typename`, as the selection asks.
   */
  connection(nodes: readonly FieldNode[], page: string, size: string, after: boolean): string {
    const shown = `FILTER (WHERE ${page}.n <= ${size})`;
    const pairs: string[] = [];
    for (const [key, fields] of this.collect('QueryOrdersConnection', subSelections(nodes))) {
      const name = fields[0]!.name.value;
      if (name === '__typename') pairs.push(`${literal(key)}, 'QueryOrdersConnection'`);
      else if (name === 'edges') {
        const edge: string[] = [];
        for (const [edgeKey, edgeFields] of this.collect('QueryOrdersConnectionEdge', subSelections(fields))) {
          const edgeName = edgeFields[0]!.name.value;
          if (edgeName === '__typename') edge.push(`${literal(edgeKey)}, 'QueryOrdersConnectionEdge'`);
          else if (edgeName === 'cursor') edge.push(`${literal(edgeKey)}, ${cursorOf(page)}`);
          else if (edgeName === 'node') edge.push(`${literal(edgeKey)}, ${this.object('Order', page, edgeFields)}`);
          else throw new NotCompiled();
        }
        pairs.push(`${literal(key)}, coalesce(json_agg(${jsonObject(edge)} ORDER BY ${page}.n) ${shown}, '[]'::json)`);
      } else if (name === 'pageInfo') {
        const info: string[] = [];
        for (const [infoKey, infoFields] of this.collect('PageInfo', subSelections(fields))) {
          const value = {
            __typename: `'PageInfo'`,
            hasNextPage: `count(*) > ${size}`,
            // As plugin-prisma answers a forward page: there is a previous page exactly when `after` was given.
            hasPreviousPage: after ? 'true' : 'false',
            startCursor: `(array_agg(${cursorOf(page)} ORDER BY ${page}.n) ${shown})[1]`,
            endCursor: `(array_agg(${cursorOf(page)} ORDER BY ${page}.n DESC) ${shown})[1]`,
          }[infoFields[0]!.name.value];
          if (!value) throw new NotCompiled();
          info.push(`${literal(infoKey)}, ${value}`);
        }
        pairs.push(`${literal(key)}, ${jsonObject(info)}`);
      } else throw new NotCompiled();
    }
    return jsonObject(pairs);
  }
}

const subSelections = (nodes: readonly FieldNode[]) => nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
// json_build_object() takes at most 100 arguments; a selection wider than 50 keys is left to the resolvers.
const jsonObject = (pairs: string[]) => {
  if (pairs.length > 50) throw new NotCompiled();
  return `json_build_object(${pairs.join(', ')})`;
};

/** The root fields of the document's operation if they are all compilable `orders` fields (or __typename), else null. */
function planOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): RootField[] | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query' || operation.directives?.length) return null;
  try {
    const compiler = new Compiler(schema, document);
    const plan: RootField[] = [];
    for (const [key, nodes] of compiler.collect('Query', [operation.selectionSet])) {
      const name = nodes[0]!.name.value;
      if (name === '__typename') plan.push({ key, typename: 'Query' });
      else if (name === 'orders') {
        const page = `p${plan.length}`;
        const sql = { first: compiler.connection(nodes, page, SIZE, false), after: compiler.connection(nodes, page, SIZE, true) };
        plan.push({ key, node: nodes[0]!, page, sql });
      } else return null;
    }
    return plan;
  } catch (error) {
    if (error instanceof NotCompiled) return null;
    throw error;
  }
}

const plans = new WeakMap<DocumentNode, Map<string, RootField[] | null>>();

function cachedPlanOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) {
  const byName = plans.get(document) ?? new Map<string, RootField[] | null>();
  plans.set(document, byName);
  const name = operationName ?? '';
  if (!byName.has(name)) byName.set(name, planOf(schema, document, operationName));
  return byName.get(name)!;
}

type OrdersArgs = { first?: number | null; after?: string | null; before?: unknown; last?: unknown; status?: string[] | null };

/**
 * One statement answering the whole operation, or null when it is not compilable with these variables (arguments
 * that do not coerce, or that the resolvers refuse with an error: those run the ordinary way, which reports them).
 */
export function compileOrdersQuery(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  actor: Actor,
): Prisma.Sql | null {
  const plan = cachedPlanOf(schema, document, operationName);
  if (!plan) return null;
  const operation = getOperationAST(document, operationName)!;
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (variables.errors) return null;
  const ordersField = schema.getQueryType()!.getFields().orders as GraphQLField<unknown, unknown>;
  const values: Prisma.Sql[] = [];
  for (const field of plan) {
    if ('typename' in field) {
      values.push(Prisma.raw(`${literal(field.key)}, 'Query'`));
      continue;
    }
    const args = getArgumentValues(ordersField, field.node, variables.coerced) as OrdersArgs;
    if (args.before != null || args.last != null) return null;
    const size = args.first ?? PAGE_SIZE.default;
    if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE.max) return null;
    let after: number | null = null;
    if (args.after != null) {
      try {
        after = Number(parsePrismaCursor(args.after));
      } catch {
        return null;
      }
      if (!Number.isSafeInteger(after)) return null;
    }
    const connection = (after === null ? field.sql.first : field.sql.after).replaceAll(SIZE, String(size));
    const statuses = args.status?.length ? Prisma.sql`AND o.status::text IN (${Prisma.join(args.status)})` : Prisma.empty;
    // Strictly after the cursor's row in the list's order, as plugin-prisma's cursor + skip 1 pages.
    const from =
      after === null
        ? Prisma.empty
        : Prisma.sql`AND (o.created_at, o.id) < (SELECT c.created_at, c.id FROM orders c WHERE c.id = ${after}::integer)`;
    values.push(Prisma.sql`${Prisma.raw(literal(field.key))}, (SELECT ${Prisma.raw(connection)} FROM (
      SELECT o.*, row_number() OVER (ORDER BY o.created_at DESC, o.id DESC) AS n
      FROM orders o
      WHERE ${visibleOrdersSql(actor, 'o')} ${statuses} ${from}
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT ${size + 1}::integer) ${Prisma.raw(field.page)})`);
  }
  return Prisma.sql`SELECT json_build_object(${Prisma.join(values)})::text`;
}

/**
 * The yoga plugin: executes a compilable operation as its one statement and skips graphql-js execution; any other
 * operation (or no actor: the resolvers refuse it) runs the ordinary way.
 */
export function compiledOrders(readText: Database['readText'], schema: GraphQLSchema): Plugin<GraphQLContext> {
  checkAgainstSchema(schema);
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const { actor } = args.contextValue as GraphQLContext;
      if (!actor) return;
      const sql = compileOrdersQuery(args.schema, args.document, args.operationName, args.variableValues, actor);
      if (!sql) return;
      setResultAndStopExecution({ data: JSON.parse(await readText(sql)) });
    },
  };
}

/** Every field compiled here exists in the schema, and every relation leads to the type the schema says. */
function checkAgainstSchema(schema: GraphQLSchema): void {
  for (const [typeName, type] of Object.entries(TYPES)) {
    const fields = (schema.getType(typeName) as GraphQLObjectType | undefined)?.getFields();
    for (const [name, field] of Object.entries(type.fields)) {
      const declared = fields?.[name];
      const named = declared && getNamedType(declared.type).name;
      if (!declared || (typeof field !== 'function' && named !== field.type)) {
        throw new Error(`compiled-orders.ts: ${typeName}.${name} does not match the schema`);
      }
    }
  }
}
