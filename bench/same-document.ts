/**
 * The W1 check that makes the servers' figures comparable: every server must answer W1 with the same document.
 * Each answer is canonicalised (PostGraphile's spelling mapped to the service's: field names, enum case, node ids decoded to type and key,
 * timestamps to UTC milliseconds, object keys sorted) and compared; a mismatch stops the bench and names the server.
 */
import { type TargetName, w1Request } from './workloads.ts';

export type DocumentCheck = {
  /** Length of the canonical document, in characters. */
  canonicalLength: number;
  /** Length of each server's raw answer: under load every W1/W4 response must have it. */
  bodyLength: Partial<Record<TargetName, number>>;
};

/** Fetches W1 from every server and throws, naming the server(s) that differ, unless all answer the same document. */
export async function checkSameW1Document(servers: { name: TargetName; url: string }[], adminToken: string): Promise<DocumentCheck> {
  const answers = await Promise.all(
    servers.map(async ({ name, url }) => {
      const { method, path, headers, body } = w1Request(name, adminToken);
      const response = await fetch(`${url}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`W1 document check: ${name} answered ${response.status}: ${text.slice(0, 300)}`);
      let document: Json;
      try {
        document = canonicalW1(name, JSON.parse(text));
      } catch (error) {
        throw new Error(`W1 document check: ${name}'s answer is not a W1 document (${(error as Error).message}): ${text.slice(0, 300)}`, {
          cause: error,
        });
      }
      return { name, text, document, canonical: JSON.stringify(document) };
    }),
  );
  // The reference is the document most servers agree on; whoever answers something else is named.
  const groups = new Map<string, TargetName[]>();
  for (const answer of answers) groups.set(answer.canonical, [...(groups.get(answer.canonical) ?? []), answer.name]);
  if (groups.size > 1) {
    const [reference] = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
    const agreed = reference![1].length > 1;
    const base = answers.find((answer) => answer.canonical === reference![0])!;
    const differing = answers.filter((answer) => answer.canonical !== base.canonical);
    const lines = differing.map((answer) => {
      const difference = firstDifference(base.document, answer.document, '$');
      return `  ${answer.name} differs from ${base.name} at ${difference.path}: ${base.name} has ${difference.expected}, ${answer.name} has ${difference.actual}`;
    });
    throw new Error(
      `W1 document check FAILED: the servers do not return the same document, so their figures are not comparable.\n` +
        `${agreed ? `Differs from the others: ${differing.map((answer) => answer.name).join(', ')}` : `All ${answers.length} answers differ`}\n` +
        lines.join('\n'),
    );
  }
  return {
    canonicalLength: answers[0]!.canonical.length,
    bodyLength: Object.fromEntries(answers.map((answer) => [answer.name, answer.text.length])),
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The W1 answer of `target` in one spelling: `{ orders: [...] }`, each order as the service names its fields. */
export function canonicalW1(target: TargetName, response: { data?: Record<string, unknown>; errors?: unknown }): Json {
  if (response.errors) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors).slice(0, 200)}`);
  const connection = (target === 'postgraphile' ? response.data?.allOrders : response.data?.orders) as { edges?: { node: unknown }[] };
  if (!Array.isArray(connection?.edges)) throw new Error('no orders connection with edges');
  const orders = connection.edges.map(({ node }) => {
    if (target !== 'postgraphile') return node;
    // PostGraphile's spelling of the same fields: rowId, the items as a connection's nodes, and the PostgreSQL enum
    // labels as they are (the service's GraphQL enum values are their upper-case names).
    const { rowId, items, status, ...rest } = node as { rowId: unknown; items: { nodes: unknown } | null; status: unknown };
    return { ...rest, databaseId: rowId, status: typeof status === 'string' ? status.toUpperCase() : status, items: items?.nodes ?? null };
  });
  return canonicalValue({ orders } as Json);
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

function canonicalValue(value: Json, key?: string): Json {
  if (Array.isArray(value)) return value.map((item) => canonicalValue(item));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((name) => [name, canonicalValue(value[name]!, name)]),
    );
  }
  if (typeof value === 'string') {
    if (key === 'id') return decodeNodeId(value);
    if (ISO_TIMESTAMP.test(value)) return new Date(value).toISOString();
  }
  return value;
}

/**
 * A node id as "Type:key": the relay plugin encodes base64("Order:12"), PostGraphile base64('["Order",12]').
 * Anything else stays as it is (and then differs).
 */
function decodeNodeId(id: string): string {
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  if (/^[A-Za-z]+:\d+$/.test(decoded)) return decoded;
  try {
    const parts = JSON.parse(decoded) as unknown;
    if (Array.isArray(parts) && typeof parts[0] === 'string' && parts.length > 1) return `${parts[0]}:${parts.slice(1).join(',')}`;
  } catch {
    // not PostGraphile's spelling either
  }
  return id;
}

/** Where two canonical documents first differ, for the error message. */
function firstDifference(expected: Json, actual: Json, path: string): { path: string; expected: string; actual: string } {
  const show = (value: Json | undefined) => (value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 120));
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let index = 0; index < Math.max(expected.length, actual.length); index++) {
      if (index >= expected.length || index >= actual.length) {
        return { path: `${path}[${index}]`, expected: show(expected[index]), actual: show(actual[index]) };
      }
      if (JSON.stringify(expected[index]) !== JSON.stringify(actual[index]))
        return firstDifference(expected[index]!, actual[index]!, `${path}[${index}]`);
    }
  } else if (isObject(expected) && isObject(actual)) {
    for (const name of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
      if (JSON.stringify(expected[name]) !== JSON.stringify(actual[name])) {
        if (name in expected && name in actual) return firstDifference(expected[name]!, actual[name]!, `${path}.${name}`);
        return { path: `${path}.${name}`, expected: show(expected[name]), actual: show(actual[name]) };
      }
    }
  }
  return { path, expected: show(expected), actual: show(actual) };
}

const isObject = (value: Json): value is { [key: string]: Json } => value !== null && typeof value === 'object' && !Array.isArray(value);
