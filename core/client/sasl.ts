/**
 * SASL client mechanisms for BrokerConnection (the mirror's connections to a source cluster): PLAIN (RFC 4616) and
 * SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, 7677; Kafka's KIP-84), on node:crypto. The server's
 * final message is verified, so a broker that does not know the password cannot pass for one.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { WeirError } from '../errors.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface SaslOptions {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

/** A client exchange: `next(challenge)` gives the next message to send, or null when done. */
export interface SaslSession {
  next(challenge: Buffer | null): Buffer | null;
}

export function saslSession(opts: SaslOptions): SaslSession {
  if (opts.mechanism === 'plain') {
    let sent = false;
    return {
      next() {
        if (sent) return null;
        sent = true;
        return Buffer.from(`\u0000${opts.username}\u0000${opts.password}`, 'utf8');
      },
    };
  }
  return scramSession(opts.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512', opts.username, opts.password);
}

/** RFC 5802 saslname: ',' and '=' escaped. */
const saslName = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

function scramSession(hash: 'sha256' | 'sha512', username: string, password: string): SaslSession {
  const nonce = randomBytes(24).toString('base64');
  const clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  let step = 0;
  let serverSignature: Buffer | null = null;
  const hmac = (key: Buffer, data: string): Buffer => createHmac(hash, key).update(data, 'utf8').digest();
  return {
    next(challenge) {
      step++;
      if (step === 1) return Buffer.from(`n,,${clientFirstBare}`, 'utf8');
      if (step === 2) {
        const serverFirst = (challenge ?? Buffer.alloc(0)).toString('utf8');
        const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
        const r = attrs.get('r');
        const s = attrs.get('s');
        const i = Number(attrs.get('i'));
        if (attrs.has('e')) throw new WeirError('invalid_argument', `SCRAM: server refused: ${attrs.get('e')}`, { retriable: false });
        if (r === undefined || !r.startsWith(nonce) || s === undefined || !Number.isInteger(i) || i < 1 || i > 1_000_000) {
          throw new WeirError('invalid_argument', 'SCRAM: malformed server-first message', { retriable: false });
        }
        const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(s, 'base64'), i, hash === 'sha256' ? 32 : 64, hash);
        const clientKey = hmac(salted, 'Client Key');
        const storedKey = createHash(hash).update(clientKey).digest();
        const clientFinalNoProof = `c=biws,r=${r}`;
        const authMessage = `${clientFirstBare},${serverFirst},${clientFinalNoProof}`;
        const clientSignature = hmac(storedKey, authMessage);
        const proof = Buffer.alloc(clientKey.length);
        for (let k = 0; k < proof.length; k++) proof[k] = clientKey[k]! ^ clientSignature[k]!;
        serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        return Buffer.from(`${clientFinalNoProof},p=${proof.toString('base64')}`, 'utf8');
      }
      if (step === 3) {
        const serverFinal = (challenge ?? Buffer.alloc(0)).toString('utf8');
        if (serverFinal.startsWith('e=')) throw new WeirError('invalid_argument', `SCRAM: server refused: ${serverFinal.slice(2)}`, { retriable: false });
        const v = serverFinal.startsWith('v=') ? Buffer.from(serverFinal.slice(2), 'base64') : Buffer.alloc(0);
        if (serverSignature === null || v.length !== serverSignature.length || !timingSafeEqual(v, serverSignature)) {
          throw new WeirError('invalid_argument', 'SCRAM: the server signature does not verify', { retriable: false });
        }
        return null;
      }
      return null;
    },
  };
}
