import type { MirrorNaming } from "../api/types";

/**
 * The target topic of a source topic, as the control plane names it
 * (turnout/protocol/mirror.py): only to preview the form; the server's answer is the truth
 * (it refuses a name Kafka would refuse).
 */
export function targetTopic(topic: string, naming: MirrorNaming, alias: string, prefix: string, template: string): string {
  if (naming === "identity") return topic;
  if (naming === "template") return template.split("{alias}").join(alias).split("{topic}").join(topic);
  return (prefix === "" ? `${alias}.` : prefix) + topic;
}
