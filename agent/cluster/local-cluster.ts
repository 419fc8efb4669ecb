/**
 * The single agent: it is the only member, leads every partition, coordinates every group and
 * is the controller. No I/O; publishing goes nowhere because there is nobody to tell.
 */
import type { Cluster, ClusterListener, ClusterMember, CommittedPartition } from './cluster.js';

export class LocalCluster implements Cluster {
  private member: ClusterMember;

  constructor(nodeId: number) {
    this.member = { nodeId, host: '', port: -1, startedAtMs: Date.now() };
  }

  async start(self: { host: string; port: number }, _listener: ClusterListener): Promise<void> {
    this.member = { ...this.member, host: self.host, port: self.port };
  }

  get self(): ClusterMember {
    return this.member;
  }

  members(): readonly ClusterMember[] {
    return [this.member];
  }

  leaderOf(_topic: string, _partition: number): ClusterMember {
    return this.member;
  }

  coordinatorOf(_groupId: string): ClusterMember {
    return this.member;
  }

  isCoordinatorOf(_groupId: string): boolean {
    return true;
  }

  controller(): ClusterMember {
    return this.member;
  }

  publishCommitted(_parts: readonly CommittedPartition[]): void {}

  publishTopicChanged(_topic: string | undefined): void {}

  async stop(): Promise<void> {}
}
