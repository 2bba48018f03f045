// HTTP methods whose repeat changes nothing: a request sent with one may be sent again to
// another API after the first stopped answering mid-request. Shared by the Node clients
// (api-endpoints.ts) and the web console's (console/src/endpoints.ts).
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
