import cluster, { Address, Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import pino, { Logger } from 'pino';
import {
  isMessage,
  METRICS_PEER_BOUND_MS,
  MetricsCollect,
  MetricsCollected,
  MetricsSnapshot,
  MetricsSnapshotResult,
  MSG_METRICS_COLLECT,
  MSG_METRICS_COLLECTED,
  MSG_METRICS_SNAPSHOT,
  MSG_METRICS_SNAPSHOT_RESULT,
} from './cluster-messages';
import { DEFAULT_RESTART_POLICY, RestartPolicy, RestartPolicyOptions } from './restart-policy';

/** Longest a graceful shutdown of the workers may take before the rest are killed (ms). */
export const SHUTDOWN_DEADLINE_MS = 30_000;

export interface ApiClusterOptions {
  /** workers to run (API_WORKERS, 2..64) */
  workers: number;
  /** HOST and PORT, for the line announcing the cluster (the workers listen themselves) */
  host: string;
  port: number;
  /** LOG_LEVEL of the primary's own log lines */
  logLevel: string;
  /** default SHUTDOWN_DEADLINE_MS */
  shutdownDeadlineMs?: number;
  /** default DEFAULT_RESTART_POLICY */
  restartPolicy?: RestartPolicyOptions;
}

interface Slot {
  worker: Worker;
  pid: number;
  forkedAt: number;
  listening: boolean;
  /** listening for the restart policy's stableAfterMs */
  stable: boolean;
  stableTimer: NodeJS.Timeout | null;
}

interface Collect {
  requester: Worker;
  requesterId: number;
  awaiting: Set<number>;
  snapshots: unknown[][];
  timer: NodeJS.Timeout;
}

/**
 * The primary of the api cluster (API_WORKERS > 1; docs/operations.md "Several api processes on
 * one machine"), run by src/main.ts instead of the api itself. It builds no Nest application and
 * opens no database or Redis connection: it forks `workers` copies of src/main.ts, which see
 * themselves as cluster workers and run the api on HOST:PORT (Node's cluster shares the socket;
 * the primary hands each new connection to the next worker in turn), and:
 * - restarts a worker that exits while the cluster is not stopping, after a delay that doubles
 *   with each fast failure in a row; gives up after too many (src/cluster/restart-policy.ts):
 *   then it stops the other workers and resolves 1;
 * - on SIGTERM or SIGINT sends that signal to every worker (each shuts down gracefully through the
 *   app's shutdown hooks: requests finished, audit buffer flushed, connections closed) and
 *   resolves once all have exited: 0 when every worker exited cleanly (code 0 or the signal
 *   sent), else 1; a worker still running after `shutdownDeadlineMs` is killed (SIGKILL; 1);
 * - relays the metrics of GET /metrics between workers (src/cluster/cluster-messages.ts).
 * Its log lines are JSON (pino) on stdout, with `context: "ApiCluster"` and its pid, like the
 * workers' lines.
 * @returns a promise of the exit code; the caller exits with it
 */
export function runApiCluster(options: ApiClusterOptions): Promise<number> {
  return new Promise<number>((resolve) => new ApiClusterPrimary(options, resolve).start());
}

class ApiClusterPrimary {
  private readonly log: Logger;
  private readonly policy: RestartPolicy;
  private readonly restartOptions: RestartPolicyOptions;
  private readonly deadlineMs: number;
  private readonly slots = new Map<number, Slot>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly collects = new Map<number, Collect>();
  private nextCollectId = 1;
  private announced = false;
  private stopping: { signal: NodeJS.Signals; deadline: NodeJS.Timeout; unclean: number; forced: boolean; gaveUp: boolean } | null = null;

  constructor(
    private readonly options: ApiClusterOptions,
    private readonly resolve: (code: number) => void,
  ) {
    this.log = pino(
      { level: options.logLevel, base: { pid: process.pid, hostname: hostname() } },
      pino.destination({ dest: 1, sync: true }),
    ).child({ context: 'ApiCluster' });
    this.restartOptions = options.restartPolicy ?? DEFAULT_RESTART_POLICY;
    this.policy = new RestartPolicy(this.restartOptions);
    this.deadlineMs = options.shutdownDeadlineMs ?? SHUTDOWN_DEADLINE_MS;
  }

  start(): void {
    process.on('SIGTERM', () => this.shutdown('SIGTERM'));
    process.on('SIGINT', () => this.shutdown('SIGINT'));
    cluster.on('listening', (worker, address) => this.onListening(worker, address));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal as NodeJS.Signals | null));
    cluster.on('message', (worker, message) => this.onMessage(worker, message));
    this.log.info(`api cluster primary: starting ${this.options.workers} workers`);
    for (let i = 0; i < this.options.workers; i++) this.fork();
  }

  private fork(): void {
    if (this.stopping) return;
    const worker = cluster.fork();
    this.slots.set(worker.id, {
      worker,
      pid: worker.process.pid ?? -1,
      forkedAt: Date.now(),
      listening: false,
      stable: false,
      stableTimer: null,
    });
  }

  private onListening(worker: Worker, address: Address | AddressInfo): void {
    const slot = this.slots.get(worker.id);
    // Fastify may listen on several addresses (HOST=localhost): the first one counts.
    if (!slot || slot.listening) return;
    slot.listening = true;
    slot.stableTimer = setTimeout(() => {
      slot.stableTimer = null;
      slot.stable = true;
      this.policy.onStable();
    }, this.restartOptions.stableAfterMs);
    slot.stableTimer.unref();
    const listening = [...this.slots.values()].filter((s) => s.listening).length;
    this.log.info(`api worker ${slot.pid} listening (${listening} of ${this.options.workers})`);
    if (!this.announced && listening === this.options.workers) {
      this.announced = true;
      const port = address.port || this.options.port;
      process.stdout.write(
        `tollgate api cluster: ${this.options.workers} workers listening on http://${this.options.host}:${port} (primary pid ${process.pid})\n`,
      );
    }
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const slot = this.slots.get(worker.id);
    if (!slot) return;
    this.slots.delete(worker.id);
    if (slot.stableTimer) clearTimeout(slot.stableTimer);
    for (const [id, c] of this.collects) if (c.awaiting.delete(worker.id) && c.awaiting.size === 0) this.finishCollect(id);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      const clean = code === 0 || (signal !== null && signal === this.stopping.signal);
      if (!clean) this.stopping.unclean++;
      this.log.info(`api worker ${slot.pid} exited (${how}); ${this.slots.size} still running`);
      if (this.slots.size === 0) this.finish();
      return;
    }
    const decision = this.policy.onExit(slot.stable);
    if (decision.action === 'give_up') {
      this.log.error(
        `api worker ${slot.pid} exited (${how}): ${decision.fastFailures} workers in a row died before serving ` +
          `${this.restartOptions.stableAfterMs} ms; giving up, stopping the cluster`,
      );
      this.shutdown('SIGTERM', true);
      return;
    }
    this.log.warn(
      `api worker ${slot.pid} exited unexpectedly (${how}) ${Date.now() - slot.forkedAt} ms after its start; starting a new one in ${decision.delayMs} ms`,
    );
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      this.fork();
    }, decision.delayMs);
    this.restartTimers.add(timer);
  }

  /** Sends `signal` to every worker and resolves once they are gone (or killed at the deadline). */
  private shutdown(signal: NodeJS.Signals, gaveUp = false): void {
    if (this.stopping) return;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    const deadline = setTimeout(() => this.forceStop(), this.deadlineMs);
    this.stopping = { signal, deadline, unclean: 0, forced: false, gaveUp };
    this.log.info(`${gaveUp ? 'stopping' : `${signal} received`}: stopping ${this.slots.size} api workers (at most ${this.deadlineMs} ms)`);
    if (this.slots.size === 0) return this.finish();
    for (const slot of this.slots.values()) {
      try {
        slot.worker.process.kill(signal);
      } catch {
        // already gone: its exit event follows
      }
    }
  }

  private forceStop(): void {
    if (!this.stopping) return;
    this.stopping.forced = true;
    this.log.error(`${this.slots.size} api workers still running after ${this.deadlineMs} ms: killing them (SIGKILL)`);
    for (const slot of this.slots.values()) {
      try {
        slot.worker.process.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private finish(): void {
    const s = this.stopping!;
    clearTimeout(s.deadline);
    const code = s.gaveUp || s.forced || s.unclean > 0 ? 1 : 0;
    this.log.info(`api cluster stopped (exit code ${code})`);
    this.resolve(code);
  }

  private onMessage(worker: Worker, message: unknown): void {
    if (isMessage<MetricsCollect>(message, MSG_METRICS_COLLECT)) this.startCollect(worker, message.id);
    else if (isMessage<MetricsSnapshotResult>(message, MSG_METRICS_SNAPSHOT_RESULT)) {
      const c = this.collects.get(message.id);
      if (!c || !c.awaiting.delete(worker.id)) return;
      if (Array.isArray(message.metrics)) c.snapshots.push(message.metrics);
      else this.log.warn(`api worker ${worker.process.pid} could not give its metrics: ${message.error ?? 'unknown error'}`);
      if (c.awaiting.size === 0) this.finishCollect(message.id);
    }
  }

  /** Asks every other listening worker for its metrics, for `requester`'s scrape. */
  private startCollect(requester: Worker, requesterId: number): void {
    const id = this.nextCollectId++;
    const timer = setTimeout(() => this.finishCollect(id), METRICS_PEER_BOUND_MS);
    const c: Collect = { requester, requesterId, awaiting: new Set(), snapshots: [], timer };
    this.collects.set(id, c);
    const ask: MetricsSnapshot = { type: MSG_METRICS_SNAPSHOT, id };
    for (const slot of this.slots.values()) {
      if (slot.worker === requester || !slot.listening || !slot.worker.isConnected()) continue;
      c.awaiting.add(slot.worker.id);
      try {
        slot.worker.send(ask);
      } catch {
        c.awaiting.delete(slot.worker.id);
      }
    }
    if (c.awaiting.size === 0) this.finishCollect(id);
  }

  private finishCollect(id: number): void {
    const c = this.collects.get(id);
    if (!c) return;
    this.collects.delete(id);
    clearTimeout(c.timer);
    const answer: MetricsCollected = {
      type: MSG_METRICS_COLLECTED,
      id: c.requesterId,
      snapshots: c.snapshots,
      missing: Math.max(0, this.options.workers - 1 - c.snapshots.length),
    };
    if (!c.requester.isConnected()) return;
    try {
      c.requester.send(answer);
    } catch {
      // the requester is gone; so is its scrape
    }
  }
}
