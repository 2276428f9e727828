/**
 * The order list, compiled: a query whose root fields are all `orders` connections, selecting only what maps to a
 * column or a relation (the list a client shows: scalars, items, restaurant, rider, customer, menu items, page info),
 * is answered by ONE SQL statement (one per root field), as PostGraphile does; anything else (another root field, a directive,
 * `availableActions`, `history`, `payment`, a rider's location, arguments the resolvers would refuse, no actor) returns
 * null here and runs through the Pothos resolvers as before.
 *
 * The statement returns the page's rows, one per order, with to-one relations joined and each list (items) as a
 * JSON array of column values; this module assembles the response from them with a plan made once per document:
 * global ids, cursors, enum values and dates are formatted here, by the same functions the resolvers use. Building
 * the response objects in PostgreSQL instead (json_build_object with keys, to_char, base64: the floor's way) cost the
 * backend several times the CPU (docs/PERFORMANCE-PROFILE.md), and PostgreSQL is the one part every process shares.
 *
 * Why compile at all: resolving ~800 field values per 50-order page in JavaScript, over Prisma's relation-join rows,
 * cost 4× the PostgreSQL CPU and 2.4× the total CPU of PostGraphile per request. What stays the same: the schema
 * (every compiled field is checked against it at start-up), validation and the abuse limits (they run before
 * execution), authentication (no actor, no compilation), and visibility (order-access.ts `visibleOrdersSql`, the SQL
 * twin of the Prisma filter, tested to agree). test/graphql/compiled-orders.test.ts runs a range of documents both
 * ways, for every actor, and requires identical responses.
 *
 * Hand-written because no maintained library compiles a Pothos/Prisma schema's selections to SQL (PostGraphile and
 * join-monster own their schemas). The SQL text is built from this file's constants only; values (actor, cursor,
 * statuses) are bound parameters, and the page size is a checked integer.
 */

import { formatPrismaCursor, parsePrismaCursor } from '@pothos/plugin-prisma';
import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLEnumType,
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

/** How a column's JSON value becomes the field's value, as its resolver and scalar would make it. */
type Format = 'value' | 'enum' | 'dateTime' | { globalId: string };
type Scalar = { column: string; format?: Format };
type TypeName = 'Order' | 'OrderItem' | 'MenuItem' | 'Restaurant' | 'Rider' | 'Customer';
/** A relation: the related type, the join condition (parent alias, related alias), and for lists their order. */
type Relation = { type: TypeName; join: (parent: string, row: string) => string; many?: { orderBy: (row: string) => string } };
type CompiledType = { table: string; fields: Record<string, Scalar | Relation> };

const nodeFields = (type: string) => ({ id: { column: 'id', format: { globalId: type } }, databaseId: { column: 'id' } });

const TYPES: Record<TypeName, CompiledType> = {
  Order: {
    table: 'orders',
    fields: {
      ...nodeFields('Order'),
      status: { column: 'status', format: 'enum' },
      version: { column: 'version' },
      totalAmount: { column: 'total_amount' },
      deliveryAddress: { column: 'delivery_address' },
      createdAt: { column: 'created_at', format: 'dateTime' },
      updatedAt: { column: 'updated_at', format: 'dateTime' },
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
      name: { column: 'name' },
      quantity: { column: 'quantity' },
      unitPrice: { column: 'unit_price' },
      lineTotal: { column: 'line_total' },
      menuItem: { type: 'MenuItem', join: (item, menuItem) => `${menuItem}.id = ${item}.menu_item_id` },
    },
  },
  MenuItem: {
    table: 'menu_items',
    fields: {
      ...nodeFields('MenuItem'),
      name: { column: 'name' },
      price: { column: 'price' },
      available: { column: 'available' },
      restaurant: { type: 'Restaurant', join: (menuItem, restaurant) => `${restaurant}.id = ${menuItem}.restaurant_id` },
    },
  },
  Restaurant: { table: 'restaurants', fields: { ...nodeFields('Restaurant'), name: { column: 'name' }, address: { column: 'address' } } },
  // Rider.currentLocation has its own visibility rule: not compiled.
  Rider: { table: 'riders', fields: { ...nodeFields('Rider'), name: { column: 'name' } } },
  Customer: { table: 'customers', fields: { ...nodeFields('Customer'), name: { column: 'name' } } },
};

