// Escalation when nobody acknowledges: the steps of the policy in time, their pages claimed with
// the step, a step that reaches nobody, exhaustion, and what a start takes up that was overdue.
import { describe, expect, it, vi } from 'vitest';
import { testApp } from './helpers/app';
import { at, claimsOf, events, pagingTests, refuseClaimsWhereMade, sos, sosPaged, whileTwilioHolds } from './helpers/paging';
import { TWILIO } from './helpers/twilio';
import { square, world } from './helpers/world';

const { twilio, scene } = pagingTests();

describe('escalation when nobody acknowledges', () => {
  it('step 2 at 60 s (every zone supervisor), step 3 at 120 s (safety leads), exhaustion at 240 s, then every 120 s', async () => {
    const s = await scene();
    const inc = await sosPaged(s);

    await s.t.engine.tick(at(inc, 59));
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 60));
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 120));
    twilio.expectSms(s.lead.phone);
    twilio.expectCall(s.lead.phone);
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 239));
    twilio.expectNothingElse();
    await s.t.engine.tick(at(inc, 240));
    twilio.expectSms(s.lead.phone, /reminder 1/);
    twilio.expectCall(s.lead.phone);
    twilio.expectNothingElse();
    expect(await events(s, inc.id, 'escalation.exhausted')).toHaveLength(1);

    await s.t.engine.tick(at(inc, 360));
    twilio.expectSms(s.lead.phone, /reminder 2/);
    twilio.expectCall(s.lead.phone);
    expect(await events(s, inc.id, 'escalation.exhausted')).toHaveLength(1);
    const steps = (await events(s, inc.id, 'escalation.step')).map((e) => [e.data.step, e.data.round]);
    expect(steps).toEqual([[0, 0], [1, 0], [2, 0], [2, 1], [2, 2]]);
  });

  it('a step\'s pages are claimed in the escalation\'s own transaction and sent at once, with no claim by the sender', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    // The step, and the sends it started: read while Twilio holds them, each page still leased.
    const claims = await whileTwilioHolds(s, async () => {
      await s.t.engine.tick(at(inc, 60), false);
      return claimsOf(s, [inc.id], 1);
    });
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    expect(wake).not.toHaveBeenCalled();
    expect(claims, JSON.stringify(claims)).toHaveLength(6);
    expect(claims.every((c) => c.claimedWhereMade && c.status === 'sending')).toBe(true);
    expect((await claimsOf(s, [inc.id], 1)).map((c) => c.status)).toEqual(Array(6).fill('sent'));
  });

  it('a step whose claim fails keeps its escalation, and its pages go out through the sender', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    await refuseClaimsWhereMade(s); // the escalation's claim; the sender's goes through
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    await s.t.engine.tick(at(inc, 60));
    expect(wake).toHaveBeenCalled();
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    expect((await events(s, inc.id, 'escalation.step')).map((e) => e.data.step)).toEqual([0, 1]);
  });

  it('a step that reaches nobody does not wait: the next starts at once; if none reaches anyone, every safety lead is paged', async () => {
    const s = await scene();
    // A zone nobody covers: an SOS there still reaches the safety lead immediately.
    const empty = await s.w.zone('Empty', square(40, -100));
    const policy = { steps: [
      { afterSeconds: 0, notify: ['oncall'], channels: ['sms'] },
      { afterSeconds: 300, notify: ['zone_supervisors'], channels: ['sms'] },
    ] };
    expect((await s.t.put(`/v1/zones/${empty.id}/escalation-policy`, policy, s.w.admin)).status).toBe(200);
    const inc = await sos(s, { location: { lat: 40, lng: -100 } });
    await s.t.engine.tick();
    twilio.expectSms(s.lead.phone);
    twilio.expectCall(s.lead.phone);
    const steps = await events(s, inc.id, 'escalation.step');
    expect(steps.map((e) => e.data.skipped)).toEqual([true, true, false]);
    expect(steps[2].data.reason).toBe('no step reached anyone');
    expect(empty.id).toBeDefined();
  });

  it('with nobody reachable at all, exhaustion is still recorded (never a silent end)', async () => {
    const s = await scene({ leads: false });
    const inc = await sos(s, { location: { lat: 40, lng: -100 } }); // nearest zone: the only one; on call A
    await s.t.engine.tick();
    twilio.forget();
    const lonely = await testApp({ twilio: TWILIO });
    const lw = world(lonely);
    await lw.zone('Nobody here');
    const d = await lw.driver();
    twilio.ignore(d.phone);
    const lonelyInc = (await lw.sos(d)).body.incident;
    await lonely.engine.tick();
    await lonely.engine.tick(at(lonelyInc, 121));
    const ex = (await lonely.sql`SELECT data FROM incident_events WHERE incident_id = ${lonelyInc.id} AND type = 'escalation.exhausted'`);
    expect(ex).toHaveLength(1);
    expect(ex[0].data.nobodyReachable).toBe(true);
    expect(inc.id).toBeDefined();
  });
});

describe('a start', () => {
  it('Engine.firstRun resolves once the first tick has taken what was already overdue', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 60, notify: ['safety_leads'], channels: ['sms'] }] } });
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    // Step 1 became due while no engine ran (as across a restart).
    await s.t.sql`UPDATE incidents SET opened_at = opened_at - interval '120 seconds', esc_next_at = now() - interval '1 second' WHERE id = ${inc.id}`;
    await s.t.engine.start();
    try {
      await s.t.engine.firstRun;
      expect((await events(s, inc.id, 'escalation.step')).map((e) => e.data.step)).toEqual([0, 1]);
      await s.t.deps.pager.idle();
      twilio.expectSms(s.lead.phone);
    } finally {
      await s.t.engine.stop();
    }
  });
});
