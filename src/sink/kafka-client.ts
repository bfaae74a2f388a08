import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type kafkajs from 'kafkajs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { AgentrailError } from '../errors.js';
import { logger } from '../observability/logger.js';
import type { KafkaSinkConfig } from '../config/sink.js';

const require = createRequire(import.meta.url);
type Kafka = InstanceType<typeof kafkajs.Kafka>;
type CompressionTypes = kafkajs.CompressionTypes;

/**
 * kafkajs (CommonJS) is required on first use, not at import: a sensor with `sink.kafka` off
 * (the default) never pays its ~14 MB of RSS. Synchronous, so configuration errors still
 * surface when the shipper is constructed.
 */
let kafkajsModule: typeof kafkajs | undefined;
function kj(): typeof kafkajs {
  kafkajsModule ??= require('kafkajs') as typeof kafkajs;
  return kafkajsModule;
}

/**
 * kafkajs ships gzip only. LZ4 (frame format, as Kafka uses) comes from `lz4-napi`
 * and zstd from `@mongodb-js/zstd`: both ship prebuilt N-API binaries as npm
 * optional dependencies, so they install offline with no compiler.
 */
let codecsRegistered = false;
export function registerCodecs(): void {
  if (codecsRegistered) return;
  codecsRegistered = true;
  const { CompressionTypes, CompressionCodecs } = kj();
  try {
    const lz4 = require('lz4-napi') as { compressFrame(b: Buffer): Promise<Buffer>; decompressFrame(b: Buffer): Promise<Buffer> };
    (CompressionCodecs as Record<number, unknown>)[CompressionTypes.LZ4] = () => ({
      compress: async (encoder: { buffer: Buffer }) => lz4.compressFrame(encoder.buffer),
      decompress: async (buf: Buffer) => lz4.decompressFrame(buf),
    });
  } catch {
    /* reported when lz4 is configured */
  }
  try {
    const zstd = require('@mongodb-js/zstd') as { compress(b: Buffer, level?: number): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
    (CompressionCodecs as Record<number, unknown>)[CompressionTypes.ZSTD] = () => ({
      compress: async (encoder: { buffer: Buffer }) => zstd.compress(encoder.buffer, 3),
      decompress: async (buf: Buffer) => zstd.decompress(buf),
    });
  } catch {
    /* reported when zstd is configured */
  }
}

export function compressionType(name: KafkaSinkConfig['compression']): CompressionTypes {
  registerCodecs();
  const { CompressionTypes, CompressionCodecs } = kj();
  const t = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD }[name];
  if (t !== CompressionTypes.None && t !== CompressionTypes.GZIP && !(CompressionCodecs as Record<number, unknown>)[t]) {
    throw new AgentrailError('CONFIG_KAFKA_CODEC', `compression ${name} needs its codec package (${name === 'lz4' ? 'lz4-napi' : '@mongodb-js/zstd'})`, {
      hint: 'run npm install, or choose gzip',
    });
  }
  return t;
}

