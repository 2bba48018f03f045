// What recovery workflows cost the Temporal server, counted from their histories: every run a
// visibility query lists, its history fetched (bounded concurrency), its events counted. The
// counting (statsOfHistory, mergeStats) is pure and unit-tested; historyStats does the I/O.
// Used by `bench/dense.ts` (one node's recovery of thousands of copies) and the fleet benchmark.
import type { Client } from '@temporalio/client';
// The default import: Node's ESM loader finds no named exports in this CommonJS package.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';

const E = proto.temporal.api.enums.v1.EventType;
const History = proto.temporal.api.history.v1.History;
const HistoryEvent = proto.temporal.api.history.v1.HistoryEvent;

/** The marker the SDK's core records for each local activity's result. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

export interface LargestRun {
  workflowId: string;
  type: string;
  events: number;
  bytes: number;
}

export interface HistoryStats {
  /** Executions (runs) counted: a workflow that continued as new is several runs, each listed apart. */
  workflows: number;
  byType: Record<string, number>;
  /** WorkflowTaskScheduled events. */
  workflowTasks: number;
  /**
   * Activity attempts: one per ActivityTaskScheduled, plus the retries before the attempt that
   * closed it (ActivityTaskStarted records only the last attempt, `attempt` − 1 earlier ones).
   */
  activityTasks: number;
  /** MarkerRecorded events named `core_local_activity`: they run inside a workflow task. */
  localActivities: number;
  /** WorkflowExecutionSignaled: signals received (a signal sent by a workflow is counted at its target). */
  signals: number;
  /** WorkflowExecutionUpdateAccepted. */
  updates: number;
  /** TimerStarted. */
  timers: number;
  /** WorkflowExecutionStarted (a child's start is counted in the child's own history). */
  starts: number;
  /**
   * What the server processes: starts + workflowTasks + activityTasks + signals + updates + timers.
   * Local activities are not in it (they run inside a workflow task and are counted apart), nor
   * are child starts and signals sent (counted once, as the start or signal in their target's run).
   */
  actions: number;
  /** The largest single run's event count (Temporal warns past 10,240, fails the run at 51,200). */
  maxHistoryEvents: number;
  /** The largest single run's history, protobuf-encoded, in bytes (warns at 10 MiB, limit 50 MiB). */
  maxHistoryBytes: number;
  /** The most activities one run had scheduled and not yet closed at any point (limit 2,000). */
  maxPendingActivities: number;
  /** The most children one run had initiated and not yet closed (limit 2,000). */
  maxPendingChildren: number;
  /** The most signals one run had sent to other workflows and not yet seen delivered or failed (limit 2,000). */
  maxPendingSignalsSent: number;
  /** The most signals one run received. */
  maxSignalsReceived: number;
  /** WorkflowTaskFailed events (a failing task is retried; e.g. a payload over the server's limit). */
  workflowTaskFailures: number;
  /** Runs by how their history ends: Completed, Failed, ContinuedAsNew, …; Running when still open. */
  byStatus: Record<string, number>;
  /**
   * The largest single event, protobuf-encoded: a signal's, an activity's input or result payload
   * (Temporal refuses a payload over 2 MiB). Which run and which event type it is in.
   */
  largestEvent: { workflowId: string; type: string; eventType: string; bytes: number };
  /** The run with the most events (its bytes are its own; maxHistoryBytes may be another run's). */
  largestRun: LargestRun;
}

export function emptyStats(): HistoryStats {
  return {
    workflows: 0,
    byType: {},
    workflowTasks: 0,
    activityTasks: 0,
    localActivities: 0,
    signals: 0,
    updates: 0,
    timers: 0,
    starts: 0,
    actions: 0,
    maxHistoryEvents: 0,
    maxHistoryBytes: 0,
    maxPendingActivities: 0,
    maxPendingChildren: 0,
    maxPendingSignalsSent: 0,
    maxSignalsReceived: 0,
    workflowTaskFailures: 0,
    byStatus: {},
    largestEvent: { workflowId: '', type: '', eventType: '', bytes: 0 },
    largestRun: { workflowId: '', type: '', events: 0, bytes: 0 },
  };
}

const CLOSED_STATUS: Record<number, string> = {
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]: 'Completed',
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]: 'Failed',
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]: 'TimedOut',
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]: 'Canceled',
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]: 'Terminated',
  [E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]: 'ContinuedAsNew',
};

const ACTIVITY_CLOSED = new Set<number>([
  E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  E.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
]);
const CHILD_CLOSED = new Set<number>([
  E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
]);
const SIGNAL_SENT_CLOSED = new Set<number>([
  E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
  E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
]);

/**
 * One run's counts. `workflowId` is not in a history; the type is read from its
 * WorkflowExecutionStarted event unless given.
 */
