import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { AgentrailError } from '../errors.js';

/** `--out FILE|-`: a line sink with backpressure; stdout when '-'. */
export class LineOutput {
  private readonly stream: NodeJS.WritableStream;
  private readonly file: WriteStream | undefined;
  closedByReader = false;

  constructor(path: string) {
    if (path === '-') {
      this.stream = process.stdout;
    } else {
      this.file = createWriteStream(path, { flags: 'w' });
      this.stream = this.file;
    }
    this.stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closedByReader = true;
    });
  }

  async write(text: string): Promise<void> {
    if (!text || this.closedByReader) return;
    if (this.stream.write(text)) return;
    try {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
    } catch (e) {
      // `once` rejects on 'error': a reader that went away (`| head`) ends the output quietly
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') this.closedByReader = true;
      else throw new AgentrailError('OUTPUT', `cannot write the output: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
  }

  async close(): Promise<void> {
    if (!this.file) return;
    this.file.end();
    try {
      await once(this.file, 'finish');
    } catch (e) {
      throw new AgentrailError('OUTPUT', `cannot write ${this.file.path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
}
