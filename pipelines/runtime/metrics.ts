/**
 * Pipeline metrics, per pipeline and task (stage x partition): records in and out (counters, so
 * Prometheus derives per-second rates; the status line computes them between samples), lag in
 * records, watermark delay, and checkpoint duration and size. Rendered in the Prometheus text
 * exposition format (version 0.0.4) by the `weir run --metrics-port` HTTP endpoint.
 */
import { createServer, type Server } from 'node:http';

export interface TaskMetrics {
  pipeline: string;
  taskId: string;
  stage: number;
  partition: number;
  recordsIn: number;
  recordsOut: number;
  /** Sum over the task's inputs of high watermark - next offset to process. */
  lagRecords: number;
  /** now - the task's event-time watermark, ms; null before the first record. */
  watermarkDelayMs: number | null;
  lastCheckpointDurationMs: number | null;
  lastCheckpointBytes: number | null;
  checkpoints: number;
}

export interface MetricsSource {
  taskMetrics(): TaskMetrics[];
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderPrometheus(sources: readonly MetricsSource[]): string {
  const tasks = sources.flatMap((s) => s.taskMetrics());
  const families: [string, string, 'counter' | 'gauge', (t: TaskMetrics) => number | null][] = [
    ['weir_pipeline_records_in_total', 'Records read from the task inputs and pushed into the task.', 'counter', (t) => t.recordsIn],
    ['weir_pipeline_records_out_total', 'Records the task wrote to its sinks.', 'counter', (t) => t.recordsOut],
    ['weir_pipeline_lag_records', 'Records in the task inputs not processed yet.', 'gauge', (t) => t.lagRecords],
    ['weir_pipeline_watermark_delay_ms', 'Processing time minus the task event-time watermark.', 'gauge', (t) => t.watermarkDelayMs],
    ['weir_pipeline_checkpoint_duration_ms', 'Duration of the task last checkpoint (barrier, flush, state and manifest writes).', 'gauge', (t) => t.lastCheckpointDurationMs],
    ['weir_pipeline_checkpoint_bytes', 'Size of the task last checkpoint state object.', 'gauge', (t) => t.lastCheckpointBytes],
    ['weir_pipeline_checkpoints_total', 'Checkpoints the task completed in this process.', 'counter', (t) => t.checkpoints],
  ];
  const lines: string[] = [];
  for (const [name, help, type, get] of families) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const t of tasks) {
      const v = get(t);
      if (v === null || !Number.isFinite(v)) continue;
      lines.push(`${name}{pipeline="${esc(t.pipeline)}",task="${esc(t.taskId)}",stage="${t.stage}",partition="${t.partition}"} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Serves GET /metrics; resolves with the server once listening (port 0 picks a free one). */
export function serveMetrics(sources: readonly MetricsSource[], port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(renderPrometheus(sources));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