/** Thrown inside compilation for anything this compiler does not cover; the query then runs the ordinary way. */
class NotCompiled extends Error {}

/**
 * How to build one object from its row's array: each response key, in selection order, takes a constant
 * (`__typename`), a formatted column, a nested row (to-one relation, null when absent) or a list of rows.
 */
type ObjectPlan = Entry[];
type Entry = { key: string } & (
  | { constant: string }
  | { index: number; format: (value: unknown) => unknown }
  | { index: number; one: ObjectPlan }
  | { index: number; many: ObjectPlan }
);

/** Columns (SQL expressions) of a row's array and the plan that reads them back. */
type Compiled = { columns: string[]; plan: ObjectPlan };
/** The FROM clause of one SQL scope: its to-one relations become LEFT JOINs there. */
type Scope = { joins: string[] };

/**
 * A root `orders` field: the response key, its field node (for its arguments), and what each order row holds:
 * the SQL columns after the order id (always first: cursors are made from it) and the plans of the connection.
 */
type ConnectionPlan = {
  key: string;
  node: FieldNode;
  columns: string[];
  joins: string[];
  connection: ConnectionEntry[];
};
type ConnectionEntry =
  | { key: string; constant: string }
  | { key: string; edges: ({ key: string; constant: string } | { key: string; cursor: true } | { key: string; node: ObjectPlan })[] }
  | { key: string; pageInfo: { key: string; field: string }[] };
type RootField = { key: string; constant: string } | ConnectionPlan;

// Aliases are response keys; keys like `__proto__` would not survive a plain object, so they are not compiled.
const checkedKey = (key: string) => {
  if (key.startsWith('__') && key !== '__typename') throw new NotCompiled();
  return key;
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
          const key = checkedKey(selection.alias?.value ?? selection.name.value);
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

  /** The columns of a `typeName` row `row` (in `scope`) for the fields `nodes` select, and the plan to read them. */
  object(typeName: TypeName, row: string, nodes: readonly FieldNode[], scope: Scope): Compiled {
    const type = TYPES[typeName];
    const columns: string[] = [];
    const plan: ObjectPlan = [];
    for (const [key, fields] of this.collect(typeName, subSelections(nodes))) {
      const name = fields[0]!.name.value;
      if (fields.some((field) => field.arguments?.length)) throw new NotCompiled();
      if (name === '__typename') {
        plan.push({ key, constant: typeName });
        continue;
      }
      const field = type.fields[name];
      if (!field) throw new NotCompiled();
      const index = columns.length;
      if ('column' in field) {
        columns.push(`${row}.${field.column}`);
        plan.push({ key, index, format: this.formatter(typeName, name, field.format ?? 'value') });
        continue;
      }
      const related = this.alias();
      const { table } = TYPES[field.type];
      if (field.many) {
        const inner: Scope = { joins: [] };
        const nested = this.object(field.type, related, fields, inner);
        columns.push(
          `(SELECT coalesce(json_agg(${jsonArray(nested.columns)} ORDER BY ${field.many.orderBy(related)}), '[]'::json) FROM ${table} ${related} ${inner.joins.join(' ')} WHERE ${field.join(row, related)})`,
        );
        plan.push({ key, index, many: nested.plan });
      } else {
        scope.joins.push(`LEFT JOIN ${table} ${related} ON ${field.join(row, related)}`);
        const nested = this.object(field.type, related, fields, scope);
        columns.push(`CASE WHEN ${related}.id IS NULL THEN NULL ELSE ${jsonArray(nested.columns)} END`);
        plan.push({ key, index, one: nested.plan });
      }
    }
    return { columns, plan };
  }

  /** What turns a column's JSON value into the field's: the schema's own enum, the relay plugin's global id, a Date. */
  private formatter(typeName: string, fieldName: string, format: Format): (value: unknown) => unknown {
    if (format === 'value') return (value) => value;
    if (format === 'dateTime') return (value) => new Date(value as string);
    if (format === 'enum') {
      const enumType = getNamedType((this.schema.getType(typeName) as GraphQLObjectType).getFields()[fieldName]!.type) as GraphQLEnumType;
      return (value) => enumType.serialize(value);
    }
    return (value) => encodeGlobalID(format.globalId, value as number);
  }

  /** An `orders` field: its connection's plan, and the order row's columns (after the id) with their joins. */
  connection(key: string, nodes: readonly FieldNode[]): ConnectionPlan {
    const scope: Scope = { joins: [] };
    const columns: string[] = [];
    const connection: ConnectionEntry[] = [];
    for (const [connectionKey, fields] of this.collect('QueryOrdersConnection', subSelections(nodes))) {
      const name = fields[0]!.name.value;
      if (name === '__typename') connection.push({ key: connectionKey, constant: 'QueryOrdersConnection' });
      else if (name === 'edges') {
        const edges: Extract<ConnectionEntry, { edges: unknown }>['edges'] = [];
        for (const [edgeKey, edgeFields] of this.collect('QueryOrdersConnectionEdge', subSelections(fields))) {
          const edgeName = edgeFields[0]!.name.value;
          if (edgeName === '__typename') edges.push({ key: edgeKey, constant: 'QueryOrdersConnectionEdge' });
          else if (edgeName === 'cursor') edges.push({ key: edgeKey, cursor: true });
          else if (edgeName === 'node') {
            // Every node of the page reads the same row: its columns follow the id, at an offset.
            const order = this.object('Order', 'p', edgeFields, scope);
            const offset = 1 + columns.length;
            columns.push(...order.columns);
            edges.push({ key: edgeKey, node: shift(order.plan, offset) });
          } else throw new NotCompiled();
        }
        connection.push({ key: connectionKey, edges });
      } else if (name === 'pageInfo') {
        const pageInfo = [...this.collect('PageInfo', subSelections(fields))].map(([infoKey, infoFields]) => {
          const field = infoFields[0]!.name.value;
          if (!['__typename', 'hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor'].includes(field)) throw new NotCompiled();
          return { key: infoKey, field };
        });
        connection.push({ key: connectionKey, pageInfo });
      } else throw new NotCompiled();
    }
    return { key, node: nodes[0]!, columns, joins: scope.joins, connection };
  }
}

