// Issue 22: "queues" (rate limits) and "retention" of jobtrail.config.json: accepted in the shapes the docs show,
// refused with one line naming the file and what is wrong (docs/running.md#the-project-config-file).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConfigFile, ConfigError } from '../../../src/config/index.js';
import { retentionPolicy } from '../../../src/conductor/index.js';

const test = suite('config file: queues and retention');
const file = '/srv/shop/jobtrail.config.json';

const refused = (value: unknown, message: string | RegExp) => {
  try {
    checkConfigFile(file, value);
  } catch (error) {
    assert.instance(error, ConfigError);
    const text = (error as Error).message;
    assert.ok(text.startsWith(`${file}: `), text);
    assert.not.match(text, '\n');
    if (typeof message === 'string') assert.is(text, `${file}: ${message}`);
    else assert.match(text, message);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(value)}`);
};

test('queues with rate limits and retention per status are accepted as written', () => {
  const settings = checkConfigFile(file, {
    store: 'sqlite:./x.db',
    queues: { partner: { rateLimit: { max: 10, perMs: 1000 } }, 'bulk.mail': {} },
    retention: { completed: '1d', errored: '7d', cancelled: 'forever', purgeRecordsFor: '90d' },
  });
  assert.equal(settings.queues, { partner: { rateLimit: { max: 10, perMs: 1000 } }, 'bulk.mail': {} });
  assert.equal(settings.retention, { completed: '1d', errored: '7d', cancelled: 'forever', purgeRecordsFor: '90d' });
  // What the engine makes of it: the same parser as --retention.
  const policy = retentionPolicy(settings.retention);
  assert.equal(policy.ages, { completed: 86_400_000, errored: 7 * 86_400_000 });
  assert.is(policy.purgeRecordsMs, 90 * 86_400_000);
});

test('retention as one age for all, or forever', () => {
  assert.equal(checkConfigFile(file, { retention: '12h' }).retention, { completed: '12h', errored: '12h', cancelled: '12h' });
  assert.is(checkConfigFile(file, { retention: 'forever' }).retention, 'forever');
});

test('bad rate limits are refused with the key and the value', () => {
  refused(
    { queues: { partner: { rateLimit: { max: 0, perMs: 1000 } } } },
    '"queues.partner.rateLimit".max must be a whole number ≥ 1, got 0',
  );
  refused(
    { queues: { partner: { rateLimit: { max: 10, perMs: '1s' } } } },
    '"queues.partner.rateLimit".perMs must be a whole number of milliseconds ≥ 1, got "1s"',
  );
  refused(
    { queues: { partner: { rateLimit: { max: 2.5 } } } },
    /max must be a whole number ≥ 1, got 2\.5; .*perMs must be a whole number of milliseconds ≥ 1, got undefined/,
  );
  refused(
    { queues: { partner: { rateLimit: { max: 1, perMs: 1, burst: 3 } } } },
    '"queues.partner.rateLimit": unknown key "burst"; the keys are max, perMs',
  );
  refused({ queues: { partner: { ratelimit: { max: 1, perMs: 1 } } } }, '"queues.partner": unknown key "ratelimit"; the key is rateLimit');
  refused({ queues: { 'no spaces': {} } }, /"queues": "no spaces" is not a queue name \(1–100 characters of \[A-Za-z0-9._-\]\)/);
  refused({ queues: [] }, /"queues" must be an object of queues/);
  refused({ queues: { partner: 5 } }, /"queues.partner" must be an object/);
});

test('bad retention ages are refused with the key, as --retention refuses them', () => {
  refused(
    { retention: { completed: '1 day' } },
    /"retention\.completed": "1 day" is not a duration; write a number and a unit, as 30s, .*, or "forever"$/,
  );
  refused(
    { retention: { completed: 86_400_000 } },
    '"retention.completed" must be a duration such as "1d", "12h", "7d", or "forever"; got 86400000',
  );
  refused(
    { retention: { complete: '1d' } },
    '"retention": unknown key "complete"; the keys are completed, errored, cancelled, purgeRecordsFor',
  );
  refused({ retention: 'never' }, /"retention": "never" is not a duration/);
  refused({ retention: ['1d'] }, /"retention" must be \{"completed": "1d", "errored": "7d", "cancelled": "7d"\}/);
  refused({ retension: {} }, /unknown key "retension" \(did you mean "retention"\?\)/);
});

test.run();
