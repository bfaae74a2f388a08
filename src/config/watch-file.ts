import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Calls `onChange` (debounced) when `file` changes. Watches the directory,
 * so editors and ConfigMap updates that replace the file by rename are seen.
 * Returns the stop function.
 */
export function watchFile(file: string, onChange: () => void, debounceMs = 50): () => void {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const w: FSWatcher = watch(dirname(resolve(file)), { persistent: false }, (_ev, fname) => {
    if (fname !== null && fname.toString() !== name) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
    timer.unref();
  });
  return () => {
    w.close();
    if (timer) clearTimeout(timer);
  };
}
