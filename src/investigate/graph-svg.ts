import escapeHtml from 'escape-html';
import type { ArtifactMatch } from './answers.js';
import type { Lane, TimelineRow } from './timeline.js';

/**
 * The causal graph of the HTML report as inline SVG, drawn at write time (no script): columns
 * model calls → tool calls → data → egress; an arrow from each action to what it caused (the
 * recorded "requested by" / "triggered by" links), and for each --artifact a red path through every
 * event that carried its hash, in chain order (where the bytes went). Data nodes are the resources
 * an edge touches (the kernel's many incidental reads stay in the timeline). Nodes link to their
 * timeline rows; labels are escaped like every other value of the page.
 */
const COLS: Array<{ lane: Lane; title: string }> = [
  { lane: 'model', title: 'model calls' },
  { lane: 'tool', title: 'tool calls' },
  { lane: 'data', title: 'data' },
  { lane: 'egress', title: 'egress' },
];
const COL_W = 270;
const NODE_W = 230;
const ROW_H = 30;
const TOP = 34;
/** Nodes drawn per column at most; the rest are counted in a last "+N more" node. */
export const MAX_NODES_PER_COLUMN = 150;

interface Node {
  key: string;
  col: number;
  label: string;
  href: string;
  title: string;
}

const e = (s: string) => escapeHtml(s);
/** Cut in the middle: a URI keeps its scheme and host and its last path segment. */
const short = (s: string, n = 34) => (s.length > n ? `${s.slice(0, 14)}…${s.slice(s.length - (n - 15))}` : s);

export function causalGraphSvg(rows: TimelineRow[], artifacts: ArtifactMatch[]): string {
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  // Model and tool calls are nodes per event; data and egress per resource (the URI after the access mode).
  const keyOf = (r: TimelineRow) => (r.lane === 'data' || r.lane === 'egress' ? `${r.lane}:${r.what.replace(/^\S+ /, '')}` : `ev:${r.event_id}`);
  const edges = new Map<string, { from: string; to: string; artifact: string | null }>();
  const wanted = new Set<string>();
  for (const r of rows) {
    if (!r.caused_by) continue;
    const cause = byId.get(r.caused_by);
    if (!cause || cause.lane === 'policy' || r.lane === 'policy' || COLS.every((c) => c.lane !== r.lane) || COLS.every((c) => c.lane !== cause.lane)) continue;
    edges.set(`${keyOf(cause)}>${keyOf(r)}`, { from: keyOf(cause), to: keyOf(r), artifact: null });
    wanted.add(keyOf(cause)).add(keyOf(r));
  }
  for (const a of artifacts) {
    const path = a.found.map((f) => byId.get(f.event_id)).filter((r): r is TimelineRow => !!r && COLS.some((c) => c.lane === r.lane));
    path.sort((x, y) => Number(x.sequence ?? 0) - Number(y.sequence ?? 0));
    for (let i = 1; i < path.length; i++) {
      const from = keyOf(path[i - 1]!);
      const to = keyOf(path[i]!);
      if (from !== to) edges.set(`${from}>${to}>${a.sha256}`, { from, to, artifact: a.artifact });
    }
    for (const r of path) wanted.add(keyOf(r));
  }
  const nodes = new Map<string, Node>();
  for (const r of rows) {
    const col = COLS.findIndex((c) => c.lane === r.lane);
    const k = keyOf(r);
    if (col < 0 || nodes.has(k) || (col >= 2 && !wanted.has(k))) continue;
    const label = col >= 2 ? r.what.replace(/^\S+ /, '') : `#${r.sequence ?? '-'} ${r.what}`;
    nodes.set(k, { key: k, col, label, href: `#ev-${r.event_id}`, title: `${r.type} ${r.what} (${r.event_id})` });
  }
  const pos = new Map<string, { x: number; y: number }>();
  const perCol = COLS.map(() => 0);
  const more = COLS.map(() => 0);
  for (const n of nodes.values()) {
    if (perCol[n.col]! >= MAX_NODES_PER_COLUMN) {
      more[n.col]!++;
      continue;
    }
    pos.set(n.key, { x: 10 + n.col * COL_W, y: TOP + perCol[n.col]! * ROW_H });
    perCol[n.col]!++;
  }
  const height = TOP + (Math.max(1, ...perCol.map((n, i) => n + (more[i] ? 1 : 0))) + 0.5) * ROW_H;
  const out: string[] = [];
  out.push(`<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="${COLS.length * COL_W}" height="${height}" role="img" aria-label="causal graph">`);
  out.push('<defs><marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker><marker id="arr-a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#b00020"/></marker></defs>');
  COLS.forEach((c, i) => out.push(`<text x="${10 + i * COL_W}" y="18" font-weight="bold" font-size="13">${e(c.title)}</text>`));
  for (const ed of edges.values()) {
    const a = pos.get(ed.from);
    const b = pos.get(ed.to);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = a.x < b.x ? [a.x + NODE_W, a.y + 11, b.x, b.y + 11] : a.x > b.x ? [a.x, a.y + 11, b.x + NODE_W, b.y + 11] : [a.x + NODE_W, a.y + 11, b.x + NODE_W, b.y + 11];
    const bend = a.x === b.x ? 40 : 0;
    const d = `M${x1},${y1} C${x1 + (x2 >= x1 ? 40 : -40) + bend},${y1} ${x2 + (x2 >= x1 ? -40 : 40) + bend},${y2} ${x2},${y2}`;
    out.push(
      ed.artifact === null
        ? `<path class="edge" d="${d}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arr)"/>`
        : `<path class="edge artifact" d="${d}" fill="none" stroke="#b00020" stroke-width="2.2" stroke-dasharray="6 3" marker-end="url(#arr-a)"><title>${e(`artifact ${ed.artifact}`)}</title></path>`,
    );
  }
  const fill: Record<number, string> = { 0: '#e8f0fe', 1: '#fef3e0', 2: '#eef7ee', 3: '#fde8e8' };
  for (const n of nodes.values()) {
    const p = pos.get(n.key);
    if (!p) continue;
    out.push(`<a href="${e(n.href)}" class="node"><title>${e(n.title)}</title><rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="22" rx="4" fill="${fill[n.col]}" stroke="#888"/><text x="${p.x + 6}" y="${p.y + 15}" font-size="12">${e(short(n.label))}</text></a>`);
  }
  more.forEach((m, i) => {
    if (m) out.push(`<text class="more" x="${10 + i * COL_W}" y="${TOP + perCol[i]! * ROW_H + 15}" font-size="12">+${m} more (see the timeline)</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