function readPem(what: string, path: string | undefined): string | undefined {
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AgentrailError('CONFIG_KAFKA_TLS', `cannot read sink.kafka.tls.${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      hint: 'point it to a readable PEM file',
    });
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
    throw new AgentrailError('CONFIG_KAFKA_TLS', `sink.kafka.tls.${what} ${path} is not a PEM file`, { hint: 'expected -----BEGIN ...----- blocks' });
  }
  return text;
}

export function tlsOptions(cfg: KafkaSinkConfig): ConnectionOptions | undefined {
  const t = cfg.tls;
  if (!t || !t.enabled) return undefined;
  const o: ConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized };
  const ca = readPem('caFile', t.caFile);
  const cert = readPem('certFile', t.certFile);
  const key = readPem('keyFile', t.keyFile);
  if (ca) o.ca = [ca];
  if (cert) o.cert = cert;
  if (key) o.key = key;
  if (t.servername) o.servername = t.servername;
  return o;
}

export function saslOptions(cfg: KafkaSinkConfig): SASLOptions | undefined {
  const s = cfg.sasl;
  if (!s) return undefined;
  let password = s.password;
  if (password === undefined && s.passwordFile) {
    try {
      password = readFileSync(s.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new AgentrailError('CONFIG_KAFKA_SASL', `cannot read sink.kafka.sasl.passwordFile ${s.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (password === undefined) throw new AgentrailError('CONFIG_KAFKA_SASL', 'sink.kafka.sasl needs password or passwordFile');
  return { mechanism: s.mechanism, username: s.username, password } as SASLOptions;
}

/**
 * The `sink.kafka` checks that need no client: brokers, TLS and SASL files. Thrown as one typed line;
 * the shipper thread's owner runs them on the main thread so they stop the sensor before it starts.
 */
export function validateKafkaConfig(cfg: KafkaSinkConfig): void {
  if (cfg.brokers.length === 0) throw new AgentrailError('CONFIG_KAFKA_BROKERS', 'sink.kafka.brokers is empty', { hint: 'list host:port of at least one broker' });
  for (const b of cfg.brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b))
      throw new AgentrailError('CONFIG_KAFKA_BROKERS', `sink.kafka.brokers entry "${b}" is not host:port`);
  }
  tlsOptions(cfg);
  saslOptions(cfg);
}

/** Build a kafkajs client from the `sink.kafka` section (validates files eagerly). */
export function makeKafka(cfg: KafkaSinkConfig, opts: { retries?: number } = {}): Kafka {
  validateKafkaConfig(cfg);
  const { Kafka, logLevel } = kj();
  const log = logger.child({ component: 'kafkajs' });
  const kc: KafkaConfig = {
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    connectionTimeout: cfg.connectionTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    retry: { retries: opts.retries ?? 5, initialRetryTime: cfg.retryInitialMs, maxRetryTime: cfg.retryMaxMs },
    logLevel: logLevel.WARN,
    // kafkajs logs go to our pino logger (stderr), at debug: the shipper reports failures itself.
    logCreator: () => (entry) => {
      log.debug({ ns: entry.namespace, msg: entry.log.message }, 'kafkajs');
    },
  };
  const ssl = tlsOptions(cfg);
  if (ssl) kc.ssl = ssl;
  const sasl = saslOptions(cfg);
  if (sasl) kc.sasl = sasl;
  return new Kafka(kc);
}

/** Turn a kafkajs error into one actionable line (never includes payloads). */
export function describeKafkaError(e: unknown, brokers: readonly string[]): AgentrailError {
  if (e instanceof AgentrailError) return e;
  const err = e as { name?: string; message?: string; type?: string; code?: string; cause?: { code?: string } };
  const msg = err.message ?? String(e);
  const where = brokers.join(',');
  if (err.name === 'KafkaJSSASLAuthenticationError' || /SASL|authentication/i.test(msg)) {
    return new AgentrailError('UNAVAILABLE_KAFKA_AUTH', `SASL authentication failed at ${where}`, {
      cause: e,
      hint: 'check sink.kafka.sasl mechanism, username and password',
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection timeout|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|KafkaJSNonRetriableError/i.test(`${err.name} ${msg} ${err.code ?? ''}`)) {
    const reason = /ECONNREFUSED/.test(msg) ? 'connection refused' : /timeout/i.test(msg) ? 'connection timed out' : /ENOTFOUND/.test(msg) ? 'host not found' : 'not reachable';
    return new AgentrailError('UNAVAILABLE_KAFKA', `Kafka broker ${where} ${reason}`, {
      cause: e,
      retriable: true,
      hint: 'check sink.kafka.brokers and that the broker is running (npm run kafka:start)',
    });
  }
  if (/certificate|SSL|TLS|wrong version number|self.signed/i.test(msg)) {
    return new AgentrailError('UNAVAILABLE_KAFKA_TLS', `TLS handshake with ${where} failed`, { cause: e, hint: 'check sink.kafka.tls files and whether the listener speaks TLS' });
  }
  return new AgentrailError('UNAVAILABLE_KAFKA', `Kafka error at ${where}: ${msg.split('\n')[0]}`, { cause: e, retriable: true });
}