const subSelections = (nodes: readonly FieldNode[]) => nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
/** Moves a plan's top-level indexes by `offset` (its columns were appended after others in the same row). */
const shift = (plan: ObjectPlan, offset: number): ObjectPlan =>
  plan.map((entry) => ('index' in entry ? { ...entry, index: entry.index + offset } : entry));
// json_build_array() takes at most 100 arguments (a statement's row 1,664 columns); a wider selection is left to the resolvers.
const jsonArray = (columns: string[]) => {
  if (columns.length > 100) throw new NotCompiled();
  return `json_build_array(${columns.join(', ')})`;
};

/** Builds one object from its row's array, as the plan says. */
function assemble(plan: ObjectPlan, row: unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const entry of plan) {
    if ('constant' in entry) object[entry.key] = entry.constant;
    else if ('format' in entry) object[entry.key] = entry.format(row[entry.index]);
    else if ('one' in entry) {
      const related = row[entry.index] as unknown[] | null;
      object[entry.key] = related === null ? null : assemble(entry.one, related);
    } else object[entry.key] = (row[entry.index] as unknown[][]).map((related) => assemble(entry.many, related));
  }
  return object;
}

/** The root fields of the document's operation if they are all compilable `orders` fields (or __typename), else null. */
function planOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): RootField[] | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query' || operation.directives?.length) return null;
  try {
    const compiler = new Compiler(schema, document);
    const plan: RootField[] = [];
    for (const [key, nodes] of compiler.collect('Query', [operation.selectionSet])) {
      const name = nodes[0]!.name.value;
      if (name === '__typename') plan.push({ key, constant: 'Query' });
      else if (name === 'orders') plan.push(compiler.connection(key, nodes));
      else return null;
    }
    return plan;
  } catch (error) {
    if (error instanceof NotCompiled) return null;
    throw error;
  }
}

const plans = new WeakMap<DocumentNode, Map<string, RootField[] | null>>();

/** The plan of a document's operation, made once per parsed document (yoga caches parsed documents). */
function cachedPlanOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined) {
  const byName = plans.get(document) ?? new Map<string, RootField[] | null>();
  plans.set(document, byName);
  const name = operationName ?? '';
  if (!byName.has(name)) byName.set(name, planOf(schema, document, operationName));
  return byName.get(name)!;
}

type OrdersArgs = { first?: number | null; after?: string | null; before?: unknown; last?: unknown; status?: string[] | null };

/** A compiled operation: one statement per `orders` field, and how their rows become the response's `data`. */
export type CompiledQuery = { statements: Prisma.Sql[]; data: (rows: unknown[][][]) => Record<string, unknown> };

