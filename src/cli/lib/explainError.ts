// Connection failures in one line, with what to do (issue 23): RabbitMQ refused or unreachable, an
// unknown virtual host, wrong credentials; EventStoreDB unreachable, a TLS mismatch, a deadline; an
// SQLite file that cannot be opened or is locked. The error's own message and its causes are read as
// text, since they come from three client libraries (amqplib, the gRPC client, better-sqlite3).

/** What the command was connecting to, for the messages: the store and broker as people read them (no password). */
export interface Connecting {
  readonly store?: string;
  readonly broker?: string;
}

const where = '(--store, JOBTRAIL_STORE or "store" in jobtrail.config.json)';
const whereBroker = '(--broker, JOBTRAIL_BROKER or "broker" in jobtrail.config.json)';

/** The error's message and those of its causes, joined: the text the patterns look at. */
const textOf = (error: unknown): string => {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e instanceof Error || typeof e === 'object') {
      const o = e as { message?: unknown; code?: unknown; details?: unknown; cause?: unknown };
      if (typeof o.message === 'string') parts.push(o.message);
      if (typeof o.code === 'string') parts.push(o.code);
      if (typeof o.details === 'string') parts.push(o.details);
      e = o.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(' | ');
};

const codeOf = (error: unknown): string | undefined => {
  let e: unknown = error;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
};

/** The parts of an AMQP URL the messages name; the password is never among them. */
const amqpParts = (url: string): { host: string; vhost: string; user: string } | undefined => {
  try {
    const u = new URL(url);
    const vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
    return {
      host: `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? '5671' : '5672')}`,
      vhost,
      user: decodeURIComponent(u.username) || 'guest',
    };
  } catch {
    return undefined;
  }
};

const explainAmqp = (text: string, connecting: Connecting): string | undefined => {
  const m = /cannot connect to (amqps?:\/\/\S+?):\s/.exec(text);
  const url = m?.[1] ?? (connecting.broker?.startsWith('amqp') ? connecting.broker : undefined);
  if (url === undefined || !/cannot connect to amqp|ConnectionClose|ACCESS.REFUSED|NOT_ALLOWED/.test(text)) return undefined;
  const p = amqpParts(url);
  const host = p?.host ?? url;
  if (/ACCESS.REFUSED|403/.test(text) && !/vhost/i.test(text))
    return (
      `RabbitMQ at ${host} refused the user name or password of ${url} (ACCESS_REFUSED): fix them in the broker URL ${whereBroker}, ` +
      'amqp://<user>:<password>@<host>:<port>/<vhost>, with special characters URL-encoded. The guest user may only connect from localhost.'
    );
  if (/ConnectionOpenOk|NOT_ALLOWED|vhost/i.test(text)) {
    const vhost = p?.vhost ?? '?';
    const user = p?.user ?? 'guest';
    return (
      `RabbitMQ at ${host} refused access to the virtual host "${vhost}" of ${url}: it does not exist, or user "${user}" has no permissions on it. ` +
      `Create it and grant them: rabbitmqctl add_vhost ${vhost} && rabbitmqctl set_permissions -p ${vhost} ${user} ".*" ".*" ".*"; ` +
      `or fix the URL's path ${whereBroker} (the default vhost "/" is amqp://host:5672 or amqp://host:5672/%2F).`
    );
  }
  if (/ECONNREFUSED/.test(text))
    return (
      `RabbitMQ refused the connection at ${host} (${url}): nothing listens there. ` +
      `Start RabbitMQ (e.g. docker compose up -d rabbitmq) or fix the host and port ${whereBroker}.`
    );
  if (/ENOTFOUND|EAI_AGAIN/.test(text))
    return `the host of the broker URL ${url} does not resolve (${/EAI_AGAIN/.test(text) ? 'EAI_AGAIN' : 'ENOTFOUND'}): fix the host name ${whereBroker}.`;
  if (/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|timed? ?out|timeout/i.test(text))
    return (
      `RabbitMQ at ${host} (${url}) is unreachable: the connection timed out. Check that the host is reachable from here (firewall, VPN) ` +
      `and that the port is RabbitMQ's AMQP port (5672, or 5671 for amqps) ${whereBroker}.`
    );
  if (/SSL|TLS|EPROTO|certificate/i.test(text))
    return (
      `the TLS handshake with RabbitMQ at ${host} failed: use amqps:// only on a TLS listener (usually 5671) and amqp:// on a plain one (5672) ` +
      `${whereBroker}; for a private CA set NODE_EXTRA_CA_CERTS.`
    );
  return undefined;
};

