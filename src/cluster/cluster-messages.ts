/**
 * IPC messages between the api cluster's primary (src/cluster/api-cluster.ts) and its workers
 * (API_WORKERS > 1, docs/operations.md "Several api processes on one machine"). Only GET /metrics
 * uses them: the worker answering a scrape asks the primary for every other worker's metrics
 * (src/metrics/cluster-metrics.ts). Plain JSON over the cluster's IPC channel; this file imports
 * nothing, so the primary stays small.
 *
 * Flow of one scrape answered by worker W:
 * 1. W → primary: `metrics-collect {id}`;
 * 2. primary → every other listening worker: `metrics-snapshot {id}`;
 * 3. each → primary: `metrics-snapshot-result {id, metrics}` (prom-client's getMetricsAsJSON());
 * 4. primary → W, once all answered or after METRICS_PEER_BOUND_MS: `metrics-collected {id,
 *    snapshots, missing}`.
 */

/** Longest the primary waits for the other workers' snapshots (ms); late ones count as missing. */
export const METRICS_PEER_BOUND_MS = 2_000;

/** Prefix of every message type, so other IPC traffic is never mistaken for ours. */
const PREFIX = 'tollgate:';

export const MSG_METRICS_COLLECT = `${PREFIX}metrics-collect`;
export const MSG_METRICS_SNAPSHOT = `${PREFIX}metrics-snapshot`;
export const MSG_METRICS_SNAPSHOT_RESULT = `${PREFIX}metrics-snapshot-result`;
export const MSG_METRICS_COLLECTED = `${PREFIX}metrics-collected`;

/** W → primary: send me the other workers' metrics. `id` is W's own request counter. */
export interface MetricsCollect {
  type: typeof MSG_METRICS_COLLECT;
  id: number;
}

/** primary → a worker: send your metrics. `id` is the primary's request id. */
export interface MetricsSnapshot {
  type: typeof MSG_METRICS_SNAPSHOT;
  id: number;
}

/** a worker → primary: its metrics as prom-client JSON (`metrics`), or null with `error`. */
export interface MetricsSnapshotResult {
  type: typeof MSG_METRICS_SNAPSHOT_RESULT;
  id: number;
  metrics: unknown[] | null;
  error?: string;
}

/**
 * primary → W: the other workers' snapshots (one prom-client JSON array each) and how many of the
 * configured workers other than W are not in them (restarting, or too slow).
 */
export interface MetricsCollected {
  type: typeof MSG_METRICS_COLLECTED;
  id: number;
  snapshots: unknown[][];
  missing: number;
}

/** Whether `msg` is an object whose `type` is `type` (IPC messages are untyped JSON). */
export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}
