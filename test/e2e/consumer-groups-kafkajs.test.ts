/**
 * kafkajs consumer groups against one agent: two members split six partitions, one leaves and
 * the other takes over, and after an agent restart a new member resumes exactly at the committed
 * offsets (test/helpers/group-scenario.ts), once with eachMessage and once with eachBatch, both
 * with kafkajs's default assignor (RoundRobinAssigner).
 */
import { after, before, describe, it } from 'node:test';
import { startAgent, stopAllAgents, type Agent } from '../helpers/agent-process.js';
import { startKafkajsGroupMember } from '../helpers/kafkajs-group-member.js';
import { runHandoffAndRestart } from '../helpers/group-scenario.js';

let agent: Agent;

before(async () => {
  agent = await startAgent({ lingerMs: 5, extraArgs: ['--group-initial-rebalance-delay-ms', '300'] });
});
after(stopAllAgents);

describe('kafkajs consumer group', () => {
  it('eachMessage: splits, hands over, and resumes after a restart with nothing lost or duplicated', async () => {
    agent = await runHandoffAndRestart({ agent, topic: 'cg-kafkajs-message', groupId: 'kafkajs-each-message', protocol: 'RoundRobinAssigner', start: (o) => startKafkajsGroupMember('eachMessage', o) });
  });

  it('eachBatch: splits, hands over, and resumes after a restart with nothing lost or duplicated', async () => {
    agent = await runHandoffAndRestart({ agent, topic: 'cg-kafkajs-batch', groupId: 'kafkajs-each-batch', protocol: 'RoundRobinAssigner', start: (o) => startKafkajsGroupMember('eachBatch', o) });
  });
});
