// Recoveries: server recoveries (admitted, back in service) and the recovery workflows with
// their phase, each linked to its page in the Temporal Web UI; progress as bars.
import type { OperatorApi, RecoveryWorkflow, RecoveryWorkflows } from '../api';
import { span, when } from '../format';
import { Badge, Bar, Empty, ErrorNote, Loading, usePoll } from '../ui';
import { RecoveryTimeline } from './timeline';

function uiLink(ui: RecoveryWorkflows['temporalUi'], w: RecoveryWorkflow): string {
  return `${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(w.workflowId)}/${encodeURIComponent(w.runId)}/history`;
}

const PHASES = ['notice', 'investigation', 'recovery', 'configuration'];

function Phases({ phase, done }: { phase: string | null; done: boolean }) {
  const at = phase ? PHASES.indexOf(phase) : -1;
  return (
    <ol class="phases" aria-label={`phase ${phase ?? 'unknown'}`}>
      {PHASES.map((p, i) => (
        <li key={p} class={i < at || (done && i === at) ? 'past' : i === at ? 'now' : 'later'}>
          {p}
        </li>
      ))}
    </ol>
  );
}

function WorkflowTable({ data }: { data: RecoveryWorkflows }) {
  if (data.workflows.length === 0) return <Empty>No recovery workflow has run yet.</Empty>;
  return (
    <div class="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Workflow</th>
            <th scope="col">For</th>
            <th scope="col">Phase</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {data.workflows.map((w) => (
            <tr key={w.runId}>
              <th scope="row">
                <a href={uiLink(data.temporalUi, w)} target="_blank" rel="noreferrer">
                  {w.workflowId}
                </a>
                <br />
                <small>{w.type}</small>
              </th>
              <td>{w.nodeId ?? w.volumeId ?? '—'}</td>
              <td>{w.phase ? <Phases phase={w.phase} done={w.status !== 'RUNNING'} /> : '—'}</td>
              <td>
                <Badge tone={w.status === 'RUNNING' ? 'warn' : w.status === 'COMPLETED' ? 'ok' : 'bad'}>{w.status.toLowerCase()}</Badge>
              </td>
              <td>
                {when(w.startedAt)}
                {w.closedAt ? (
                  <>
                    <br />
                    <small>took {span(Date.parse(w.closedAt) - Date.parse(w.startedAt))}</small>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RecoveriesPage({ api }: { api: OperatorApi }) {
  const data = usePoll(() => Promise.all([api.recoveries(), api.workflows()]), 'recoveries', 2000);
  const [r, w] = data.data ?? [null, null];
  const volumes = w?.workflows.filter((x) => x.type === 'volumeRecovery') ?? [];
  const restored = volumes.filter((x) => x.phase === 'configuration' || x.status !== 'RUNNING').length;
  return (
    <section>
      <h1>Recoveries</h1>
      <ErrorNote error={data.error} what="load the recoveries" />
      {!r && !data.error && <Loading what="recoveries" />}
      {r && w && (
        <>
          <Bar
            label="Server recoveries back in service"
            value={r.recoveries.filter((x) => x.inServiceAt).length}
            max={r.recoveries.length}
          />
          <Bar label="Volume recoveries restored" value={restored} max={volumes.length} />
          <RecoveryTimeline recoveries={r.recoveries} />
          <h2>Server recoveries</h2>
          {r.recoveries.length === 0 ? (
            <Empty>No node has reported a recovery.</Empty>
          ) : (
            <div class="table-scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Node</th>
                    <th scope="col">Copies</th>
                    <th scope="col">Admitted</th>
                    <th scope="col">In service</th>
                  </tr>
                </thead>
                <tbody>
                  {r.recoveries.map((x) => (
                    <tr key={x.workflowId}>
                      <th scope="row">
                        {x.nodeId}
                        <br />
                        <small>{x.workflowId}</small>
                      </th>
                      <td>{x.replicas}</td>
                      <td>{when(x.admittedAt)}</td>
                      <td>{x.inServiceAt ? `${when(x.inServiceAt)} (${x.nodeDowntimeToServiceSeconds?.toFixed(1)} s)` : 'not yet'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Workflows</h2>
          <p>
            <small>Each links to its page in the Temporal Web UI at {w.temporalUi.url} (set TEMPORAL_UI_URL on the API).</small>
          </p>
          <WorkflowTable data={w} />
        </>
      )}
    </section>
  );
}
