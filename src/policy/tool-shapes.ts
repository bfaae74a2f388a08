import type { CloudEvent } from '../contracts/envelope.js';
import { countDrop } from '../observability/metrics.js';

/**
 * Argument shapes seen per requested tool name (the prompt-injection signal
 * "an argument shape never seen for that tool"). The first sighting of a tool
 * learns its shape; a later different shape is novel. Bounded: beyond `max`
 * tools the least recent is forgotten and counted.
 */
export class ToolShapes {
  private readonly m = new Map<string, Set<string>>();
  constructor(
    private readonly max: number,
    private readonly maxShapesPerTool = 32,
  ) {}

  /** Records the event's requested tool shapes; returns the names whose shape was novel. */
  observe(ev: CloudEvent): string[] {
    const reqs = (ev.data as { tools_requested?: Array<{ name: string; param_schema: unknown }> }).tools_requested ?? [];
    const novel: string[] = [];
    for (const t of reqs) {
      const shape = JSON.stringify(t.param_schema);
      const known = this.m.get(t.name);
      if (!known) {
        this.m.set(t.name, new Set([shape]));
        if (this.m.size > this.max) {
          this.m.delete(this.m.keys().next().value as string);
          countDrop('policy', 'tool_shapes_evicted');
        }
        continue;
      }
      if (known.has(shape)) continue;
      novel.push(t.name);
      if (known.size < this.maxShapesPerTool) known.add(shape);
      else countDrop('policy', 'tool_shape_not_learned');
    }
    return novel;
  }
}
