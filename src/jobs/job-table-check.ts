import { PROCESSOR_METADATA } from '@nestjs/bullmq/dist/bull.constants';
import { JobTable } from './job-table';
import { ALL_QUEUES } from './queues';

/** A processor class as the boot check sees it: its @Processor queue and its `static handles`. */
export interface ProcessorInfo {
  /** class name, for messages */
  name: string;
  /** queue of its @Processor decorator (undefined: none given) */
  queue: string | undefined;
  /** its `static handles` (null: it declares none) */
  handles: readonly string[] | null;
}

/** Reads a class's @Processor queue and `static handles`; null when it is not a processor. */
export function describeProcessor(cls: abstract new (...args: never[]) => unknown): ProcessorInfo | null {
  const meta = Reflect.getMetadata(PROCESSOR_METADATA, cls) as { name?: string } | undefined;
  if (!meta) return null;
  const handles: unknown = (cls as unknown as { handles?: unknown }).handles;
  return {
    name: cls.name,
    queue: meta.name,
    handles: Array.isArray(handles) && handles.every((h) => typeof h === 'string') ? handles : null,
  };
}

/**
 * Everything wrong between the job table and the processors registered in the worker (empty when
 * all is well):
 * - every job in the table has exactly one processor handling it, and that processor consumes
 *   the job's queue (else its jobs would sit in Redis, or be run twice, or fail as unknown);
 * - every job a processor handles is in the table (else nothing adds, schedules or documents it);
 * - every processor declares `static handles` and a queue, and no two processors share a queue
 *   (BullMQ hands a queue's jobs to any of its workers; one that gets another's job fails it);
 * - every job's queue is registered (ALL_QUEUES), and a scheduled job has a positive interval
 *   and no jobId rule (BullMQ names a schedule's jobs itself).
 */
export function jobTableProblems(table: JobTable, processors: readonly ProcessorInfo[], queues: readonly string[] = ALL_QUEUES): string[] {
  const problems: string[] = [];
  for (const p of processors) {
    if (!p.queue) problems.push(`processor ${p.name} names no queue in @Processor()`);
    if (!p.handles || p.handles.length === 0) problems.push(`processor ${p.name} declares no \`static handles\``);
    for (const name of p.handles ?? []) {
      if (!Object.hasOwn(table, name)) problems.push(`processor ${p.name} handles job ${name}, which is not in the job table`);
    }
  }
  const byQueue = new Map<string, string[]>();
  for (const p of processors) if (p.queue) byQueue.set(p.queue, [...(byQueue.get(p.queue) ?? []), p.name]);
  for (const [queue, names] of byQueue) {
    if (names.length > 1)
      problems.push(
        `queue ${queue} is consumed by ${names.length} processors (${names.join(', ')}); each processor needs a queue of its own`,
      );
  }
  for (const [name, spec] of Object.entries(table)) {
    if (!queues.includes(spec.queue)) problems.push(`job ${name}: queue ${spec.queue} is not registered`);
    if (spec.everyMs !== null && !(Number.isInteger(spec.everyMs) && spec.everyMs > 0))
      problems.push(`job ${name}: everyMs must be a positive integer or null, not ${spec.everyMs}`);
    if (spec.everyMs !== null && spec.jobId) problems.push(`job ${name}: a scheduled job cannot have a jobId rule`);
    const handlers = processors.filter((p) => p.handles?.includes(name));
    if (handlers.length === 0) problems.push(`job ${name}: no processor handles it`);
    else if (handlers.length > 1)
      problems.push(`job ${name}: handled by ${handlers.length} processors (${handlers.map((p) => p.name).join(', ')})`);
    else if (handlers[0].queue !== spec.queue)
      problems.push(
        `job ${name}: goes to queue ${spec.queue}, but its processor ${handlers[0].name} consumes ${handlers[0].queue ?? 'no queue'}`,
      );
  }
  return problems;
}

/** Throws, listing every problem, unless the job table and the processors agree (jobTableProblems). */
export function assertJobTable(table: JobTable, processors: readonly ProcessorInfo[], queues?: readonly string[]): void {
  const problems = jobTableProblems(table, processors, queues);
  if (problems.length)
    throw new Error(
      `worker: the job table (src/jobs/job-table.ts) and the processors disagree; refusing to start:\n- ${problems.join('\n- ')}`,
    );
}
