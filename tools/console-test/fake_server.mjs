// A stand-in for `deskpipe serve`'s HTTP API, just enough for the console page: serves index.html at `/`,
// simulates one ingest job per tenant (a few seconds of progress over Server-Sent Events) and answers search
// with canned hits. For working on the page and for checking console_test.mjs without the C++ server; it
// follows the API the server documents but proves nothing about the server itself.
//
//   node fake_server.mjs PATH/TO/index.html [port]   → prints "listening on http://127.0.0.1:PORT"
//   env ADMIN_TOKEN (default "admin-token"), FAKE_JOB_SECONDS (default 4)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const [page, port = '0'] = process.argv.slice(2);
const adminToken = process.env.ADMIN_TOKEN || 'admin-token';
const jobSeconds = Number(process.env.FAKE_JOB_SECONDS || 4);
const tenants = new Map();  // id → {record, token, jobs: [job, …] newest first}

const send = (res, code, body) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const fail = (res, code, errorCode, message) => send(res, code, { error: { code: errorCode, message } });
const iso = (ms) => (ms ? new Date(ms).toISOString() : null);

function status(tenantId, job) {
  const total = 200, elapsed = ((job.endedAt || Date.now()) - job.startedAt) / 1000;
  const done = job.state === 'succeeded' ? total : Math.min(total - 1, Math.floor((total * elapsed) / jobSeconds));
  const known = elapsed > 0.5;  // the first half second has no total yet, as a real sync's first pages
  return {
    tenant_id: tenantId, platform: 'freshdesk', task_id: job.taskId, state: job.state,
    total_items: known ? total : null, processed_items: done, failed_items: 0,
    current_stage: job.state === 'running' ? 'embed' : null, start_time: iso(job.startedAt),
    estimated_completion: job.state === 'running' ? iso(job.startedAt + jobSeconds * 1000) : null,
    completion_percentage: known ? (100 * done) / total : null, streams: { tickets: { records: done } },
    last_error: null, heartbeat_at: iso(Date.now()),
  };
}

function tick(job) {  // advances a job's state with the clock
  if (job.state === 'running' && Date.now() - job.startedAt >= jobSeconds * 1000) {
    job.state = 'succeeded';
    job.endedAt = Date.now();
  }
  if (job.state === 'cancelling') { job.state = 'cancelled'; job.endedAt = Date.now(); }
}

createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname, tenantId = url.searchParams.get('tenant_id');
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(readFileSync(page));
  }
  if (path === '/healthz' || path === '/readyz') return send(res, 200, { status: 'ok' });
  const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
  const token = bearer || (path === '/api/ingest/events' ? url.searchParams.get('access_token') : '');
  const role = token === adminToken ? 'admin' : [...tenants].find(([, t]) => t.token === token)?.[0];
  if (!role) return fail(res, 401, 'unauthorized', 'a valid token is required');
  const tenantMatch = path.match(/^\/api\/tenants\/([a-z0-9-]+)$/);
  if (path === '/api/whoami') return send(res, 200, role === 'admin' ? { role } : { role: 'tenant', tenant_id: role });
  if (path === '/api/tenants' && role === 'admin') {
    return send(res, 200, { tenants: [...tenants.values()].map((t) => t.record) });
  }
  if (tenantMatch && req.method === 'PUT' && role === 'admin') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    return req.on('end', () => {
      const { api_key: _secret, ...settings } = JSON.parse(body || '{}');
      const id = tenantMatch[1], existing = tenants.get(id);
      const record = { tenant_id: id, ...settings };
      if (existing) { existing.record = record; return send(res, 200, record); }
      const entry = { record, token: 'tenant-' + randomUUID(), jobs: [] };
      tenants.set(id, entry);
      return send(res, 201, { ...record, token: entry.token });
    });
  }
  const tenant = tenants.get(tenantId);
  if (role !== 'admin' && role !== tenantId) return fail(res, 403, 'forbidden', 'not your tenant');
  if (!tenant) return fail(res, 404, 'no_tenant', 'no tenant ' + tenantId);
  const job = tenant.jobs[0];
  if (job) tick(job);
  switch (path) {
    case '/api/ingest/start':
      if (job && ['queued', 'running', 'cancelling'].includes(job.state)) {
        return send(res, 200, { status: 'running', tenant_id: tenantId, platform: 'freshdesk', task_id: job.taskId });
      }
      tenant.jobs.unshift({ taskId: randomUUID(), state: 'running', startedAt: Date.now(), endedAt: 0 });
      return send(res, 202, { status: 'started', tenant_id: tenantId, platform: 'freshdesk', task_id: tenant.jobs[0].taskId });
    case '/api/ingest/status':
      return job ? send(res, 200, status(tenantId, job)) : fail(res, 404, 'no_job', 'no job yet');
    case '/api/ingest/cancel':
      if (job && job.state === 'running') job.state = 'cancelling';
      return send(res, 202, { status: 'cancelling', tenant_id: tenantId });
    case '/api/ingest/events': {
      if (!job) return fail(res, 404, 'no_job', 'no job yet');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let last = null;
      const timer = setInterval(() => {
        tick(job);
        const data = JSON.stringify(status(tenantId, job));
        res.write(`event: ${job.state !== last ? 'state' : 'progress'}\ndata: ${data}\n\n`);
        last = job.state;
        if (!['queued', 'running', 'cancelling'].includes(job.state)) { clearInterval(timer); res.end(); }
      }, 500);
      return req.on('close', () => clearInterval(timer));
    }
    case '/api/jobs':
      return send(res, 200, { jobs: tenant.jobs.map((j) => ({
        task_id: j.taskId, state: j.state, trigger: 'api', start_time: iso(j.startedAt), end_time: iso(j.endedAt),
        summary: j.state === 'succeeded' ? { documents: 200, chunks: 512, seconds: jobSeconds } : null, last_error: null,
      })) });
    case '/api/search':
      return send(res, 200, { hits: [1, 2, 3].map((n) => ({
        chunk_id: `${tenantId}_freshdesk_${n}#0`, document_id: `${tenantId}_freshdesk_${n}`, type: 'ticket',
        title: `Ticket ${n} about ${url.searchParams.get('q')} <b>not bold</b>`, text: 'Hi,\n<script>alert(1)</script>',
        score: 0.03 / n, keyword_rank: n, vector_rank: n, metadata: { url: `http://127.0.0.1:1/a/tickets/${n}`, status: 'open' },
      })) });
    case '/api/dead-letters':
      return send(res, 200, { dead_letters: [{ stream: 'tickets', record_id: '17', error: 'HTTP 500 <x>', attempts: 3 }] });
    case '/api/dead-letters/retry':
      return send(res, 202, { status: 'queued' });
  }
  return fail(res, 404, 'not_found', 'no route ' + path);
}).listen(Number(port), '127.0.0.1', function () {
  console.log(`listening on http://127.0.0.1:${this.address().port}`);
});
