// The OpenAPI document rendered for people (GET /docs): one section per tag, each operation with
// its auth, parameters, request and answers. Plain HTML, no script, served beside the console.
type Json = Record<string, unknown>;

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pretty = (v: unknown): string => `<pre tabindex="0">${esc(JSON.stringify(v, null, 2))}</pre>`;

interface Operation {
  summary: string;
  tags: string[];
  parameters: Json[];
  responses: Record<string, Json>;
  security: Json[];
  requestBody?: Json;
}

function schemaOf(content: unknown): unknown {
  const first = Object.entries((content ?? {}) as Record<string, { schema?: unknown }>)[0];
  return first ? { [first[0]]: first[1].schema } : null;
}

function renderOperation(method: string, path: string, op: Operation): string {
  const auth = op.security.map((s) => Object.keys(s).join(', ')).join(' or ') || 'none';
  const params = op.parameters.length
    ? `<table><thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">required</th><th scope="col">schema</th></tr></thead><tbody>${op.parameters
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${esc(JSON.stringify(p.schema))}</code></td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const body = op.requestBody ? `<details><summary>Request body</summary>${pretty(schemaOf(op.requestBody.content))}</details>` : '';
  const answers = Object.entries(op.responses)
    .map(
      ([status, r]) =>
        `<details><summary><strong>${esc(status)}</strong> ${esc(r.description)}</summary>${pretty(schemaOf(r.content))}</details>`,
    )
    .join('');
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  return `<section class="op" aria-labelledby="${id}"><h3 id="${id}"><span class="m m-${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)} <span class="auth">Auth: ${esc(auth)}</span></p>${params}${body}${answers}</section>`;
}

export function renderReferencePage(doc: Json): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = op.tags[0] ?? 'Other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), renderOperation(method, path, op)]);
    }
  }
  const info = doc.info as { title: string; description: string };
  const nav = [...byTag.keys()].map((t) => `<li><a href="#tag-${esc(t.replace(/\W+/g, '-'))}">${esc(t)}</a></li>`).join('');
  const sections = [...byTag].map(([t, ops]) => `<h2 id="tag-${esc(t.replace(/\W+/g, '-'))}">${esc(t)}</h2>${ops.join('')}`).join('');
  const schemes = pretty((doc.components as Json).securitySchemes);
  const components = `<h2 id="schemas">Schemas</h2><details><summary>Named schemas (including the one error shape, <code>Error</code>)</summary>${pretty((doc.components as Json).schemas)}</details>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} reference</title><style>${STYLE}</style></head><body>
<header><h1>${esc(info.title)} reference</h1><p>${esc(info.description)}</p>
<p><a href="/v1/openapi.json">OpenAPI 3.1 document (JSON)</a> · <a href="/console/">Console</a></p></header>
<nav aria-label="Sections"><ul>${nav}<li><a href="#schemas">Schemas</a></li></ul></nav>
<main><h2>Authentication</h2>${schemes}${sections}${components}</main></body></html>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1a1a1a}
pre{background:#f4f4f4;padding:.5rem;overflow:auto;font-size:13px}code{font-size:13px;word-break:break-all}
.op{border-top:1px solid #ccc;padding:.25rem 0}.m{display:inline-block;min-width:4rem;font-size:13px;padding:0 .3rem;border-radius:3px;color:#fff;background:#35506b}
.m-get{background:#1d6b35}.m-delete{background:#9b1c1c}.m-put,.m-patch{background:#7a4b00}.auth{color:#444;font-size:13px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}a{color:#0b4f9c}`;
