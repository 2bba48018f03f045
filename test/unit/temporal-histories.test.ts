// The pure counting of bench/temporal-histories.ts on hand-built histories: every count exact,
// pending activities with overlapping activities, retries, local activities, merging runs.
import { temporal } from '@temporalio/proto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emptyStats, mergeStats, statsOfHistory } from '../../bench/temporal-histories.js';

const E = temporal.api.enums.v1.EventType;
const History = temporal.api.history.v1.History;
type Event = temporal.api.history.v1.IHistoryEvent;

function ev(eventType: temporal.api.enums.v1.EventType, attrs: Partial<Event> = {}): Event {
  return { eventType, ...attrs };
}
const started = (type: string) =>
  ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, { workflowExecutionStartedEventAttributes: { workflowType: { name: type } } });
const wft = () => [
  ev(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
  ev(E.EVENT_TYPE_WORKFLOW_TASK_STARTED),
  ev(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
];
const scheduled = () => ev(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
const activityStarted = (attempt: number) => ev(E.EVENT_TYPE_ACTIVITY_TASK_STARTED, { activityTaskStartedEventAttributes: { attempt } });
const closed = (t: temporal.api.enums.v1.EventType) => ev(t);
const marker = (name: string) => ev(E.EVENT_TYPE_MARKER_RECORDED, { markerRecordedEventAttributes: { markerName: name } });

/** serverRecovery-like: a signal, three overlapping activities (one retried twice), a local activity, a timer, an update. */
function recoveryHistory(): temporal.api.history.v1.IHistory {
  return {
    events: [
      started('serverRecovery'),
      ...wft(),
      ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
        workflowExecutionSignaledEventAttributes: { signalName: 'report', input: { payloads: [{ data: new Uint8Array(1000) }] } },
      }),
      ...wft(),
      scheduled(), // a: pending 1
      scheduled(), // b: pending 2
      activityStarted(1),
      closed(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), // a: pending 1
      scheduled(), // c: pending 2
      scheduled(), // d: pending 3 (the most)
      activityStarted(3), // b closes on its third attempt: 2 retries
      closed(E.EVENT_TYPE_ACTIVITY_TASK_FAILED), // pending 2
      activityStarted(1),
      closed(E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT), // pending 1
      ev(E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED), // not a close
      closed(E.EVENT_TYPE_ACTIVITY_TASK_CANCELED), // pending 0
      ...wft(),
      marker('core_local_activity'),
      marker('core_patch'), // not a local activity
      ev(E.EVENT_TYPE_TIMER_STARTED),
      ev(E.EVENT_TYPE_TIMER_FIRED),
      ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
      ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED),
      scheduled(), // pending 1 again: below the earlier 3
      ...wft(),
      ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
    ],
  };
}

