/**
 * Global ids: the relay plugin's opaque `base64(Type:id)`. Fields that name their type (`order(id:)`, `orderId`, …)
 * accept a bare database id too; `node(id:)` cannot, since a bare number names no type.
 */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { isDatabaseId } from '../domain/orders/commands.ts';
import type { GraphQLContext } from './context.ts';

/** The types node(id:)/nodes(ids:) load; test/graphql/schema.test.ts checks it is every type implementing Node. */
export const NODE_TYPENAMES: ReadonlySet<string> = new Set(['Customer', 'MenuItem', 'Order', 'Payment', 'Restaurant', 'Rider']);

/** The database id a raw id part names (digits, within Int), else null. */
export function databaseId(raw: string): number | null {
  const value = Number(raw);
  return /^[0-9]+$/.test(raw) && isDatabaseId(value) ? value : null;
}

/** The options every Node type shares: its id is the `id` column, and a missing row is null for node(id:). */
export const NODE_BY_ID = { id: { field: 'id' }, nullable: true } as const;

/** What node(id:) and nodes(ids:) say about their argument. */
export const NODE_ID_DESCRIPTION =
  'Global ids only, as `id` fields return them: a database id names no type (order(id:), restaurant(id:) and rider(id:) take those).';

/** Whether a decoded global id can name a row at all; a forged one (unknown type, `Order:abc`) names nothing. */
export function isLoadableGlobalId(id: { typename: string; id: string }): boolean {
  return NODE_TYPENAMES.has(id.typename) && databaseId(id.id) !== null;
}

/** The database id inside `id` if it names a `typename` (or is a bare integer), else null. */
export function parseId(id: string, typename: string): number | null {
  let raw: string = id;
  if (!/^[0-9]+$/.test(id)) {
    try {
      const decoded = decodeGlobalID(id);
      if (decoded.typename !== typename) return null;
      raw = decoded.id;
    } catch {
      return null;
    }
  }
  return databaseId(raw);
}

/** The options `order(id:)`, `restaurant(id:)` and `rider(id:)` share: one required id, and null when it names nothing. */
export const byIdField = <IdArg>(t: { arg: { id(options: { required: true }): IdArg } }) =>
  ({ nullable: true, authScopes: { authenticated: true }, args: { id: t.arg.id({ required: true }) } }) as const;

/** A `<type>(id:)` resolver: `read(ctx)` loads the database id the argument names as a `typename` id; none, null. */
export const loadById =
  <Query, Result>(typename: string, read: (ctx: GraphQLContext) => (id: number, query: Query) => Result) =>
  (query: Query, _root: unknown, args: { id?: string | number | null }, ctx: GraphQLContext) => {
    const id = parseId(String(args.id), typename);
    return id === null ? null : read(ctx)(id, query);
  };
