// The embedded server's outgoing mail, for the JavaScript tests. Without SMTP, `latchkey`
// appends every message to `<data dir>/mailbox.txt`, as RFC 5322 text, one after another
// (lettre's rendering: headers, a blank line, the body in 7bit, quoted-printable or base64).
// Node.js built-ins only, like server.mjs.

import { readFile } from 'node:fs/promises';

/** RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value. */
function decodeWords(value) {
  return value.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, charset, encoding, text) => {
    const bytes =
      encoding.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64')
        : quotedPrintable(text.replace(/_/g, ' '));
    return new TextDecoder(charset).decode(bytes);
  });
}

function quotedPrintable(text) {
  const bytes = [];
  const unfolded = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < unfolded.length; i += 1) {
    const hex = unfolded.slice(i + 1, i + 3);
    if (unfolded[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(unfolded[i], 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function parseHeaders(head) {
  const headers = {};
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return headers;
}

function decodeBody(headers, body) {
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let text;
  if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (encoding === 'quoted-printable') text = quotedPrintable(body).toString('utf8');
  else text = body;
  return text.replace(/\r\n/g, '\n');
}

/**
 * One rendered message: `{ to, subject, headers, text, html }`, the body decoded, with LF line
 * ends. Of a `multipart/alternative` message, `text` is the plain part and `html` the HTML one.
 */
function parseMessage(raw) {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split + 4);
  let text = null;
  let html = null;
  const boundary = /boundary="?([^";\s]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (boundary && /^multipart\//i.test(headers['content-type'])) {
    for (const part of body.split(`--${boundary}`)) {
      const trimmed = part.replace(/^\r\n/, '');
      const end = trimmed.indexOf('\r\n\r\n');
      if (end < 0) continue;
      const partHeaders = parseHeaders(trimmed.slice(0, end));
      const decoded = decodeBody(partHeaders, trimmed.slice(end + 4).replace(/\r\n$/, ''));
      const type = (partHeaders['content-type'] ?? '').toLowerCase();
      if (type.startsWith('text/plain') && text === null) text = decoded;
      if (type.startsWith('text/html') && html === null) html = decoded;
    }
  } else {
    text = decodeBody(headers, body);
  }
  return { to: headers.to ?? '', subject: headers.subject ?? '', headers, text: text ?? '', html };
}

/** Every message in a mailbox file's text, oldest first. */
export function parseMailbox(content) {
  // Each message starts with its From header (the first one lettre writes) and ends with the
  // CRLF the server appends after it.
  return content
    .split(/\r\n(?=From: )/)
    .filter((raw) => raw.includes('\r\n\r\n'))
    .map(parseMessage);
}

/**
 * What the tests need of a verification email: the 6-digit code it starts with (null when it
 * has none, as when an address asked to sign up already has an account) and the link to the
 * hosted page.
 */
export function verificationOf(message) {
  return {
    ...message,
    code: /^\s*(\d{6})\b/.exec(message.text)?.[1] ?? null,
    // A sentence may end right after the link.
    link: /https?:\/\/\S+[?&]verify=\S+/.exec(message.text)?.[0].replace(/[.,;:)>]+$/, '') ?? null,
  };
}

/**
 * The mailbox file of one server. `next(address)` waits for the next message to `address`
 * that this reader has not passed yet, so a test reads each message once, in order;
 * `nextCode(address)` passes over other mail (security notices) to the next one with a code.
 */
export class Mailbox {
  #path;
  /** Per address, how many of its messages have been handed out or passed over. */
  #read = new Map();

  constructor(path) {
    this.#path = path;
  }

  async messages() {
    try {
      return parseMailbox(await readFile(this.#path, 'utf8'));
    } catch (error) {
      if (error.code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Messages to `address` (case-insensitive), oldest first. */
  async messagesTo(address) {
    const wanted = address.toLowerCase();
    const recipient = (to) => (/<([^>]+)>/.exec(to)?.[1] ?? to).trim().toLowerCase();
    return (await this.messages()).filter((message) => recipient(message.to) === wanted);
  }

  /**
   * The next message to `address` that `matching` accepts, with its `code` and `link`;
   * earlier unread ones are passed over. Waits up to `timeout` ms.
   */
  async next(address, { matching = () => true, timeout = 10_000 } = {}) {
    const key = address.toLowerCase();
    const deadline = Date.now() + timeout;
    for (;;) {
      const messages = (await this.messagesTo(address)).map(verificationOf);
      const start = this.#read.get(key) ?? 0;
      const found = messages.findIndex((message, index) => index >= start && matching(message));
      if (found >= 0) {
        this.#read.set(key, found + 1);
        return messages[found];
      }
      if (Date.now() > deadline) {
        const seen = messages.slice(start).map((message) => message.subject);
        throw new Error(`no matching message to ${address} in ${this.#path} after ${timeout} ms; unread: ${JSON.stringify(seen)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The next message to `address` that carries a verification code. */
  nextCode(address, options = {}) {
    return this.next(address, { ...options, matching: (message) => message.code !== null });
  }
}
