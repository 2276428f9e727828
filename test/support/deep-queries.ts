/** Valid documents of an exact depth in fields, for the depth limit's tests. */

/** The chain of fields the documents nest, with the type each one returns: orders → edges → node → restaurant → … */
function fieldChain(depth: number): { field: string; type: string }[] {
  return Array.from({ length: depth - 1 }, (_, i) => {
    const top = i < 4 ? 'Query' : 'Restaurant';
    return [
      { field: 'orders(first: 1)', type: `${top}OrdersConnection` },
      { field: 'edges', type: `${top}OrdersConnectionEdge` },
      { field: 'node', type: 'Order' },
      { field: 'restaurant', type: 'Restaurant' },
    ][i % 4]!;
  });
}

const SCALAR_OF: Record<string, string> = { Order: 'status', Restaurant: 'name' };
const scalarOf = (type: string) => SCALAR_OF[type] ?? '__typename';

/** A query `depth` fields deep, written out (the last field a scalar). */
export function deepQuery(depth: number): string {
  const chain = fieldChain(depth);
  let selection = scalarOf(chain.at(-1)!.type);
  for (const { field } of chain.reverse()) selection = `${field} { ${selection} }`;
  return `query Deep { ${selection} }`;
}

/**
 * The same selection as deepQuery(depth), as a Relay-style client writes it: the operation spreads a fragment, and
 * below every field the selection sits in a fragment, named spreads and inline fragments alternately.
 */
export function deepQueryInFragments(depth: number): string {
  const chain = fieldChain(depth);
  const fragments: string[] = [];
  let selection = scalarOf(chain.at(-1)!.type);
  for (let i = chain.length - 1; i >= 0; i--) {
    const { field, type } = chain[i]!;
    if (i % 2 === 0) {
      fragments.push(`fragment Level${i} on ${type} { ${selection} }`);
      selection = `${field} { ...Level${i} }`;
    } else {
      selection = `${field} { ... on ${type} { ${selection} } }`;
    }
  }
  fragments.push(`fragment Page on Query { ${selection} }`);
  return `query DeepInFragments { ...Page } ${fragments.join(' ')}`;
}
