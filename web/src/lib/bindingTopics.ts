import type { BindingSpec, MirrorSpec } from "../api/types";

/**
 * The topics a binding consumes, in words: those listed, and the source topics a
 * mirror's pattern takes (the live binding only; the pattern is the mirror's).
 */
export function describeTopics(binding: BindingSpec, mirror?: MirrorSpec | null): string {
  const listed = binding.topics.join(", ");
  const pattern = mirror?.source_topic_pattern;
  if (!pattern) return listed;
  return listed ? `${listed} + topics matching ${pattern}` : `topics matching ${pattern}`;
}
