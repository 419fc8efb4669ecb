/**
 * IncrementalAlterConfigs — serves v0–v1.
 *
 * Each entry is one operation on one key of a topic: SET (0) sets the value, DELETE (1) returns
 * the key to its default, APPEND (2) and SUBTRACT (3) add or remove items of a LIST config
 * (cleanup.policy, ...) starting from its effective value, the default when the topic does not
 * set it. APPEND/SUBTRACT on a non-list config, an unknown key, or a resulting value that is not
 * valid → INVALID_CONFIG with a message naming the key and value; an unknown operation, a SET
 * with a null value, or a key sent twice → INVALID_REQUEST. Keys not named keep their values.
 * validateOnly runs every check and changes nothing. Resource errors (broker resources, unknown
 * topics, ...) are described in topic-config-change.ts.
 *
 * APPEND/SUBTRACT are computed from the configs read just before the write, so two concurrent
 * APPENDs to the same key may lose one; config changes are rare admin actions.
 */
import { IncrementalAlterConfigs } from '../../core/protocol/generated/index.js';
import { AdminError, duplicatesOf } from '../admin-error.js';
import { ErrorCode } from '../error-codes.js';
import { defineHandler } from '../handler.js';
import { alterConfigResources, checkTopicConfig } from '../topic-config-change.js';
import { ConfigType, topicConfigDefs, topicConfigValue } from '../topic-configs.js';

export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

const listItems = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export const incrementalAlterConfigsHandler = defineHandler({
  api: IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const responses = await alterConfigResources(ctx.agent, req.resources, req.validateOnly, (resource, topic) => {
      const dup = duplicatesOf(resource.configs.map((c) => c.name));
      const changes = new Map<string, string | null>();
      for (const c of resource.configs) {
        if (dup.has(c.name)) throw new AdminError(ErrorCode.INVALID_REQUEST, `config ${c.name} appears more than once`);
        switch (c.configOperation) {
          case ConfigOperation.SET:
            if (c.value === null) throw new AdminError(ErrorCode.INVALID_REQUEST, `null value not supported for SET of config ${c.name}`);
            checkTopicConfig(c.name, c.value);
            changes.set(c.name, c.value);
            break;
          case ConfigOperation.DELETE:
            // A key this agent does not know may still be stored (set by another version): let it go.
            if (!Object.hasOwn(topic.configs, c.name)) checkTopicConfig(c.name, null);
            changes.set(c.name, null);
            break;
          case ConfigOperation.APPEND:
          case ConfigOperation.SUBTRACT: {
            const op = c.configOperation === ConfigOperation.APPEND ? 'APPEND' : 'SUBTRACT';
            checkTopicConfig(c.name, null);
            if (topicConfigDefs[c.name]!.type !== ConfigType.LIST) {
              throw new AdminError(ErrorCode.INVALID_CONFIG, `${op} is only allowed for list configs, and ${c.name} is not one`);
            }
            const current = listItems(topicConfigValue(topic.configs, c.name));
            const items = listItems(c.value ?? '');
            const next = op === 'APPEND' ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
            const value = next.join(',');
            checkTopicConfig(c.name, value);
            changes.set(c.name, value);
            break;
          }
          default:
            throw new AdminError(ErrorCode.INVALID_REQUEST, `unknown config operation ${c.configOperation} for config ${c.name}`);
        }
      }
      return { configs: Object.fromEntries(changes), mode: 'incremental' };
    });
    return { throttleTimeMs: 0, responses };
  },
});