describe('statsOfHistory', () => {
  it('counts every kind of event of one run exactly', () => {
    const h = recoveryHistory();
    const s = statsOfHistory(h, { workflowId: 'server-recovery-n1-1' });
    expect(s).toMatchObject({
      workflows: 1,
      byType: { serverRecovery: 1 },
      starts: 1,
      workflowTasks: 4,
      activityTasks: 5 + 2, // five scheduled, two retries of b
      localActivities: 1,
      signals: 1,
      updates: 1,
      timers: 1,
      actions: 1 + 4 + 7 + 1 + 1 + 1,
      maxHistoryEvents: h.events!.length,
      maxPendingActivities: 3,
      maxPendingChildren: 0,
      maxPendingSignalsSent: 0,
      maxSignalsReceived: 1,
      workflowTaskFailures: 0,
      byStatus: { Completed: 1 },
    });
    expect(s.largestEvent).toMatchObject({
      workflowId: 'server-recovery-n1-1',
      type: 'serverRecovery',
      eventType: 'WORKFLOW_EXECUTION_SIGNALED',
    });
    expect(s.largestEvent.bytes).toBeGreaterThan(1000);
    expect(s.largestEvent.bytes).toBeLessThan(1100);
    expect(s.maxHistoryBytes).toBe(History.encode(h).finish().length);
    expect(s.maxHistoryBytes).toBeGreaterThan(0);
    expect(s.largestRun).toEqual({ workflowId: 'server-recovery-n1-1', type: 'serverRecovery', events: 34, bytes: s.maxHistoryBytes });
  });

  it('keeps the peak of activities in flight, not the total scheduled', () => {
    const sequential = [scheduled(), closed(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)];
    const events = [started('volumeRecovery'), ...sequential, ...sequential, ...sequential];
    const fanOut = Array.from({ length: 5 }, scheduled);
    const fanIn = Array.from({ length: 5 }, () => closed(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED));
    const s = statsOfHistory({ events: [...events, ...fanOut, ...fanIn, scheduled(), scheduled()] });
    expect(s.activityTasks).toBe(3 + 5 + 2);
    expect(s.maxPendingActivities).toBe(5);
    expect(s.byType).toEqual({ volumeRecovery: 1 });
    expect(s.byStatus).toEqual({ Running: 1 }); // no closing event yet
    expect(s.largestRun.workflowId).toBe('');
  });

  it('counts failed workflow tasks and how a run ended', () => {
    const s = statsOfHistory({
      events: [
        started('serverRecovery'),
        ev(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        ev(E.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        ev(E.EVENT_TYPE_WORKFLOW_TASK_FAILED),
        ...wft(),
        ev(E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
      ],
    });
    expect(s.workflowTaskFailures).toBe(1);
    expect(s.workflowTasks).toBe(2);
    expect(s.byStatus).toEqual({ ContinuedAsNew: 1 });
  });

  it('counts children and signals sent while they are outstanding', () => {
    const s = statsOfHistory({
      events: [
        started('volumeRecovery'),
        ev(E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
        ev(E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
        ev(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED), // started: still pending
        ev(E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED),
        ev(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED),
        ev(E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        ev(E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        ev(E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        ev(E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
        ev(E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED),
      ],
    });
    expect(s.maxPendingChildren).toBe(2);
    expect(s.maxPendingSignalsSent).toBe(3);
    expect(s.signals).toBe(0); // signals sent are counted at their target
    expect(s.actions).toBe(1);
  });

  it('takes the type from the caller when given, "unknown" when the history has no start', () => {
    expect(statsOfHistory({ events: [] }).byType).toEqual({ unknown: 1 });
    expect(statsOfHistory(recoveryHistory(), { type: 'other' }).byType).toEqual({ other: 1 });
  });

  it('counts a recorded serverRecovery history consistently', () => {
    const path = fileURLToPath(new URL('../histories/serverRecovery.json', import.meta.url));
    const h = History.fromObject(JSON.parse(readFileSync(path, 'utf8')) as object);
    const s = statsOfHistory(h);
    const count = (t: temporal.api.enums.v1.EventType) => h.events.filter((e) => e.eventType === t).length;
    expect(s.byType).toEqual({ serverRecovery: 1 });
    expect(s.starts).toBe(1);
    expect(s.workflowTasks).toBe(count(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED));
    expect(s.activityTasks).toBeGreaterThanOrEqual(count(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
    expect(s.maxHistoryEvents).toBe(h.events.length);
    expect(s.maxPendingActivities).toBeGreaterThanOrEqual(1);
  });
});

describe('mergeStats', () => {
  it('sums counts by type, keeps each maximum and the run with the most events', () => {
    const big = statsOfHistory(recoveryHistory(), { workflowId: 'big' });
    const small = statsOfHistory({ events: [started('volumeRecovery'), ...wft(), scheduled(), scheduled()] }, { workflowId: 'small' });
    const m = [small, big, small].reduce(mergeStats, emptyStats());
    expect(m.workflows).toBe(3);
    expect(m.byType).toEqual({ volumeRecovery: 2, serverRecovery: 1 });
    expect(m.workflowTasks).toBe(4 + 1 + 1);
    expect(m.activityTasks).toBe(7 + 2 + 2);
    expect(m.actions).toBe(big.actions + 2 * small.actions);
    expect(m.actions).toBe(15 + 2 * (1 + 1 + 2));
    expect(m.maxPendingActivities).toBe(3);
    expect(m.maxHistoryEvents).toBe(34);
    expect(m.maxHistoryBytes).toBe(big.maxHistoryBytes);
    expect(m.largestRun.workflowId).toBe('big');
    expect(m.signals).toBe(1);
    expect(m.maxSignalsReceived).toBe(1);
    expect(m.byStatus).toEqual({ Completed: 1, Running: 2 });
    expect(m.largestEvent).toEqual(big.largestEvent);
  });

  it('leaves empty stats unchanged as its identity', () => {
    const s = statsOfHistory(recoveryHistory(), { workflowId: 'x' });
    expect(mergeStats(emptyStats(), s)).toEqual(s);
    expect(mergeStats(s, emptyStats())).toEqual(s);
  });
});
