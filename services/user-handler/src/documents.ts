import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@herald/logger';
import { Counter, type Registry } from '@herald/ops';
import { request } from 'undici';

/** A size for people: 64 KB, 10 MB. */
export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${Math.floor(bytes / 1024 / 1024)} MB`
    : `${Math.floor(bytes / 1024)} KB`;
}

/** A file too big, of a kind Herald cannot read, or that failed to download. */
export class FileRefused extends Error {
  constructor(readonly userMessage: string) {
    super(userMessage);
    this.name = 'FileRefused';
  }
}

/**
 * Downloads a file from the Bot API with a byte cap that holds however the server reports
 * (or misreports) the size: the download stops as soon as it passes `maxBytes`.
 */
export async function downloadFile(url: string, maxBytes: number): Promise<Buffer> {
  const response = await request(url, { signal: AbortSignal.timeout(60_000) });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new FileRefused('I could not download that file from Telegram. Please send it again.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      response.body.destroy();
      throw new FileRefused(tooLarge(maxBytes));
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export const tooLarge = (maxBytes: number): string =>
  `That file is too large: I read files up to ${formatBytes(maxBytes)}.`;

export type DocumentKind = 'pdf' | 'text';

/** What kind of document this is, by MIME type or name; undefined when unsupported. */
export function documentKind(
  mime: string | undefined,
  name: string | undefined,
): DocumentKind | undefined {
  const lower = (name ?? '').toLowerCase();
  if (mime === 'application/pdf' || lower.endsWith('.pdf')) return 'pdf';
  if (mime?.startsWith('text/') || /\.(txt|md|markdown)$/.test(lower)) return 'text';
  return undefined;
}

/** How a PDF is read: in a worker thread, so the pod's event loop never waits for it. */
export interface PdfLimits {
  /**
   * A PDF still being read after this long is given up on and its thread stopped. Small
   * files can be built to take minutes (forms that draw each other over and over).
   */
  timeoutMs: number;
  /** Largest PDF read, in bytes. */
  maxBytes: number;
  /**
   * JavaScript heap of the reading thread, in MiB: a PDF that needs more is refused, not
   * allowed to take the pod's memory. Decoded stream buffers live outside this heap.
   */
  maxHeapMb: number;
}

/**
 * Measured on one core: a dense 300-page text PDF (1.5 MB) reads in about 2 s, 1,000 pages
 * in about 4 s. Twenty seconds leave room for slow nodes while the user still gets an
 * answer soon; the reading thread's time does not hold up the pod meanwhile.
 */
export const DEFAULT_PDF_LIMITS: PdfLimits = {
  timeoutMs: 20_000,
  maxBytes: 20 * 1024 * 1024,
  maxHeapMb: 256,
};

export interface DocumentTextOptions {
  /** Where `herald_pdf_reads_total` is counted; nothing is counted without one. */
  registry?: Registry | undefined;
  /** Logs PDFs given up on, with `context`. */
  logger?: Logger | undefined;
  /** Said with each log line: the update and chat the document came with. */
  context?: Record<string, unknown> | undefined;
  pdf?: Partial<PdfLimits> | undefined;
}

type PdfOutcome = 'ok' | 'timed_out' | 'too_complex' | 'too_large' | 'unreadable' | 'failed';

const pdfReadsByRegistry = new WeakMap<Registry, Counter<'outcome'>>();

/** The PDF read counter of a registry, registered on first use. */
function pdfReads(registry: Registry): Counter<'outcome'> {
  let counter = pdfReadsByRegistry.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'herald_pdf_reads_total',
      help:
        'PDFs whose text was read, by outcome: ok, timed_out (took longer than the limit), ' +
        'too_complex (needed more memory than allowed), too_large, unreadable (damaged or ' +
        'protected), failed (the reading thread itself failed)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    pdfReadsByRegistry.set(registry, counter);
  }
  return counter;
}

// The reading thread's program. CommonJS from a string, so the thread starts the same way
// from the compiled service and from tests that run the TypeScript sources; it loads
// pdf-parse from the path the service resolved. pdf.js has no way to bound its own work, so
// the time limit is enforced from outside, by stopping this thread.
const PDF_READER = `
const { parentPort, workerData } = require('node:worker_threads');
const { PDFParse } = require(workerData.pdfParse);
const parser = new PDFParse({ data: workerData.data, verbosity: 0 });
parser
  .getText()
  .then(
    ({ text }) => parentPort.postMessage({ text: text.slice(0, workerData.maxChars), cut: text.length > workerData.maxChars }),
    (error) => parentPort.postMessage({ error: String((error && error.message) || error) }),
  )
  .finally(() => parser.destroy());
