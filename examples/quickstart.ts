import { createEngine, defineWorker } from 'jobtrail';

const sendEmail = defineWorker({
  name: 'send-email',
  action: async (payload: unknown, ctx) => {
    await ctx.progress(50, `sending to ${(payload as { to: string }).to}`);
    return { sent: true };
  },
});

const engine = await createEngine({ store: 'sqlite::memory:', workers: [sendEmail] });
await engine.start();
const { jobId } = await engine.enqueue('send-email', { to: 'ada@example.com' });
const [job] = await engine.waitForFinal([jobId], { timeoutMs: 10_000 });
console.log(job?.status, (await engine.history(jobId)).map((e) => e.event.type).join(' → '));
await engine.close();
