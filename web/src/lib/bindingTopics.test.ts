import { describe, expect, it } from "vitest";
import { describeTopics } from "./bindingTopics";

const MIRROR = {
  target_cluster: "dr",
  source_alias: "eu",
  naming: "prefix" as const,
  prefix: null,
  template: null,
  coordinate_headers: false,
  target_topics: {},
};

describe("describeTopics", () => {
  it("lists the topics of a binding without a pattern", () => {
    expect(describeTopics({ group: "g", topics: ["a", "b"] })).toBe("a, b");
    expect(describeTopics({ group: "g", topics: ["a"] }, { ...MIRROR, source_topic_pattern: null })).toBe("a");
  });

  it("names a mirror's pattern after its listed topics, or alone", () => {
    const mirror = { ...MIRROR, source_topic_pattern: "orders\\..*" };
    expect(describeTopics({ group: "g", topics: ["a"] }, mirror)).toBe("a + topics matching orders\\..*");
    expect(describeTopics({ group: "g", topics: [] }, mirror)).toBe("topics matching orders\\..*");
  });
});