`;

const PDF_PARSE_PATH = createRequire(import.meta.url).resolve('pdf-parse');

class PdfNotRead extends FileRefused {
  constructor(
    readonly outcome: Exclude<PdfOutcome, 'ok'>,
    userMessage: string,
    readonly detail: string,
  ) {
    super(userMessage);
  }
}

const pdfMessages = {
  timed_out:
    'That PDF took too long to read (it may be very complex). Please send a simpler file, or paste the text you need.',
  too_complex:
    'That PDF is too complex for me to read. Please send a simpler file, or paste the text you need.',
  unreadable: 'I could not read that PDF: it may be damaged or protected.',
};

/** Reads a PDF's text in a worker thread, within `limits`; at most `maxChars` come back. */
async function readPdf(
  data: Buffer,
  maxChars: number,
  limits: PdfLimits,
): Promise<{ text: string; cut: boolean }> {
  if (data.length > limits.maxBytes) {
    throw new PdfNotRead('too_large', tooLarge(limits.maxBytes), `${data.length} bytes`);
  }
  const worker = new Worker(PDF_READER, {
    eval: true,
    workerData: { pdfParse: PDF_PARSE_PATH, data, maxChars },
    resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb },
    stdout: true,
    stderr: true,
  });
  // pdf.js's remarks about odd files are not the pod's log; failures come as messages.
  worker.stdout.resume();
  worker.stderr.resume();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PdfNotRead('timed_out', pdfMessages.timed_out, `after ${limits.timeoutMs} ms`),
          ),
        limits.timeoutMs,
      );
      worker.once('message', (reply: { text?: string; cut?: boolean; error?: string }) => {
        if (typeof reply.text === 'string') resolve({ text: reply.text, cut: reply.cut === true });
        else reject(new PdfNotRead('unreadable', pdfMessages.unreadable, String(reply.error)));
      });
      worker.once('error', (error: Error & { code?: string }) =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new PdfNotRead('too_complex', pdfMessages.too_complex, error.message)
            : new PdfNotRead('failed', pdfMessages.unreadable, error.message),
        ),
      );
      worker.once('exit', (code) =>
        reject(new PdfNotRead('failed', pdfMessages.unreadable, `reader exited with ${code}`)),
      );
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

/**
 * The text of a document, cut to `maxChars` (with a note saying so). A PDF is read in a
 * worker thread within `options.pdf` limits, so a slow one never stalls the pod (whose
 * queue keep-alive must go on); one given up on is refused with a message for the user.
 */
export async function documentText(
  kind: DocumentKind,
  data: Buffer,
  maxChars: number,
  options: DocumentTextOptions = {},
): Promise<string> {
  let text: string;
  let cut = false;
  if (kind === 'pdf') {
    const limits = { ...DEFAULT_PDF_LIMITS, ...options.pdf };
    const counter = options.registry ? pdfReads(options.registry) : undefined;
    try {
      // Room for the page markers and NULs removed below.
      ({ text, cut } = await readPdf(data, maxChars * 2 + 1_024, limits));
      counter?.inc({ outcome: 'ok' });
    } catch (error) {
      if (!(error instanceof PdfNotRead)) throw error;
      counter?.inc({ outcome: error.outcome });
      const context = {
        ...options.context,
        outcome: error.outcome,
        reason: error.detail,
        bytes: data.length,
      };
      if (error.outcome === 'failed') {
        options.logger?.warn(
          context,
          'the PDF reading thread failed; if ordinary PDFs fail too, check that pdf-parse ' +
            'is installed with the service',
        );
      } else if (error.outcome === 'timed_out' || error.outcome === 'too_complex') {
        options.logger?.warn(
          context,
          'gave up reading a PDF; the user was asked for a simpler file. Many of these at ' +
            'once may be someone sending PDFs built to be slow',
        );
      } else {
        options.logger?.info(context, 'a PDF could not be read; the user was told why');
      }
      throw error;
    }
    text = text.replace(/\n*-- \d+ of \d+ --\n*/g, '\n\n');
  } else {
    text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  }
  // NUL characters (from some PDFs and binary-ish text files) are not text.
  text = text.replaceAll(String.fromCharCode(0), '').trim();
  if (text === '')
    throw new FileRefused('I found no text in that document (a scan needs OCR first).');
  return text.length > maxChars || cut
    ? `${text.slice(0, maxChars)}\n[… the rest of the document was cut]`
    : text;
}