/**
 * The compiled form of an operation with these variables, or null when it is not compilable (see the header), or
 * when its arguments do not coerce or are ones the resolvers refuse: those run the ordinary way, which reports them.
 */
export function compileOrdersQuery(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  actor: Actor,
): CompiledQuery | null {
  const plan = cachedPlanOf(schema, document, operationName);
  if (!plan) return null;
  const operation = getOperationAST(document, operationName)!;
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (variables.errors) return null;
  const ordersField = schema.getQueryType()!.getFields().orders as GraphQLField<unknown, unknown>;
  const statements: Prisma.Sql[] = [];
  const readers: ((rows: unknown[][]) => Record<string, unknown>)[] = [];
  for (const field of plan) {
    if ('constant' in field) continue;
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
    const statuses = args.status?.length ? Prisma.sql`AND o.status::text IN (${Prisma.join(args.status)})` : Prisma.empty;
    // Strictly after the cursor's row in the list's order, as plugin-prisma's cursor + skip 1 pages.
    const continues =
      after === null
        ? Prisma.empty
        : Prisma.sql`AND (o.created_at, o.id) < (SELECT c.created_at, c.id FROM orders c WHERE c.id = ${after}::integer)`;
    // One row more than the page: whether there is a next page.
    statements.push(Prisma.sql`SELECT ${Prisma.raw(['p.id', ...field.columns].join(', '))}
      FROM (SELECT o.* FROM orders o WHERE ${visibleOrdersSql(actor, 'o')} ${statuses} ${continues}
            ORDER BY o.created_at DESC, o.id DESC LIMIT ${size + 1}::integer) p
      ${Prisma.raw(field.joins.join(' '))}
      ORDER BY p.created_at DESC, p.id DESC`);
    readers.push((rows) => connectionOf(field, rows, size, after !== null));
  }
  return {
    statements,
    data: (results) => {
      const data: Record<string, unknown> = {};
      let next = 0;
      for (const field of plan) data[field.key] = 'constant' in field ? field.constant : readers[next]!(results[next++]!);
      return data;
    },
  };
}

/** The connection object of one `orders` field from its rows, as plugin-prisma's connection resolver makes it. */
function connectionOf(field: ConnectionPlan, rows: unknown[][], size: number, after: boolean): Record<string, unknown> {
  const shown = rows.slice(0, size);
  const cursors = shown.map((row) => formatPrismaCursor({ id: row[0] }, 'id'));
  const pageInfo: Record<string, unknown> = {
    __typename: 'PageInfo',
    hasNextPage: rows.length > size,
    // A forward page has a previous page exactly when `after` was given.
    hasPreviousPage: after,
    startCursor: cursors[0] ?? null,
    endCursor: cursors.at(-1) ?? null,
  };
  const connection: Record<string, unknown> = {};
  for (const entry of field.connection) {
    if ('constant' in entry) connection[entry.key] = entry.constant;
    else if ('pageInfo' in entry)
      connection[entry.key] = Object.fromEntries(entry.pageInfo.map(({ key, field: name }) => [key, pageInfo[name]]));
    else {
      connection[entry.key] = shown.map((row, index) => {
        const edge: Record<string, unknown> = {};
        for (const part of entry.edges) {
          if ('constant' in part) edge[part.key] = part.constant;
          else if ('cursor' in part) edge[part.key] = cursors[index];
          else edge[part.key] = assemble(part.node, row);
        }
        return edge;
      });
    }
  }
  return connection;
}

/**
 * The yoga plugin: executes a compilable operation as its one statement and skips graphql-js execution; any other
 * operation (or no actor: the resolvers refuse it) runs the ordinary way.
 */
export function compiledOrders(readRows: Database['readRows'], schema: GraphQLSchema): Plugin<GraphQLContext> {
  checkAgainstSchema(schema);
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const { actor } = args.contextValue as GraphQLContext;
      if (!actor) return;
      const compiled = compileOrdersQuery(args.schema, args.document, args.operationName, args.variableValues, actor);
      if (!compiled) return;
      setResultAndStopExecution({ data: compiled.data(await Promise.all(compiled.statements.map(readRows))) });
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
      if (!declared || ('type' in field && named !== field.type)) {
        throw new Error(`compiled-orders.ts: ${typeName}.${name} does not match the schema`);
      }
    }
  }
}
