/**
 * Reads a V8 .cpuprofile (what `node --cpu-prof` writes when the agent exits) and ranks functions
 * by self time and by inclusive time, so a benchmark run with --profile prints where the agent's
 * CPU went without opening DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  name: string;
  /** ms spent in the function itself. */
  selfMs: number;
  /** ms with the function anywhere on the stack (recursion counted once). */
  totalMs: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Sampled time not idle: what the agent actually burned. */
  busyMs: number;
  functions: FunctionCost[];
}

function label(cf: CallFrame, root: string): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  let where = cf.url.replace(/^file:\/\//, '');
  if (where.startsWith('/')) where = relative(root, where);
  return `${name} ${where}:${cf.lineNumber + 1}`;
}

export function summarizeProfile(file: string, root = process.cwd()): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = new Map<number, string>();
  for (const n of profile.nodes) nameOf.set(n.id, label(n.callFrame, root));

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; attributing it to sample i is what DevTools does.
    const dt = profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i]!;
    totalUs += dt;
    const name = nameOf.get(id) ?? '?';
    if (name === '(idle)') {
      idleUs += dt;
      continue;
    }
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = nameOf.get(cur)!;
      if (n === '(root)' || seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + dt);
    }
  }
  const functions = [...total.entries()].map(([name, t]) => ({ name, selfMs: (self.get(name) ?? 0) / 1000, totalMs: t / 1000 }));
  return { file, totalMs: totalUs / 1000, busyMs: (totalUs - idleUs) / 1000, functions };
}

/**
 * A folder for an agent's --cpu-prof output. Deliberately not removed at cleanup: the profile is
 * the thing to open in DevTools (or Speedscope) after the run.
 */
export function makeProfileDir(bench: string): string {
  return mkdtempSync(join(tmpdir(), `weir-bench-prof-${bench}-`));
}

/** The newest .cpuprofile in dir (node names them CPU.<date>.<pid>...). */
export function findProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length > 0 ? join(dir, files[files.length - 1]!) : null;
}

export function formatProfile(s: ProfileSummary, top = 25): string {
  const pct = (ms: number): string => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)}%`;
  const row = (f: FunctionCost, ms: number): string => `  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${f.name}`;
  const bySelf = [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const byTotal = [...s.functions].sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  return [
    `profile ${s.file}`,
    `  sampled ${s.totalMs.toFixed(0)} ms, busy (not idle) ${s.busyMs.toFixed(0)} ms; percentages are of busy time`,
    `top ${top} by self time:`,
    ...bySelf.map((f) => row(f, f.selfMs)),
    `top ${top} by inclusive time:`,
    ...byTotal.map((f) => row(f, f.totalMs)),
  ].join('\n');
}
