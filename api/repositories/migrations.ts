// Schema migrations, applied in order once each; the applied ids are kept in schema_migrations.

export const MIGRATIONS: { id: string; sql: string }[] = [
  {
    id: '001_inventory',
    sql: `
create table customers (
  id text primary key,
  name text not null,
  created_at timestamptz not null default now()
);
create table api_keys (
  key_hash text primary key,
  customer_id text not null references customers(id),
  created_at timestamptz not null default now()
);
create table nodes (
  id text primary key,
  url text not null,
  dc text not null, zone text not null, router text not null, power text not null, host text not null,
  capacity_bytes bigint not null,
  used_bytes bigint not null default 0,
  state text not null check (state in ('in-service', 'down', 'recovering')),
  incident integer not null default 0,
  last_heartbeat timestamptz not null default now(),
  registered_at timestamptz not null default now()
);
create table volumes (
  id text primary key,
  customer_id text not null references customers(id),
  size_bytes bigint not null,
  block_size integer not null default 4096,
  state text not null check (state in ('creating', 'available', 'in-use', 'deleting', 'deleted', 'error')),
  io_state text not null default 'enabled' check (io_state in ('enabled', 'paused')),
  auto_enable_io boolean not null default false,
  epoch integer not null default 1,
  created_at timestamptz not null default now()
);
create index volumes_customer on volumes (customer_id);
-- state: in-service (serving), recovering (its node is recovering), candidate (offered to a
-- volume recovery), restored (elected, read-only), stale (removed from membership), deleted.
create table replicas (
  volume_id text not null references volumes(id),
  node_id text not null references nodes(id),
  role text not null check (role in ('primary', 'secondary')),
  epoch integer not null,
  write_seq bigint not null default 0,
  state text not null check (state in ('in-service', 'recovering', 'candidate', 'restored', 'stale', 'deleted')),
  updated_at timestamptz not null default now(),
  primary key (volume_id, node_id)
);
create index replicas_node on replicas (node_id);
create table recovery_events (
  id bigserial primary key,
  node_id text not null references nodes(id),
  workflow_id text not null,
  replicas integer not null,
  admitted_at timestamptz not null default now(),
  in_service_at timestamptz
);
create table volume_events (
  id bigserial primary key,
  volume_id text not null references volumes(id),
  code text not null,
  description text not null,
  proof text,
  started_at timestamptz not null default now(),
  ended_at timestamptz
);
create index volume_events_volume on volume_events (volume_id);
create table settings (
  key text primary key,
  value jsonb not null
);
`,
  },
  {
    id: '002_node_boot_id',
    sql: `alter table nodes add column boot_id text not null default '';`,
  },
  {
    id: '003_admission_rejections',
    sql: `alter table nodes add column rejected_at timestamptz; alter table nodes add column rejections integer not null default 0;`,
  },
  {
    // Until when the last heartbeat vouches for the node: health is never read from a stale row.
    id: '004_node_fresh_until',
    sql: `alter table nodes add column fresh_until timestamptz not null default now();`,
  },
  {
    // Snapshots (their bytes live in the snapshot store), rebuilding secondaries, archived volumes.
    id: '005_snapshots',
    sql: `
create table snapshots (
  id text primary key,
  volume_id text not null references volumes(id),
  customer_id text not null references customers(id),
  kind text not null check (kind in ('manual', 'policy', 'archive', 'review')),
  state text not null check (state in ('pending', 'completed', 'error')),
  size_bytes bigint not null,
  epoch integer,
  write_seq bigint,
  digest text,
  parent_id text,
  uploaded_chunks integer,
  error text,
  deleted boolean not null default false,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
create index snapshots_volume on snapshots (volume_id, created_at);
alter table replicas drop constraint replicas_state_check;
alter table replicas add constraint replicas_state_check
  check (state in ('in-service', 'recovering', 'candidate', 'restored', 'rebuilding', 'stale', 'deleted'));
alter table volumes drop constraint volumes_state_check;
alter table volumes add constraint volumes_state_check
  check (state in ('creating', 'available', 'in-use', 'deleting', 'deleted', 'archived', 'error'));
alter table volumes add column source_snapshot_id text;
alter table volumes add column archive_snapshot_id text;
`,
  },
  {
    // A webhook per customer and its outbox: one row per volume event to deliver, written in
    // the event's own statement. Deleting a webhook drops what it had not delivered.
    id: '006_notifications',
    sql: `
create table webhooks (
  customer_id text primary key references customers(id),
  url text not null,
  secret text not null,
  created_at timestamptz not null default now()
);
create table notifications (
  id bigserial primary key,
  customer_id text not null references webhooks(customer_id) on delete cascade,
  event_id bigint not null references volume_events(id),
  payload jsonb not null,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz,
  failed_at timestamptz,
  last_error text
);
create index notifications_due on notifications (next_attempt_at) where delivered_at is null and failed_at is null;
create index notifications_customer on notifications (customer_id);
`,
  },
  {
    // Where a node serves NBD ("host:port"): customers' block clients attach there, not through the API.
    id: '007_node_nbd_address',
    sql: `alter table nodes add column nbd_address text not null default '';`,
  },
  {
    // Per-customer quotas set by an operator; a null limit is the configured default.
    id: '008_customer_quotas',
    sql: `
create table customer_quotas (
  customer_id text primary key references customers(id),
  max_volumes integer,
  max_bytes bigint,
  max_snapshots integer,
  updated_at timestamptz not null default now()
);
`,
  },
  {
    // A primary's requests to serve alone, one per volume and epoch: the peers named here count as
    // unreachable for the mass-outage breaker while the requests are recent.
    id: '009_peer_drops',
    sql: `
create table peer_drops (
  volume_id text not null references volumes(id),
  epoch integer not null,
  requester text not null,
  peer text not null,
  requested_at timestamptz not null default now(),
  workflow_id text,
  primary key (volume_id, epoch)
);
create index peer_drops_recent on peer_drops (requested_at);
`,
  },
  {
    // A node's recovery report, one row per copy, so the server recovery's history carries only
    // its id (a dense node reports thousands of copies); the investigation writes each copy's
    // classification beside it for the offers to read.
    id: '010_recovery_reports',
    sql: `
create table recovery_reports (
  report_id text not null,
  node_id text not null,
  volume_id text not null,
  copy jsonb not null,
  classification text,
  volume_epoch integer,
  expected_nodes text[],
  stored_at timestamptz not null default now(),
  primary key (report_id, volume_id)
);
create index recovery_reports_stored on recovery_reports (stored_at);
`,
  },
  {
    // Incident ordering (issue 18): the scan an incident was admitted with, and when a newer incident
    // of the same node superseded it. The repair loop's record of what it tried and what failed.
    id: '011_incident_order_and_repairs',
    sql: `
alter table recovery_events add column scanned_at text;
alter table recovery_events add column superseded_at timestamptz;
alter table recovery_events add column superseded_by bigint;
alter table recovery_events add column finished_at timestamptz;
-- Incidents admitted before this kept no end: those back in service count as finished.
update recovery_events set finished_at = in_service_at where in_service_at is not null;
create index recovery_events_open on recovery_events (node_id) where finished_at is null and superseded_at is null;
create table repairs (
  subject text primary key,
  kind text not null check (kind in ('under-replicated', 'node-stuck-recovering', 'replica-stuck')),
  attempts integer not null default 0,
  last_error text,
  first_seen_at timestamptz not null default now(),
  last_attempt_at timestamptz,
  next_attempt_at timestamptz not null default now(),
  failing boolean not null default false
);
`,
  },
  {
    // Node-to-node traffic over mutual TLS (issue 21): where a node's peers reach its TLS peer port.
    id: '012_node_peer_url',
    sql: `alter table nodes add column peer_url text not null default '';`,
  },
  {
    // The offers each incident made and which its volume recoveries resolved (issue 20): a server
    // recovery is told once, when the last of its offers is resolved, not once per copy.
    id: '013_incident_offers',
    sql: `
create table incident_offers (
  workflow_id text not null,
  volume_id text not null,
  resolved_at timestamptz,
  primary key (workflow_id, volume_id)
);
create index incident_offers_unresolved on incident_offers (workflow_id) where resolved_at is null;
`,
  },
  {
    // A node's first registration can be answered after its request timed out; the retry, without
    // the node token it never received, proves itself with the key that registration presented.
    id: '014_node_registration_key',
    sql: `alter table nodes add column registration_key_hash text;`,
  },
];
