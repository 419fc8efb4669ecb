/**
 * A member's host as Kafka shows it in DescribeGroups ("/127.0.0.1"): the connection's remote
 * address without the port, with Java's InetAddress prefix.
 */
export function clientHostOf(peer: string): string {
  const colon = peer.lastIndexOf(':');
  const address = colon > 0 ? peer.slice(0, colon) : peer;
  return `/${address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address}`;
}
