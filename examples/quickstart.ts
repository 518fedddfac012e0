import * as t from 'io-ts';
import { createEngine, defineWorker } from 'jobtrail';

const sendEmail = defineWorker({
  name: 'send-email',
  payload: t.type({ to: t.string }), // checked at enqueue; types the payload
  action: async ({ to }, ctx) => {
    await ctx.progress(50, `sending to ${to}`);
    return { sent: true };
  },
});

const engine = await createEngine({ store: 'sqlite::memory:', workers: [sendEmail] });
await engine.start();
const { jobId } = await engine.enqueue(sendEmail, { to: 'ada@example.com' });
const [job] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
console.log(job?.status, job?.result?.sent, (await engine.history(jobId)).map((e) => e.event.type).join(' → '));
await engine.close();
