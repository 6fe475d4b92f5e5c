import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { samePins, summarisePlan, withPins } from "../lib/pinPlan";
import { PlanPreview } from "./PlanPreview";

describe("PlanPreview", () => {
  it("lists every move with its source and target instance", () => {
    render(
      <PlanPreview
        plan={{
          moves: [
            { partition: "payments/3", from_instance: "billing-blue-0", to_instance: "billing-green-1" },
            { partition: "payments/4", from_instance: null, to_instance: "billing-green-1" },
          ],
          unowned: [],
        }}
        registered={["billing-blue-0", "billing-green-1"]}
      />,
    );
    const rows = screen.getAllByTestId("plan-move");
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getAllByRole("cell").map((c) => c.textContent)).toEqual(["payments/3", "billing-blue-0", "billing-green-1"]);
    expect(within(rows[1]!).getAllByRole("cell")[1]).toHaveTextContent("unowned");
    expect(screen.getByTestId("plan-preview")).toHaveTextContent("2 partitions move.");
  });

  it("warns about partitions the plan leaves without an owner", () => {
    render(<PlanPreview plan={{ moves: [], unowned: ["payments/5", "payments/6"] }} registered={[]} />);
    expect(screen.getByTestId("plan-unowned")).toHaveTextContent("payments/5, payments/6");
    expect(screen.getByTestId("plan-preview")).toHaveTextContent("0 partitions move, 2 left unowned.");
  });

  it("names pin targets that are not live members now", () => {
    render(
      <PlanPreview
        plan={{ moves: [{ partition: "payments/1", from_instance: "b-0", to_instance: "g-9" }], unowned: [] }}
        registered={["b-0"]}
      />,
    );
    expect(screen.getByRole("note")).toHaveTextContent(/Not a live member now \(not registered, or of the standby colour\): g-9\./);
  });

  it("says explicitly that nothing changes for an empty plan", () => {
    render(<PlanPreview plan={{ moves: [], unowned: [] }} registered={[]} />);
    expect(screen.getByTestId("plan-preview")).toHaveTextContent("No partition would move");
  });
});

describe("pin drafts", () => {
  it("pins and unpins a set of partitions without touching the others", () => {
    const draft = { "t/0": "a" };
    const pinned = withPins(draft, ["t/1", "t/2"], "b");
    expect(pinned).toEqual({ "t/0": "a", "t/1": "b", "t/2": "b" });
    expect(withPins(pinned, ["t/0", "t/2"], null)).toEqual({ "t/1": "b" });
    expect(draft).toEqual({ "t/0": "a" }); // the input is not mutated
  });

  it("compares drafts by content", () => {
    expect(samePins({ a: "1", b: "2" }, { b: "2", a: "1" })).toBe(true);
    expect(samePins({ a: "1" }, { a: "2" })).toBe(false);
    expect(samePins({ a: "1" }, { a: "1", b: "2" })).toBe(false);
  });

  it("summarises a plan with its absent targets, sorted and unique", () => {
    const summary = summarisePlan(
      {
        moves: [
          { partition: "t/0", from_instance: "x", to_instance: "z" },
          { partition: "t/1", from_instance: "x", to_instance: "y" },
          { partition: "t/2", from_instance: "x", to_instance: "z" },
        ],
        unowned: ["t/3"],
      },
      ["x"],
    );
    expect(summary).toEqual({ moveCount: 3, unownedCount: 1, absentTargets: ["y", "z"], empty: false });
  });
});