const explainEsdb = (text: string, connecting: Connecting): string | undefined => {
  const isEsdb = /\b(14 UNAVAILABLE|4 DEADLINE_EXCEEDED|DEADLINE_EXCEEDED|No connection established)\b/.test(text);
  const storeIsEsdb = connecting.store !== undefined && /^(esdb|kurrentdb|kdb)(\+discover)?:/.test(connecting.store);
  if (!isEsdb && !(storeIsEsdb && /UNAVAILABLE|Failed to connect|ECONNREFUSED|SSL|Protocol error|Connection dropped/i.test(text)))
    return undefined;
  const address = /(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)\s+(\S+)/.exec(text)?.[1]?.replace(/[.,]$/, '');
  const at = `EventStoreDB at ${connecting.store ?? address ?? 'the store URL'}`;
  const tls = connecting.store !== undefined && /[?&]tls=false\b/i.test(connecting.store) ? 'tls=false' : 'TLS on (the default)';
  if (
    /SSL|wrong version number|certificate|WRONG_VERSION|handshake|Protocol error|HTTP\/1|Connection dropped|Received RST_STREAM/i.test(text)
  )
    return (
      `${at}: the connection's TLS does not match the server's (the URL has ${tls}). For a node started insecure (EVENTSTORE_INSECURE=true) ` +
      `add ?tls=false; for a secure node drop tls=false and give its CA (tlsCAFile=<path>) ${where}.`
    );
  if (/DEADLINE_EXCEEDED/.test(text))
    return (
      `${at} did not answer in time (DEADLINE_EXCEEDED): it may be starting, overloaded, or reached with the wrong TLS setting (the URL has ${tls}). ` +
      `Check it answers (curl http://<host>:2113/health/live) and retry ${where}.`
    );
  if (/ECONNREFUSED/.test(text))
    return `${at} refused the connection${address !== undefined ? ` (${address})` : ''}: nothing listens there. Start EventStoreDB (e.g. docker compose up -d eventstore) or fix the host and port ${where}.`;
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return `${at}: its host name does not resolve: fix the host ${where}.`;
  return (
    `${at} is unreachable (UNAVAILABLE): start it (e.g. docker compose up -d eventstore), check the host, port (2113) and TLS setting ` +
    `(the URL has ${tls}) ${where}.`
  );
};

const explainSqlite = (error: unknown, text: string, connecting: Connecting): string | undefined => {
  const code = codeOf(error);
  if (code === undefined && !/SqliteError/.test((error as Error)?.name ?? '')) return undefined;
  const file = connecting.store ?? 'the SQLite store';
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return (
        `the store ${file} is locked by another process (it held a write lock for more than 5 s): retry when it is done. ` +
        'jobtrail processes share a store without this: look for another program holding the file (fuser <file>; an open sqlite3 shell, a backup).'
      );
    case 'SQLITE_CANTOPEN':
      return `cannot open the store ${file}: the path is a directory, or its folder cannot be read or written by this user. Check the path and its permissions ${where}.`;
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return `${file} is not a jobtrail store: it is not an SQLite database, or it is damaged (${text.split(' | ')[0]}). Point the store at the right file ${where}.`;
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return `cannot write the store ${file}: the file or its folder is read-only for this user. Fix the permissions, or use a writable path ${where}.`;
    case 'SQLITE_FULL':
      return `the disk of the store ${file} is full: free space, then retry.`;
    default:
      if (code?.startsWith('SQLITE_IOERR'))
        return `reading or writing the store ${file} failed (${code}): check the disk and the file system it is on.`;
      return undefined;
  }
};

/** A one-line message with the fix for a connection failure, or `undefined` when `error` is none of those it knows. */
export const explainConnectionError = (error: unknown, connecting: Connecting = {}): string | undefined => {
  const text = textOf(error);
  return explainSqlite(error, text, connecting) ?? explainAmqp(text, connecting) ?? explainEsdb(text, connecting);
};