export function statsOfHistory(history: temporal.api.history.v1.IHistory, run: { workflowId?: string; type?: string } = {}): HistoryStats {
  const s = emptyStats();
  const events = history.events ?? [];
  let type = run.type;
  let pendingActivities = 0;
  let pendingChildren = 0;
  let pendingSignals = 0;
  let largestEvent = { eventType: '', bytes: 0 };
  for (const e of events) {
    const t = e.eventType ?? E.EVENT_TYPE_UNSPECIFIED;
    const eventBytes = HistoryEvent.encode(e).finish().length;
    if (eventBytes > largestEvent.bytes) largestEvent = { eventType: eventTypeName(t), bytes: eventBytes };
    switch (t) {
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        s.starts++;
        type ??= e.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        s.workflowTasks++;
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        s.workflowTaskFailures++;
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        s.activityTasks++;
        s.maxPendingActivities = Math.max(s.maxPendingActivities, ++pendingActivities);
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        s.activityTasks += Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
        break;
      case E.EVENT_TYPE_MARKER_RECORDED:
        if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) s.localActivities++;
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        s.signals++;
        break;
      case E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        s.updates++;
        break;
      case E.EVENT_TYPE_TIMER_STARTED:
        s.timers++;
        break;
      case E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        s.maxPendingChildren = Math.max(s.maxPendingChildren, ++pendingChildren);
        break;
      case E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        s.maxPendingSignalsSent = Math.max(s.maxPendingSignalsSent, ++pendingSignals);
        break;
      default:
        if (ACTIVITY_CLOSED.has(t)) pendingActivities--;
        else if (CHILD_CLOSED.has(t)) pendingChildren--;
        else if (SIGNAL_SENT_CLOSED.has(t)) pendingSignals--;
    }
  }
  type ??= 'unknown';
  const bytes = History.encode(history).finish().length;
  s.workflows = 1;
  s.byType = { [type]: 1 };
  s.actions = actionsOf(s);
  s.maxHistoryEvents = events.length;
  s.maxHistoryBytes = bytes;
  s.maxSignalsReceived = s.signals;
  s.byStatus = { [CLOSED_STATUS[events.at(-1)?.eventType ?? 0] ?? 'Running']: 1 };
  s.largestEvent = { workflowId: run.workflowId ?? '', type, ...largestEvent };
  s.largestRun = { workflowId: run.workflowId ?? '', type, events: events.length, bytes };
  return s;
}

/** ACTIVITY_TASK_SCHEDULED for EVENT_TYPE_ACTIVITY_TASK_SCHEDULED. */
function eventTypeName(t: number): string {
  return (E[t] ?? String(t)).replace(/^EVENT_TYPE_/, '');
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum = { ...a };
  for (const [k, v] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

function actionsOf(s: HistoryStats): number {
  return s.starts + s.workflowTasks + s.activityTasks + s.signals + s.updates + s.timers;
}

/** Sums the counts, keeps the maxima; the largest run is the one with the most events (the earlier on a tie). */
export function mergeStats(a: HistoryStats, b: HistoryStats): HistoryStats {
  const m: HistoryStats = {
    workflows: a.workflows + b.workflows,
    byType: addCounts(a.byType, b.byType),
    workflowTasks: a.workflowTasks + b.workflowTasks,
    activityTasks: a.activityTasks + b.activityTasks,
    localActivities: a.localActivities + b.localActivities,
    signals: a.signals + b.signals,
    updates: a.updates + b.updates,
    timers: a.timers + b.timers,
    starts: a.starts + b.starts,
    actions: 0,
    maxHistoryEvents: Math.max(a.maxHistoryEvents, b.maxHistoryEvents),
    maxHistoryBytes: Math.max(a.maxHistoryBytes, b.maxHistoryBytes),
    maxPendingActivities: Math.max(a.maxPendingActivities, b.maxPendingActivities),
    maxPendingChildren: Math.max(a.maxPendingChildren, b.maxPendingChildren),
    maxPendingSignalsSent: Math.max(a.maxPendingSignalsSent, b.maxPendingSignalsSent),
    maxSignalsReceived: Math.max(a.maxSignalsReceived, b.maxSignalsReceived),
    workflowTaskFailures: a.workflowTaskFailures + b.workflowTaskFailures,
    byStatus: addCounts(a.byStatus, b.byStatus),
    largestEvent: b.largestEvent.bytes > a.largestEvent.bytes ? { ...b.largestEvent } : { ...a.largestEvent },
    largestRun: b.largestRun.events > a.largestRun.events ? { ...b.largestRun } : { ...a.largestRun },
  };
  m.actions = actionsOf(m);
  return m;
}

/**
 * Connection options for reading large histories: a page of GetWorkflowExecutionHistory carries
 * whole events, and a dense node's serverRecovery (a report signal of ~1.2 MB, pages of
 * investigate results and offers) answers more than gRPC's default 4 MiB. Spread into
 * `Connection.connect({ address, ...LARGE_HISTORY_CONNECTION })`.
 */
export const LARGE_HISTORY_CONNECTION = { channelArgs: { 'grpc.max_receive_message_length': 128 * 1024 * 1024 } };

export interface HistoryStatsOptions {
  /** Histories fetched at once (default 16). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Lists every run the visibility query matches (e.g.
 * `WorkflowType IN ("serverRecovery","volumeRecovery") AND StartTime > "2026-12-01T12:00:00Z"`,
 * or '' for all), then fetches each run's history and counts it (onProgress after each). A run
 * still open is counted as far as its history goes.
 */
export async function historyStats(client: Client, query: string, opts: HistoryStatsOptions = {}): Promise<HistoryStats> {
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const runs: { workflowId: string; runId: string; type: string }[] = [];
  for await (const wf of client.workflow.list(query ? { query } : {})) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
  }
  let stats = emptyStats();
  let next = 0;
  let done = 0;
  opts.onProgress?.(0, runs.length);
  const worker = async () => {
    while (next < runs.length) {
      const run = runs[next++]!;
      const history = await client.workflow
        .getHandle(run.workflowId, run.runId)
        .fetchHistory()
        .catch((err: unknown) => {
          if ((err as { code?: number }).code !== 8) throw err; // RESOURCE_EXHAUSTED
          throw new Error(
            `${run.workflowId}: a history page is larger than the client's gRPC receive limit; connect with LARGE_HISTORY_CONNECTION (${(err as Error).message})`,
          );
        });
      stats = mergeStats(stats, statsOfHistory(history, run));
      opts.onProgress?.(++done, runs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runs.length) }, worker));
  return stats;
}
