// Named timeout and retry profiles for proxyActivities.
import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
import { DATA_TASK_QUEUE, SNAPSHOT_TASK_QUEUE } from '../common/messages.js';

/**
 * Short control-plane calls: fast retries, no attempt limit (a node may take a while to
 * return). A short start-to-close bounds how long a crashed worker's attempt goes unnoticed.
 */
export const CONTROL: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};

/** Data-heavy work on its own, concurrency-bounded task queue; long runs heartbeat. */
export const DATA: ActivityOptions = {
  taskQueue: DATA_TASK_QUEUE,
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/** Asking a node that may itself be dead: a few quick tries, then the caller decides. */
export const PROBE: ActivityOptions = {
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumAttempts: 3 },
};

/** Data work that may fail for good (a node that refuses, a copy that is gone): a few tries, then the caller decides. */
export const DATA_BOUNDED: ActivityOptions = { ...DATA, retry: { ...DATA.retry, maximumAttempts: 5 } };

/** Snapshot capture on its own queue: a burst of policy or manual snapshots cannot starve restores on the data queue. */
export const SNAPSHOT: ActivityOptions = { ...DATA_BOUNDED, taskQueue: SNAPSHOT_TASK_QUEUE };

/** A node that should be up: about half a minute of tries, then the caller decides. */
export const PROBE_LONGER: ActivityOptions = { ...CONTROL, retry: { ...CONTROL.retry, maximumAttempts: 10 } };

/** For copies on nodes that may never return: give up after about a minute, keep the copy. */
export const CONTROL_BOUNDED: ActivityOptions = { ...CONTROL, retry: { ...CONTROL.retry, maximumAttempts: 15 } };

/**
 * Inventory reads and writes run as local activities in the workflow's own worker: a marker in
 * the history instead of a task the server queues, dispatches and records. Same timeouts and
 * retries as CONTROL, but past a one-second backoff a retry waits on a timer: a local activity
 * in progress holds the worker's workflow-task slot, which other workflows need.
 */
export const LOCAL_CONTROL: LocalActivityOptions = {
  startToCloseTimeout: CONTROL.startToCloseTimeout!,
  retry: CONTROL.retry!,
  localRetryThreshold: '1 second',
};

/** A page of a dense node's copies classified together: longer than one call, same retries. */
export const CONTROL_PAGE: ActivityOptions = { ...CONTROL, startToCloseTimeout: '1 minute' };

/** A page of offers: as long as a busy Temporal server needs, watched by the heartbeat each batch of offers sends. */
export const OFFER_PAGE: ActivityOptions = { ...CONTROL, startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' };
