/**
 * AlterConfigs — serves v0–v2.
 *
 * Replace semantics, as Kafka's legacy API: a topic's configs become exactly the entries sent,
 * and every key not sent returns to its default. Each entry must be a known topic config with a
 * valid value (INVALID_CONFIG, message naming the key and value); a null value or a key sent
 * twice is INVALID_REQUEST. validateOnly runs every check and changes nothing. Resource errors
 * (broker resources, unknown topics, ...) are described in topic-config-change.ts.
 */
import { AlterConfigs } from '../../core/protocol/generated/index.js';
import { AdminError, duplicatesOf } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { alterConfigResources, checkTopicConfig } from '../topic-config-change.js';

export const alterConfigsHandler = defineHandler({
  api: AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const responses = await alterConfigResources(ctx.agent, req.resources, req.validateOnly, (resource) => {
      const dup = duplicatesOf(resource.configs.map((c) => c.name));
      const configs = new Map<string, string>();
      for (const c of resource.configs) {
        if (dup.has(c.name)) throw new AdminError(ErrorCode.INVALID_REQUEST, `config ${c.name} appears more than once`);
        if (c.value === null) throw new AdminError(ErrorCode.INVALID_REQUEST, `null value not supported for config ${c.name}`);
        checkTopicConfig(c.name, c.value);
        configs.set(c.name, c.value);
      }
      return { configs: Object.fromEntries(configs), mode: 'replace' };
    });
    return { throttleTimeMs: 0, responses };
  },
});
