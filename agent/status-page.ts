// The local status page on the admin HTTP listener (read-only, loopback by default): GET / is a static page
// (agent/page/) that reads /status (and /dead-letters while there are any) every 2 s and /history every 10 s and plots with uPlot, a 50 KB charting library
// served from here too: no build step, nothing fetched from the internet (a gateway has no internet). Every text on
// the page comes from the agent's JSON and is set as text, never as HTML: an ERP's error reply or a topic name
// cannot run script in the technician's browser, and the Content-Security-Policy forbids inline script besides.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { hoursParam, type HistorySeries } from './history-series.ts';
import type { DlqRequest, DlqResult } from './dlq-ops.ts';

/** What the page reads from the agent beyond /status. */
export interface PageView {
  historySeries(hours: number): HistorySeries;
  dlq(r: DlqRequest): DlqResult;
}

/** The dead letters the page lists: the oldest (they have held their keys longest), without their bodies. */
export const PAGE_DEAD_LETTERS = 20;

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/page/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/page/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/page/uPlot.iife.min.js': { file: 'uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/page/uPlot.min.css': { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
};

export const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const cache = new Map<string, Buffer>();

/**
 * A page file: beside this module in page/ (the single binary unpacks them there, uPlot included), else uPlot from
 * node_modules. Read once.
 */
function pageFile(name: string): Buffer {
  let data = cache.get(name);
  if (data) return data;
  try {
    data = readFileSync(join(import.meta.dirname, 'page', name));
  } catch (err) {
    if (!name.startsWith('uPlot')) throw err;
    data = readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`));
  }
  cache.set(name, data);
  return data;
}

/** Names of the files the page needs, for the package script (pkg.config.json assets). */
export const PAGE_FILES = Object.values(FILES).map((f) => f.file);

/**
 * Serves the page, its files and /history; false for any other path. `send` writes the status, body and headers.
 */
export function servePage(view: PageView, url: string, send: (status: number, body: string | Buffer, headers: Record<string, string>) => void): boolean {
  const u = new URL(url, 'http://agent');
  const f = FILES[u.pathname];
  if (f) {
    send(200, pageFile(f.file), { 'content-type': f.type, ...PAGE_HEADERS });
    return true;
  }
  if (u.pathname === '/dead-letters') {
    // What a technician needs to act (sink, key, type, the ERP's reason, since when); the event itself stays
    // behind `plantsync dlq show`, on the gateway.
    try {
      const { deadLetters = [] } = view.dlq({ action: 'list', filter: { limit: PAGE_DEAD_LETTERS } });
      const rows = deadLetters.map(({ sink, seq, orderingKey, type, status, reason, attempts, at, parksKey }) => ({ sink, seq, orderingKey, type, status, reason, attempts, at: new Date(at).toISOString(), parksKey }));
      send(200, JSON.stringify(rows), { 'content-type': 'application/json' });
    } catch (err) {
      send(500, JSON.stringify({ error: `dead letters unavailable: ${(err as Error).message}` }), { 'content-type': 'application/json' });
    }
    return true;
  }
  if (u.pathname !== '/history') return false;
  let hours: number;
  try {
    hours = hoursParam(u.searchParams.get('hours'));
  } catch (err) {
    send(400, JSON.stringify({ error: (err as Error).message }), { 'content-type': 'application/json' });
    return true;
  }
  try {
    send(200, JSON.stringify(view.historySeries(hours)), { 'content-type': 'application/json' });
  } catch (err) {
    // A damaged spool: the page says so; never a crash of the listener.
    send(500, JSON.stringify({ error: `history unavailable: ${(err as Error).message}` }), { 'content-type': 'application/json' });
  }
  return true;
}
