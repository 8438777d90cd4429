import { filters, partitionOf, topics } from '@tamky/protocol';

export interface Partition {
  index: number;
  count: number;
}

/**
 * What one ingest instance subscribes to. aedes has no shared subscriptions, so with N > 1 instances each
 * subscribes to the per-gateway topics of the registry's gateways in its partition (partitionOf), and
 * other partitions' messages never reach it: nothing is received only to be dropped. Filters a previous
 * run of the same persistent session may have left (the wildcard, or gateways that moved to another
 * partition) are unsubscribed. With one instance the wildcards are used, so telemetry from gateways missing
 * from the registry still arrives and is dead-lettered; with N > 1 such telemetry reaches no instance
 * (the broker's ACL should refuse unknown gateways in the first place). With an MQTT 5 shared group instead,
 * every instance subscribes to `$share/{group}/` + the wildcards.
 */
export function subscriptionPlan(
  gateways: string[],
  partition: Partition,
  sharedGroup?: string,
): { subscribe: string[]; unsubscribe: string[] } {
  const perGateway = (gw: string) => [topics.telemetry(gw), topics.status(gw), topics.health(gw)];
  const wildcards = [filters.allTelemetry, filters.allStatus, filters.allHealth];
  // MQTT 5 shared subscription: the broker gives each message to one instance of the group.
  if (sharedGroup !== undefined)
    return { subscribe: wildcards.map((f) => sharedFilter(sharedGroup, f)), unsubscribe: [...wildcards, ...gateways.flatMap(perGateway)] };
  if (partition.count === 1) return { subscribe: wildcards, unsubscribe: gateways.flatMap(perGateway) };
  const mine = gateways.filter((gw) => partitionOf(gw, partition.count) === partition.index);
  const others = gateways.filter((gw) => partitionOf(gw, partition.count) !== partition.index);
  return { subscribe: mine.flatMap(perGateway), unsubscribe: [...wildcards, ...others.flatMap(perGateway)] };
}

export const sharedFilter = (group: string, filter: string) => `$share/${group}/${filter}`;
