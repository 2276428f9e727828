/** The GraphQL schema: imports every type file, then builds. */
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/enums.ts';
import './types/errors.ts';
import './types/order.ts';
import './types/restaurant.ts';
import './types/rider.ts';
import './types/viewer.ts';
import './types/event.ts';
import './types/webhook.ts';
import './types/subscriptions.ts';

export const schema = builder.toSchema();

/** The SDL committed as schema.graphql (sorted, so the file diffs cleanly). */
export const printedSchema = (): string => `${printSchema(lexicographicSortSchema(schema))}\n`;
