/**
 * The URL without its password (`amqp://user:***@host:5672/vhost`), for logs
 * and error messages. A text that is not a URL is replaced as a whole.
 */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    // WHATWG URL refuses EventStoreDB's multi-host form (`esdb://u:p@h1:2113,h2:2113`), which the
    // client takes: hide its password by its shape instead; anything else is not shown at all.
    const shape = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^:@/\s]*)(:[^@/\s]*)?@)?([^/?#\s@]+)([/?#]\S*)?$/i.exec(url);
    if (shape === null) return '<an unparsable URL>';
    const [, scheme, user, password, where, rest] = shape;
    const credentials = user === undefined ? '' : password === undefined ? `${user}@` : `${user}:***@`;
    return `${scheme}${credentials}${where}${rest ?? ''}`;
  }
};

/**
 * Returns a function that removes passwords from a text built from a
 * driver's messages: the password of any `scheme://user:password@` in it,
 * and the URL's own password wherever it appears (when it is long enough not
 * to be mistaken for ordinary words: 6 characters or more).
 */
export const makeScrubber = (url: string): ((text: string) => string) => {
  let secrets: string[] = [];
  try {
    const raw = new URL(url).password;
    secrets = [...new Set([raw, safeDecode(raw)])].filter((s) => s.length >= 6);
  } catch {
    secrets = [];
  }
  return (text) =>
    secrets.reduce((acc, secret) => acc.split(secret).join('***'), text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@'));
};

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
