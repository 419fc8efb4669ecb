/**
 * kafka-python consumer groups against one agent (its default assignors: range, then
 * roundrobin): two members split six partitions, one leaves and the other takes over, and after
 * an agent restart a new member resumes exactly at the committed offsets
 * (test/helpers/group-scenario.ts).
 */
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { runHandoffAndRestart } from '../helpers/group-scenario.js';
import { startPyGroupMember } from '../helpers/py-group-member.js';

let agent: Agent;

before(async () => {
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '300'] });
});
after(stopAllAgents);

describe('kafka-python consumer group', () => {
  it('splits, hands over, and resumes after a restart with nothing lost or duplicated', async () => {
    agent = await runHandoffAndRestart({ agent, topic: 'cg-kafka-python', groupId: 'kafka-python-group', protocol: 'range', start: (o) => startPyGroupMember('kafka-python', o) });
  });
});
