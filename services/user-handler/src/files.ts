import { request } from 'undici';
import { PDFParse } from 'pdf-parse';

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

/** The text of a document, cut to `maxChars` (with a note saying so). */
export async function documentText(
  kind: DocumentKind,
  data: Buffer,
  maxChars: number,
): Promise<string> {
  let text: string;
  if (kind === 'pdf') {
    const parser = new PDFParse({ data });
    try {
      text = (await parser.getText()).text.replace(/\n*-- \d+ of \d+ --\n*/g, '\n\n');
    } catch {
      throw new FileRefused('I could not read that PDF: it may be damaged or protected.');
    } finally {
      await parser.destroy();
    }
  } else {
    text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  }
  // NUL characters (from some PDFs and binary-ish text files) are not text.
  text = text.replaceAll(String.fromCharCode(0), '').trim();
  if (text === '')
    throw new FileRefused('I found no text in that document (a scan needs OCR first).');
  return text.length > maxChars
    ? `${text.slice(0, maxChars)}\n[… the rest of the document was cut]`
    : text;
}
